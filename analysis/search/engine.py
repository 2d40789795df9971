"""Running a query: the articles that match it, ranked. One engine for every surface.

The CLI's ``search`` and ``attention``, the dashboard's Search page, watches, the
digest and SQL's ``search()`` all call :func:`run_search`, so a query gives the same
articles in the same order everywhere.

Words and phrases go to the tantivy index (BM25; a word-only part of the query is one
tantivy boolean query); restrictions are SQL over the reader's snapshot; a meaning
``~"..."`` is the cosine between the query's vector and each stored article vector of
the configured model, kept when it reaches the model's cut-off (``meaning_cutoff``). Parts combine as sets
of article ids: AND intersects and adds scores, OR unites and adds them, NOT
subtracts (and scores nothing). Results rank by score, then newest first, then id.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import tantivy

from framewatch.analysis.embedding.select import meaning_cutoff
from framewatch.analysis.search.index import catch_up, count_unindexed, open_index
from framewatch.analysis.search.parser import (
    And,
    Field,
    Meaning,
    Node,
    Not,
    Or,
    QueryError,
    Words,
    parse,
)
from framewatch.analysis.search.text import word_forms
from framewatch.language import UNKNOWN

Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Matches:
    """Article ids in rank order, with their scores; ``lag``: articles not yet indexed."""

    ids: np.ndarray
    scores: np.ndarray
    lag: int = 0
    notes: list[str] = field(default_factory=list)
    query: Node | None = None  # the parsed query: attention reads its collection

    def __len__(self) -> int:
        return len(self.ids)


_EMPTY = np.zeros(0, dtype=np.int64)


def _set(ids: np.ndarray, scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(ids, dtype=np.int64)
    if scores is None:
        scores = np.zeros(len(ids), dtype=np.float64)
    order = np.argsort(ids, kind="stable")
    return ids[order], np.asarray(scores, dtype=np.float64)[order]


def _and(a, b):
    common, ia, ib = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    return common, a[1][ia] + b[1][ib]


def _or(a, b):
    ids = np.concatenate([a[0], b[0]])
    uniq, inv = np.unique(ids, return_inverse=True)
    return uniq, np.bincount(inv, weights=np.concatenate([a[1], b[1]]), minlength=len(uniq))


def _minus(a, b):
    keep = ~np.isin(a[0], b[0], assume_unique=True)
    return a[0][keep], a[1][keep]


def _words_only(node: Node) -> bool:
    if isinstance(node, Words):
        return True
    if isinstance(node, Not):
        return _words_only(node.item)
    if isinstance(node, (And, Or)):
        return all(_words_only(i) for i in node.items)
    return False


class Searcher:
    """Evaluates parsed queries on one reader connection (a snapshot) and the index."""

    def __init__(
        self, con, db_path: str | Path | None, *, model: str | None = None, embed: Embed | None = None,
        cutoff: float | None = None, catch_up: bool = True,
    ) -> None:  # fmt: skip
        self.con = con
        self.db_path = db_path if db_path is not None else store_path(con)
        self.model = model or _recorded_model(con)
        self.embed = embed or (_default_embed(self.model) if self.model else None)
        # None: the model's own (embedding.select.meaning_cutoff: 0.40 for MiniLM)
        self.cutoff = meaning_cutoff(self.model) if cutoff is None else cutoff
        self.catch_up = catch_up
        self.lag: int | None = None
        self._index: tantivy.Index | None = None
        self._searcher = None
        self._universe: np.ndarray | None = None
        self._n_articles: int | None = None
        self._vectors: tuple[np.ndarray, np.ndarray] | None = None
        self._notes: list[str] = []  # what evaluating the last query found worth saying

    # -- the parts ------------------------------------------------------------------
    def universe(self) -> np.ndarray:
        if self._universe is None:
            rows = self.con.execute("SELECT id FROM articles ORDER BY id").fetchnumpy()
            self._universe = np.asarray(rows["id"], dtype=np.int64)
        return self._universe

    def _articles(self) -> int:
        if self._n_articles is None:
            self._n_articles = self.con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
        return self._n_articles

    def _tantivy(self):
        if self._searcher is None:
            self.lag = count_unindexed(self.con, self._articles())
            missing = open_index(self.db_path) is None  # never built, or its folder was lost
            if (self.lag or missing) and self.catch_up and catch_up(self.db_path):
                self.lag = 0  # the index now holds at least what this snapshot holds
            self._index = open_index(self.db_path)
            if self._index is None:
                raise QueryError(
                    f"{self.db_path} has no search index yet: run `framewatch analyze` "
                    "(or `framewatch run`) once to build it"
                )
            self._searcher = self._index.searcher()
        return self._index, self._searcher

    def _compile(self, node: Node) -> tantivy.Query:
        index, _ = self._tantivy()
        schema = index.schema
        if isinstance(node, Words):
            if len(node.items) == 1:
                forms = [node.items[0]] if node.as_written else word_forms(node.items[0])
                if len(forms) == 1:
                    return tantivy.Query.term_query(schema, "body", forms[0])
                return tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", f)) for f in forms]
                )  # fmt: skip
            return tantivy.Query.phrase_query(schema, "body", list(node.items))
        if isinstance(node, Not):
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.all_query()),
                 (tantivy.Occur.MustNot, self._compile(node.item))]
            )  # fmt: skip
        occur = tantivy.Occur.Must if isinstance(node, And) else tantivy.Occur.Should
        parts = []
        for item in node.items:
            if isinstance(node, And) and isinstance(item, Not):
                parts.append((tantivy.Occur.MustNot, self._compile(item.item)))
            else:
                parts.append((occur, self._compile(item)))
        if all(o == tantivy.Occur.MustNot for o, _ in parts):
            parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(parts)

    def _words(self, node: Node):
        _, searcher = self._tantivy()
        q = self._compile(node)
        n = searcher.num_docs
        if n == 0:
            return _EMPTY, np.zeros(0)
        hits = searcher.search(q, limit=n, count=False).hits
        if not hits:
            return _EMPTY, np.zeros(0)
        scores = np.fromiter((h[0] for h in hits), dtype=np.float64, count=len(hits))
        ids = searcher.fast_field_values("article_id", [h[1] for h in hits])
        if isinstance(node, Not) or (
            isinstance(node, And) and all(isinstance(i, Not) for i in node.items)
        ):
            scores = np.zeros(len(hits))  # "everything but": nothing to score
        ids, scores = _set(np.asarray(ids, dtype=np.int64), scores)
        if n == self._articles():  # the index holds what this snapshot holds: no filter needed
            return ids, scores
        keep = np.isin(ids, self.universe(), assume_unique=True)  # the reader's snapshot only
        return ids[keep], scores[keep]

    def _field(self, node: Field):
        sql, params = _field_sql(self.con, node)
        ids = np.asarray(self.con.execute(sql, params).fetchnumpy()["id"], dtype=np.int64)
        return _set(np.unique(ids))

    def doc_freqs(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        """(documents in the index, documents holding each folded term)."""
        _, searcher = self._tantivy()
        return searcher.num_docs, {w: searcher.doc_freq("body", w) for w in terms}

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored vectors of the configured model (ids, unit rows).

        Read once per process and store state: a dashboard answers the next ~"..." from
        memory (100,000 vectors of 384 floats are 150 MB, read in seconds).
        """
        if self._vectors is None:
            if not self.model:
                raise QueryError('~"..." needs the configured model ([analysis] model)')
            n = self.con.execute(
                "SELECT count(*), max(article_id) FROM embeddings WHERE model = ?", [self.model]
            ).fetchall()[0]
            key = (str(self.db_path), self.model, n)
            if key not in _VECTORS:
                _VECTORS.clear()
                _VECTORS[key] = _read_vectors(self.con, self.model)
            self._vectors = _VECTORS[key]
        return self._vectors

    def similarities(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine) for every article with a vector of the configured model."""
        ids, mat = self.vectors()
        if len(ids) == 0:
            return _EMPTY, np.zeros(0)
        if self.embed is None:
            raise QueryError('~"..." needs an embedding model; none was given to this search')
        q = np.asarray(self.embed([text]), dtype=np.float32)[0]
        q = q / (np.linalg.norm(q) or 1.0)
        return ids, mat @ q

    def _meaning(self, node: Meaning):
        ids, cos = self.similarities(node.text)
        keep = cos >= self.cutoff
        if len(cos) and not keep.any():  # say how near the nearest came
            self._notes.append(
                f'~"{node.text}": no article reaches the cut-off {self.cutoff:.2f} of {self.model};'
                f" the nearest scores {float(cos.max()):.2f}"
            )
        return _set(ids[keep], cos[keep])

    # -- the tree -----------------------------------------------------------------
    def evaluate(self, node: Node):
        if _words_only(node):
            return self._words(node)
        if isinstance(node, Field):
            return self._field(node)
        if isinstance(node, Meaning):
            return self._meaning(node)
        if isinstance(node, Not):
            inner = self.evaluate(node.item)
            return _minus(_set(self.universe()), inner)
        if isinstance(node, Or):
            acc = self.evaluate(node.items[0])
            for item in node.items[1:]:
                acc = _or(acc, self.evaluate(item))
            return acc
        # AND: positives first (words together in one index query), then subtract NOTs.
        word_items = [i for i in node.items if _words_only(i)]
        other = [i for i in node.items if not _words_only(i)]
        positives = [i for i in other if not isinstance(i, Not)]
        negatives = [i.item for i in other if isinstance(i, Not)]
        parts = []
        if word_items:
            parts.append(
                self._words(word_items[0] if len(word_items) == 1 else And(tuple(word_items)))
            )
        parts += [self.evaluate(i) for i in positives]
        acc = parts[0] if parts else _set(self.universe())
        for p in parts[1:]:
            acc = _and(acc, p)
        for n in negatives:
            acc = _minus(acc, self.evaluate(n))
        return acc

    def run(self, query: str | Node) -> Matches:
        from framewatch.analysis.search.hints import query_hints

        node = parse(query) if isinstance(query, str) else query
        self._notes = []
        ids, scores = self.evaluate(node)
        ranked = _rank(self.con, ids, scores)
        notes = query_hints(self.con, query, node, self.model) if isinstance(query, str) else []
        notes += self._notes
        lag = self.lag or 0
        if lag:
            notes.append(
                f"{lag} article(s) are not in the search index yet (the next run adds them)"
            )
        return Matches(ids[ranked], scores[ranked], lag, notes, node)


_VECTORS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _read_vectors(con, model: str) -> tuple[np.ndarray, np.ndarray]:
    from framewatch.analysis.embedding.vectors import vectors_from_arrow

    with warnings.catch_warnings():  # the copy it warns about is the one we want
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        t = con.execute(
            "SELECT article_id, vector, dim FROM embeddings WHERE model = ? ORDER BY article_id",
            [model],
        ).to_arrow_table()
    if t.num_rows == 0:
        return _EMPTY, np.zeros((0, 1), dtype=np.float32)
    dim = t.column("dim")[0].as_py()
    ids = np.asarray(t.column("article_id").to_numpy(), dtype=np.int64)
    mat = vectors_from_arrow(t.column("vector"), dim)
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return ids, mat / norms


def _recorded_model(con) -> str | None:
    """The ``[analysis] model`` of the last run (for readers without the config: the digest)."""
    try:
        rows = con.execute("SELECT value FROM settings WHERE key = 'search_model'").fetchall()
    except duckdb.CatalogException:  # a store older than the settings table
        return None
    return rows[0][0] if rows else None


def _default_embed(model: str) -> Embed:
    def embed(texts: list[str]) -> np.ndarray:
        from framewatch.analysis.embedding.select import load_embedder

        return load_embedder(model).embed_queries(texts)

    return embed


def store_path(con) -> Path:
    """The store a connection reads, live file or published snapshot: the index lies beside it."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    if not rows or not rows[0][0]:
        raise QueryError("this connection has no store file, so no search index beside it")
    path = str(rows[0][0])
    return Path(path.removesuffix(".snapshot"))


