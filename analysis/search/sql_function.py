"""``search('query')`` in SQL: the same query language and results as everywhere else.

A table macro over a Python function that runs :func:`engine.run_search` on its own
read-only connection to the same snapshot (a function cannot query the connection that
is calling it). Registered on the sandboxed connections of ``framewatch sql`` and the
dashboard's SQL page::

    SELECT s.rank, s.score, a.title FROM search('biden AND infrastructure') s
    JOIN articles a ON a.id = s.article_id ORDER BY s.rank
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
from duckdb.sqltypes import BIGINT, DOUBLE, VARCHAR

from framewatch.analysis.search.engine import Embed, Searcher
from framewatch.store import connect

_ROW = duckdb.struct_type({"rank": BIGINT, "article_id": BIGINT, "score": DOUBLE})


def register_search_sql(
    con: duckdb.DuckDBPyConnection, db_path: str | Path, *, model: str | None = None,
    embed: Embed | None = None,
) -> None:  # fmt: skip
    """Define ``search(query)`` (rank, article_id, score) on ``con`` for this session."""
    state: dict = {}
    lock = threading.Lock()  # DuckDB calls it from several threads; one connection serves all

    def run(query: str) -> list[dict]:
        with lock:
            if "con" not in state:
                state["con"] = connect(db_path)
            m = Searcher(state["con"], db_path, model=model, embed=embed).run(query)
        return [
            {"rank": r, "article_id": int(i), "score": float(s)}
            for r, (i, s) in enumerate(zip(m.ids, m.scores, strict=True), 1)
        ]

    con.execute("SELECT 1").fetchall()  # end any result left open on the connection
    con.create_function("framewatch_search", run, [VARCHAR], duckdb.list_type(_ROW),
                        side_effects=True)  # fmt: skip
    con.execute(
        "CREATE OR REPLACE TEMP MACRO search(q) AS TABLE"
        " SELECT r.rank, r.article_id, r.score FROM (SELECT unnest(framewatch_search(q)) AS r)"
    )
