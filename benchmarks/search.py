"""Search at scale: indexing rate and query latency on a 100,000-article store.

The articles are the sample corpus's variants (benchmarks.corpus), spread over a year and
six outlets with a lean each, written straight into a store; then the index is built as
the pipeline's search stage builds it, and a mix of queries (words, phrases, AND/OR/NOT,
outlet attributes, dates, a ~"meaning") each runs on a fresh Searcher, as one
`framewatch search` does (the process start and the model load aside). The sample's
vocabulary is small, so common words match tens of thousands of articles: a hard case.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

N_SEARCH = 10_000 if os.environ.get("FRAMEWATCH_BENCH_QUICK") == "1" else 100_000
REPEATS = 5
QUERIES = [
    "kestrel",
    "satellites",
    "regulator OR regulators",
    '"export curbs"',
    '"according to report 4242"',
    "lithography AND chips NOT militaries",
    "(gigafactory OR batteries) AND subsidies",
    "ransomware lean:right",
    "cable AND (cut OR outage) from:2026-03-01 to:2026-05-31",
    "NOT (kestrel OR aurora OR glasslock)",
    "open AND model AND race",
    '"price war" OR "chip race" OR "battery race"',
    "security NOT lean:left",
    "hospitals OR patients OR trust",
    "zzzunknownword",
]
MEANING = '~"hackers hold hospital data to ransom"'


def _build(db: Path, n: int) -> None:
    import pyarrow as pa

    from benchmarks.corpus import variants
    from framewatch.sample_site import load_outlets
    from framewatch.sources import add_source
    from framewatch.store import open_store

    arts = variants(n)
    outlets = load_outlets()
    leans = ["left", "center", "right"]
    with open_store(db) as store:
        ids = [add_source(store, f"https://{o['id']}.example/feed.xml", name=o["name"]) for o in outlets]  # fmt: skip
        for k, o in enumerate(outlets):
            store.execute(
                "INSERT INTO outlet_attributes VALUES (?, 'lean', ?, 'cli', now())",
                [o["name"], leans[k % 3]],
            )
        start = np.datetime64("2026-01-01T00:00:00")
        rows = pa.table({
            "source_id": [ids[i % len(ids)] for i in range(n)],
            "url": [f"https://news.example/{i}" for i in range(n)],
            "title": [a.title for a in arts],
            "text": [a.body for a in arts],
            "published_at": start + (np.arange(n) * (365 * 86400 // n)).astype("timedelta64[s]"),
            "content_hash": [f"h{i}" for i in range(n)],
        })  # fmt: skip
        with store.transaction(), store.registered("bench_rows", rows):
            store.execute(
                """INSERT INTO articles (source_id, url, canonical_url, title, text, published_at,
                                         content_hash, extraction, language)
                   SELECT source_id, url, url, title, text, published_at, content_hash, 'imported', 'en'
                   FROM bench_rows"""
            )
        store.publish_snapshot()


def _vectors(db: Path, model: str, dim: int) -> None:
    """Unit vectors for every article (random: the timing, not the ranking, is measured)."""
    import pyarrow as pa

    from framewatch.analysis.embedding.vectors import to_arrow_lists
    from framewatch.store import open_store

    with open_store(db) as store:
        ids = np.asarray(store.execute("SELECT id FROM articles ORDER BY id").fetchnumpy()["id"])
        vecs = np.random.default_rng(3).standard_normal((len(ids), dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        t = pa.table({"article_id": ids, "vector": to_arrow_lists(vecs)})
        with store.transaction(), store.registered("bench_vecs", t):
            store.execute(
                "INSERT INTO embeddings (article_id, model, dim, vector) "
                "SELECT article_id, ?, ?, vector FROM bench_vecs",
                [model, dim],
            )
        store.publish_snapshot()


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def stage_search() -> dict:
    from framewatch.analysis.embedding.select import load_embedder
    from framewatch.analysis.search.engine import Searcher
    from framewatch.analysis.search.index import index_pending
    from framewatch.config import AnalysisSettings
    from framewatch.store import connect, open_store

    model = AnalysisSettings().model
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "search.duckdb"
        _build(db, N_SEARCH)
        with open_store(db) as store:
            t0 = time.perf_counter()
            indexed = index_pending(store)
            index_s = time.perf_counter() - t0
            store.publish_snapshot()
        embedder = load_embedder(model)
        _vectors(db, model, embedder.dimension)
        con = connect(db)
        latencies: dict[str, list[float]] = {q: [] for q in [*QUERIES, MEANING]}
        matched: dict[str, int] = {}
        embed = embedder.embed_queries
        embed(["warm up"])
        for _ in range(REPEATS):
            for q in latencies:
                t0 = time.perf_counter()
                m = Searcher(con, db, model=model, embed=embed).run(q)
                latencies[q].append((time.perf_counter() - t0) * 1000)
                matched[q] = len(m)
        con.close()
    words = [v for q, vs in latencies.items() if q != MEANING for v in vs]
    return {
        "articles": N_SEARCH, "indexed": indexed, "index_seconds": round(index_s, 2),
        "index_articles_per_s": round(indexed / index_s, 1),
        "p50_ms": round(_p(words, 50), 1), "p95_ms": round(_p(words, 95), 1),
        "max_ms": round(max(words), 1),
        "meaning_p95_ms": round(_p(latencies[MEANING], 95), 1),
        "per_query_median_ms": {q: round(statistics.median(v), 1) for q, v in latencies.items()},
        "matched": matched,
    }  # fmt: skip
