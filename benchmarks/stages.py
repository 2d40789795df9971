"""The measured stages: each runs in its own spawned process (see __main__)."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
QUICK = os.environ.get("FRAMEWATCH_BENCH_QUICK") == "1"
N_ARTICLES = 120 if QUICK else 400


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


# -- standalone stages (each in its own process) ------------------------------------
def stage_feed_parsing() -> dict:
    from framewatch.crawler.feeds import parse_feed

    from benchmarks.corpus import variants
    from framewatch.sample_site import load_outlets, render_feed

    arts = variants(1000)
    feed = render_feed(load_outlets()[0], arts, "http://127.0.0.1:1").encode()
    reps = 3
    _, t = _timed(lambda: [parse_feed(feed, "http://127.0.0.1:1/feed.xml") for _ in range(reps)])
    return {"items_per_s": reps * len(arts) / t}


def stage_extraction() -> dict:
    from framewatch.crawler.extract import extract_article

    from benchmarks.corpus import variants
    from framewatch.sample_site import load_outlets, render_page

    outlet = load_outlets()[0]
    arts = variants(N_ARTICLES)
    pages = [render_page(outlet, a, arts[:5], "http://127.0.0.1:1").encode() for a in arts]
    _, t = _timed(lambda: [extract_article(p, "http://127.0.0.1:1/x.html") for p in pages])
    return {"pages_per_s": len(pages) / t}


def stage_embedding() -> dict:
    from framewatch.analysis.embed import article_input, encode, load_model

    from benchmarks.corpus import variants

    model = load_model()
    arts = variants(N_ARTICLES)
    encode(model, ["warm up"])
    _, t = _timed(encode, model, [article_input(a.title, a.text) for a in arts], 64)
    return {"articles_per_s": len(arts) / t}


def stage_framing() -> dict:
    """Batched and cached framing against the naive way, with the quality of both."""
    from framewatch.analysis.codebooks import builtin_codebooks
    from framewatch.analysis.embed import load_model
    from framewatch.analysis.framing import SentenceEncoder, ZeroShotFramer, article_sentences

    from benchmarks.corpus import variants
    from framewatch.config import AnalysisSettings
    from framewatch.sample_site import load_corpus

    model = load_model()
    cb = builtin_codebooks()["geopolitics-tech"]
    thr = AnalysisSettings().frame_threshold
    arts = variants(N_ARTICLES)
    docs = [(a.title, a.text) for a in arts]
    n_sent = sum(len(article_sentences(t, x)[0]) for t, x in docs)
    framer = ZeroShotFramer(cb, SentenceEncoder(model, batch_size=128), thr)
    fast, t_fast = _timed(
        lambda: [
            r for i in range(0, len(docs), 256) for r in framer.frame_articles(docs[i : i + 256])
        ]
    )

    class Naive(SentenceEncoder):
        """Every sentence embedded on its own, nothing remembered."""

        def encode(self, sentences):
            import numpy as np

            return (
                np.stack([super(Naive, self).encode([s])[0] for s in sentences])
                if sentences
                else np.zeros((0, 1))
            )

        def _forget(self):
            self._cache.clear()

    naive_enc = Naive(model, batch_size=1, cache_size=0)
    naive = ZeroShotFramer(cb, naive_enc, thr)
    slow, t_slow = _timed(lambda: [naive.frame_articles([d])[0] for d in docs])
    agree = sum(a.primary == b.primary for a, b in zip(fast, slow, strict=True)) / len(docs)
    sample = load_corpus()
    acc = {}
    for name, fr in (("batched_cached", framer), ("naive", naive)):
        res = [fr.frame_articles([(a.title, a.text)])[0] for a in sample]
        acc[name] = sum(r.primary == a.frame for r, a in zip(res, sample, strict=True)) / len(
            sample
        )
    return {
        "articles_per_s": len(docs) / t_fast, "sentences_per_s": n_sent / t_fast,
        "naive_articles_per_s": len(docs) / t_slow, "naive_sentences_per_s": n_sent / t_slow,
        "speedup": t_slow / t_fast, "primary_agreement": agree,
        "cache_hit_rate": framer.encoder.hits / max(1, framer.encoder.hits + framer.encoder.misses),
        "sample_accuracy": acc,
    }  # fmt: skip


def _cluster_all(c, vecs, times) -> None:
    for i, (v, t) in enumerate(zip(vecs, times, strict=True)):
        c.add(i, v, t)


def stage_clustering() -> dict:
    import numpy as np
    from framewatch.analysis.clustering import OnlineClusterer

    from framewatch.config import AnalysisSettings

    s = AnalysisSettings()
    out = {}
    for n in (10_000, 100_000):
        rng = np.random.default_rng(0)
        n_stories = n // 20
        centres = rng.normal(size=(n_stories, 384)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        # Stories follow each other over a year; each runs for a few days.
        story_of = np.sort(rng.integers(0, n_stories, n))
        vecs = centres[story_of] + rng.normal(scale=0.04, size=(n, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        # The same news rate (300 articles a day) at both sizes: more articles means
        # more days of news, not more stories at once, which is what growth means.
        t0 = datetime(2026, 1, 1)
        times = [t0 + timedelta(days=i / 300) for i in range(n)]
        c = OnlineClusterer(s.story_threshold, s.story_window_days, s.duplicate_threshold)
        _, t = _timed(_cluster_all, c, vecs, times)
        out[f"articles_per_s_{n // 1000}k"] = n / t
    out["growth_ratio"] = out["articles_per_s_10k"] / out["articles_per_s_100k"]
    return out


def run_isolated(name: str) -> dict:
    result = globals()[f"stage_{name}"]()
    result["peak_rss_mb"] = _peak_mb()
    return result


# -- end to end ---------------------------------------------------------------------------
def end_to_end() -> dict:
    """Serve realistic pages on loopback and run the pipeline's stages into a store."""
    import threading
    from http.server import ThreadingHTTPServer

    from framewatch.analysis.embed import embed_pending
    from framewatch.analysis.framing_stage import frame_pending
    from framewatch.analysis.stories import assign_stories
    from framewatch.crawler.fetch import fetch_due

    from benchmarks.corpus import variants
    from framewatch.config import Settings
    from framewatch.sample_site import _handler, load_outlets, render_feed, render_page
    from framewatch.sources import add_source
    from framewatch.store import open_store

    arts = variants(N_ARTICLES)
    outlets = load_outlets()
    pages: dict[str, tuple[str, str]] = {"/robots.txt": ("text/plain", "User-agent: *\nAllow: /\n")}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pages))
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for k, o in enumerate(outlets):
        mine = arts[k :: len(outlets)]
        pages[f"/{o['id']}/feed.xml"] = (
            "application/rss+xml",
            render_feed({**o, "feed": "rss"}, mine, base),
        )
        for a in mine:
            a.outlet = o["id"]
            pages[f"/{o['id']}/{a.slug}.html"] = (
                "text/html; charset=utf-8",
                render_page(o, a, mine[:5], base),
            )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings()
    settings.allow_private_networks = True
    settings.crawl.per_host_delay_s = 0.0
    settings.crawl.per_host_concurrency = 4
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.duckdb")
        for o in outlets:
            add_source(store, f"{base}/{o['id']}/feed.xml", name=o["name"])
        start = time.perf_counter()
        report, timings["fetch"] = _timed(lambda: fetch_due(store, settings, force=True))
        a = settings.analysis
        _, timings["embed"] = _timed(
            lambda: embed_pending(store, a.model, a.batch_size, a.embed_max_tokens)
        )
        _, timings["stories"] = _timed(
            lambda: assign_stories(store, settings.analysis, settings.analysis.model)
        )
        _, timings["framing"] = _timed(lambda: frame_pending(store, settings.analysis))
        total = time.perf_counter() - start
        n = store.execute("SELECT count(*) FROM article_framing").fetchone()[0]
        store.close()
        server.shutdown()
        server.server_close()
    return {"articles": n, "seconds": total, "articles_per_s": n / total,
            "stage_seconds": timings, "new_articles": report.new_articles}  # fmt: skip
