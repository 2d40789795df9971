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


def _model():
    """The model as configured (FRAMEWATCH_MODEL, FRAMEWATCH_DEVICE), with what it runs on."""
    from framewatch.analysis.embedding.select import embedder_for
    from framewatch.config import load_settings

    model = embedder_for(load_settings().analysis)
    if os.environ.get("FRAMEWATCH_BENCH_DTYPE"):  # e.g. float16 on a GPU
        import torch

        model.model.to(getattr(torch, os.environ["FRAMEWATCH_BENCH_DTYPE"]))
    return model


def _runs_on(embedder) -> dict:
    p = next(embedder.model.parameters())  # a sentence-transformers backend
    out = {"device": str(p.device), "dtype": str(p.dtype).removeprefix("torch.")}
    if p.device.type == "cuda":
        import torch

        out["accelerator"] = torch.cuda.get_device_name(p.device)
    return out


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


# -- standalone stages (each in its own process) ------------------------------------
def stage_feed_parsing() -> dict:
    from benchmarks.corpus import variants
    from framewatch.crawler.feeds import parse_feed
    from framewatch.sample_site import load_outlets, render_feed

    arts = variants(1000)
    feed = render_feed(load_outlets()[0], arts, "http://127.0.0.1:1").encode()
    reps = 3
    _, t = _timed(lambda: [parse_feed(feed, "http://127.0.0.1:1/feed.xml") for _ in range(reps)])
    return {"items_per_s": reps * len(arts) / t}


def stage_extraction() -> dict:
    from benchmarks.corpus import variants
    from framewatch.crawler.extract import extract_article
    from framewatch.sample_site import load_outlets, render_page

    outlet = load_outlets()[0]
    arts = variants(N_ARTICLES)
    pages = [render_page(outlet, a, arts[:5], "http://127.0.0.1:1").encode() for a in arts]
    _, t = _timed(lambda: [extract_article(p, "http://127.0.0.1:1/x.html") for p in pages])
    return {"pages_per_s": len(pages) / t}


def stage_embedding() -> dict:
    from benchmarks.corpus import variants
    from framewatch.analysis.embedding.stage import article_input

    model = _model()
    arts = variants(N_ARTICLES)
    model.embed(["warm up"])
    _, t = _timed(model.embed, [article_input(a.title, a.text) for a in arts], 64)
    return {"articles_per_s": len(arts) / t, **_runs_on(model)}


def stage_framing() -> dict:
    """Batched and cached framing against the naive way, with the quality of both."""
    from benchmarks.corpus import variants
    from framewatch.analysis.framing.codebook import builtin_codebooks
    from framewatch.analysis.framing.zeroshot import (
        SentenceEncoder,
        ZeroShotFramer,
        article_sentences,
    )
    from framewatch.config import AnalysisSettings
    from framewatch.sample_site import load_corpus

    model = _model()
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
        "sample_accuracy": acc, **_runs_on(model),
    }  # fmt: skip


def _cluster_all(c, vecs, times) -> list[int]:
    return [c.add(i, v, t).story for i, (v, t) in enumerate(zip(vecs, times, strict=True))]


def _later_pass(s, pred, vecs, times) -> None:
    """The merge pass and the topics over the stories, as analyze runs them."""
    from framewatch.analysis.stories.evaluate import summarise
    from framewatch.analysis.stories.merge import plan_merges
    from framewatch.analysis.stories.topics import assign_topics

    stories = summarise(pred, vecs, times)
    plan_merges(list(stories.values()), s.story_merge_threshold, s.story_merge_gap_days,
                s.story_max_span_days)  # fmt: skip
    assign_topics(stories.values(), s.topic_threshold, s.topic_window_days)


def stage_clustering() -> dict:
    import numpy as np

    from framewatch.analysis.stories.stage import make_clusterer
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
        c = make_clusterer(s)
        pred, t = _timed(_cluster_all, c, vecs, times)
        out[f"articles_per_s_{n // 1000}k"] = n / t
        _, t_later = _timed(_later_pass, s, pred, vecs, times)
        out[f"later_pass_articles_per_s_{n // 1000}k"] = n / t_later
    out["growth_ratio"] = out["articles_per_s_10k"] / out["articles_per_s_100k"]
    out["later_pass_growth_ratio"] = (
        out["later_pass_articles_per_s_10k"] / out["later_pass_articles_per_s_100k"]
    )
    return out


def static_home() -> str:
    """One static model for the whole bench run (built by the first stage that needs it)."""
    home = Path(tempfile.gettempdir()) / f"framewatch-bench-static-{os.getuid()}"
    return str(home)