def _rank(con, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Order: score, then newest first, then id (a stable order for equal scores)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    import pyarrow as pa

    t = pa.table({"id": ids})
    con.register("search_ranked_ids", t)
    try:
        when = con.execute(
            """SELECT epoch(coalesce(a.published_at, a.fetched_at)) AS t
               FROM search_ranked_ids r JOIN articles a ON a.id = r.id ORDER BY r.id"""
        ).fetchnumpy()["t"]
    finally:
        con.unregister("search_ranked_ids")
    when = np.asarray(when, dtype=np.float64)
    return np.lexsort((ids, -when, -np.round(scores, 9)))


_KNOWN = "outlet, lang, story, topic, frame, from, to, or an outlet attribute"


def _field_sql(con, node: Field) -> tuple[str, list]:
    name, value = node.name, node.value
    base = "SELECT a.id FROM articles a "
    if name == "outlet":
        return base + "JOIN sources s ON s.id = a.source_id WHERE lower(s.name) = lower(?)", [value]
    if name == "lang" and value == UNKNOWN:
        return base + "WHERE a.language IS NULL", []
    if name == "lang":
        return base + "WHERE lower(split_part(a.language, '-', 1)) = lower(?)", [value]
    if name in ("from", "to"):
        op = ">=" if name == "from" else "<="
        return base + f"WHERE CAST(coalesce(a.published_at, a.fetched_at) AS DATE) {op} ?::DATE", [value]  # fmt: skip
    if name == "story":
        return (
            "SELECT article_id AS id FROM story_members WHERE story_id = coalesce("
            "(SELECT new_id FROM story_redirects WHERE old_id = ?), ?)",
            [int(value), int(value)],
        )
    if name == "topic":
        return (
            "SELECT m.article_id AS id FROM story_members m JOIN story_topics t"
            " ON t.story_id = m.story_id WHERE t.topic_id = coalesce("
            "(SELECT new_id FROM topic_redirects WHERE old_id = ?), ?)",
            [int(value), int(value)],
        )
    if name == "frame":
        known = {r[0] for r in con.execute("SELECT DISTINCT frame_id FROM frames").fetchall()}
        if value not in known:
            raise QueryError(f"frame:{value}: no codebook has that frame (known: {', '.join(sorted(known)) or 'none'})")  # fmt: skip
        return "SELECT article_id AS id FROM article_framing WHERE primary_frame = ?", [value]
    attrs = {
        r[0].lower()
        for r in con.execute("SELECT DISTINCT attribute FROM outlet_attributes").fetchall()
    }
    if name not in attrs:
        raise QueryError(f"{name}: is not a field ({_KNOWN}: {', '.join(sorted(attrs)) or 'none set'})")  # fmt: skip
    return (
        base + "JOIN sources s ON s.id = a.source_id WHERE s.name IN (SELECT outlet FROM"
        " outlet_attributes WHERE lower(attribute) = ? AND lower(value) = lower(?))",
        [name, value],
    )


def run_search(con, db_path: str | Path, query: str | Node, *, model: str | None = None,
               embed: Embed | None = None, cutoff: float | None = None) -> Matches:  # fmt: skip
    """The one entry point: the articles matching ``query`` on this reader, ranked."""
    return Searcher(con, db_path, model=model, embed=embed, cutoff=cutoff).run(query)