def stage_framing_long() -> dict:
    """Zero-shot framing of real-length articles (about 650 words, 27 sentences): the fast
    path (``articles_per_s``), the exact one (``exact_articles_per_s``) and the bf16 one
    (``bf16_articles_per_s``), side by side."""
    from dataclasses import replace

    from benchmarks.corpus import long_articles
    from framewatch.analysis.embedding.select import bf16_is_fast
    from framewatch.analysis.embedding.static_models import ensure_static
    from framewatch.analysis.framing.codebook import builtin_codebooks
    from framewatch.analysis.framing.framers import make_framer
    from framewatch.analysis.framing.zeroshot import SentenceEncoder, article_sentences
    from framewatch.config import load_settings

    model = _model()
    settings = replace(load_settings().analysis, static_home=static_home())
    _, t_build = _timed(ensure_static, settings)  # once per machine, beside the store
    cb = builtin_codebooks()["geopolitics-tech"]
    n = 60 if QUICK else 300
    arts = long_articles(n + 16)  # the last 16 only warm each path up
    docs = [(a.title, a.text) for a in arts[:n]]
    n_sent = sum(len(article_sentences(t, x)[0]) for t, x in docs)
    words = sum(len(x.split()) for _, x in docs) / len(docs)
    out = {}
    keys = {"exact": "exact_", "fast": "", "bf16": "bf16_"}
    framers = {
        m: make_framer(cb, replace(settings, framing=m), SentenceEncoder(model, 128)) for m in keys
    }  # fmt: skip - each with a fresh sentence cache
    # Chunks of 16 articles, the paths taking turns, so a change in the machine's load
    # falls on all of them alike; the first chunk warms each path up (kernels, caches).
    warm = [(a.title, a.text) for a in arts[n:]]
    for f in framers.values():
        f.frame_articles(warm)
    fast = framers["fast"]
    fast.transformer_sentences = fast.all_sentences = 0  # count the timed chunks only
    spent = dict.fromkeys(keys, 0.0)
    res = {m: [] for m in keys}
    for i in range(0, len(docs), 16):
        for m, f in framers.items():
            got, t = _timed(f.frame_articles, docs[i : i + 16])
            res[m] += got
            spent[m] += t
    for m, key in keys.items():
        out[f"{key}articles_per_s"] = len(docs) / spent[m]
        out[f"{key}sentences_per_s"] = n_sent / spent[m]

    def agree(mode: str) -> float:
        same = [a.primary == b.primary for a, b in zip(res[mode], res["exact"], strict=True)]
        return sum(same) / len(same)

    return {"articles": len(docs), "words_per_article": round(words),
            "sentences_per_article": round(n_sent / len(docs), 1), **out,
            "speedup": out["articles_per_s"] / out["exact_articles_per_s"],
            "transformer_share": fast.transformer_sentences / max(1, fast.all_sentences),
            "primary_agreement": agree("fast"), "static_build_or_check_s": t_build,
            "bf16_speedup": out["bf16_articles_per_s"] / out["exact_articles_per_s"],
            "bf16_primary_agreement": agree("bf16"), "cpu_has_amx": bf16_is_fast("cpu"),
            **_runs_on(model)}  # fmt: skip


def stage_finetune() -> dict:
    """Fine-tuning on 1,000 labelled short texts, as `framewatch train --method finetune`."""
    from benchmarks.corpus import short_labelled
    from framewatch.analysis.framing.codebook import builtin_codebooks
    from framewatch.analysis.framing.finetune import finetune
    from framewatch.analysis.framing.label_files import LabelledText
    from framewatch.config import AnalysisSettings

    rows = [LabelledText("", t, [f]) for t, f in short_labelled(100 if QUICK else 1000)]
    cb = builtin_codebooks()["geopolitics-tech"]
    steps = 20 if QUICK else AnalysisSettings().finetune_steps
    _, t = _timed(finetune, rows, cb, AnalysisSettings(), False, 0, steps)
    return {"texts": len(rows), "steps": steps, "seconds": t, "minutes": t / 60}


def stage_train_linear() -> dict:
    """The linear head as `framewatch train` fits it (inner-CV grid, 61 fits) on 2,000
    labelled short texts, with one BLAS thread (as framewatch runs it) and with every
    thread BLAS wants, taking turns so that a change in load falls on both."""
    from benchmarks.corpus import short_labelled
    from framewatch.analysis.framing import linear
    from framewatch.analysis.framing.codebook import builtin_codebooks

    rows = short_labelled(300 if QUICK else 2000)
    X = _model().embed([t for t, _ in rows], 64)
    y = [[f] for _, f in rows]
    frames = [f.id for f in builtin_codebooks()["geopolitics-tech"].frames]
    times: dict[str, list[float]] = {"one_thread": [], "all_threads": []}
    for _ in range(1 if QUICK else 2):
        for name, threads in (("one_thread", 1), ("all_threads", None)):
            _, t = _timed(linear.fit, X, y, frames, None, 0, None, 0, threads)
            times[name].append(t)
    one, every = min(times["one_thread"]), min(times["all_threads"])
    return {
        "texts": len(rows),
        "seconds": one,
        "all_threads_seconds": every,
        "speedup": every / one,
    }


def stage_search() -> dict:
    from benchmarks.search import stage_search as measure

    return measure()


def run_isolated(name: str) -> dict:
    result = globals()[f"stage_{name}"]()
    result["peak_rss_mb"] = _peak_mb()
    return result


# -- end to end ---------------------------------------------------------------------------
def _serve_outlets(n_articles: int, ready, long: bool = False) -> None:
    """Each outlet on a loopback address of its own (127.0.0.2, .3, ...), as separate
    hosts are on the web, served from this process so it costs the pipeline no CPU."""
    import threading
    from http.server import ThreadingHTTPServer

    from benchmarks.corpus import long_articles, variants
    from framewatch.sample_site import _handler, load_outlets, render_feed, render_page

    arts = long_articles(n_articles) if long else variants(n_articles)
    outlets = load_outlets()
    feeds = []
    for k, o in enumerate(outlets):
        pages = {"/robots.txt": ("text/plain", "User-agent: *\nAllow: /\n")}
        server = ThreadingHTTPServer((f"127.0.0.{2 + k}", 0), _handler(pages))
        server.daemon_threads = True
        base = f"http://127.0.0.{2 + k}:{server.server_address[1]}"
        mine = arts[k :: len(outlets)]
        pages["/feed.xml"] = ("application/rss+xml", render_feed({**o, "feed": "rss"}, mine, base))
        for a in mine:
            a.outlet = o["id"]
            pages[f"/{o['id']}/{a.slug}.html"] = (
                "text/html; charset=utf-8",
                render_page(o, a, mine[:5], base),
            )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        feeds.append((o["name"], f"{base}/feed.xml"))
    ready.put(feeds)
    threading.Event().wait()  # until terminated


def end_to_end(alongside: bool = True, per_host_delay_s: float = 0.0, long: bool = False,
               framing: str | None = None) -> dict:  # fmt: skip
    """Serve realistic pages from another process and run the pipeline into a store.

    With ``alongside`` (what ``framewatch run`` does) articles are embedded and framed
    in a model process while feeds are still being fetched; without, each stage
    waits for the last and the model runs in this process. ``per_host_delay_s``
    above 0 fetches as politely as the crawler does by default (2 requests per host
    at once, 0.5 s apart), which is what makes a real crawl take time. ``long`` serves
    real-length articles; ``framing`` (exact, bf16 or fast) overrides the setting.
    """
    import multiprocessing as mp

    from framewatch.config import Settings
    from framewatch.pipeline.model_worker import ModelWorker
    from framewatch.pipeline.runner import fetch_stage
    from framewatch.pipeline.runs import recorded_run
    from framewatch.pipeline.stages import STAGES
    from framewatch.sources import add_source
    from framewatch.store import open_store

    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    n_served = (60 if QUICK else 200) if long else N_ARTICLES
    server = ctx.Process(target=_serve_outlets, args=(n_served, ready, long), daemon=True)
    server.start()
    feeds = ready.get(timeout=120)
    settings = Settings()
    settings.allow_private_networks = True
    settings.crawl.per_host_delay_s = per_host_delay_s
    settings.crawl.per_host_concurrency = 4 if not per_host_delay_s else 2
    settings.analysis.static_home = static_home()  # built once per machine, not per run
    if framing:
        settings.analysis.framing = framing
    timings = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / "bench.duckdb")
            for name, url in feeds:
                add_source(store, url, name=name)
            start = time.perf_counter()
            with recorded_run(store, "bench") as rec, ModelWorker(settings.analysis) as worker:
                models = worker if alongside else None
                _, timings["fetch"] = _timed(
                    lambda: fetch_stage(store, settings, rec, force=True, models=models)
                )
                framed_alongside = rec.counts.get("articles_framed", 0)
                for name, stage in STAGES:
                    _, timings[name] = _timed(stage, store, settings, rec, models)
            total = time.perf_counter() - start
            n = store.execute("SELECT count(*) FROM article_framing").fetchone()[0]
            store.close()
    finally:
        server.terminate()
        server.join()
    return {"articles": n, "seconds": total, "articles_per_s": n / total,
            "stage_seconds": timings, "new_articles": rec.counts.get("articles_new"),
            "framed_while_fetching": framed_alongside, "alongside": alongside,
            "per_host_delay_s": per_host_delay_s, "long": long,
            "framing": settings.analysis.framing}  # fmt: skip
