"""Backfill throughput: the local engine (one process) and Ray at 1 and 2 workers.

Every run backfills the same JSONL export into a fresh store. CPU is counted for the
whole process tree (this process, and for Ray its raylet, GCS and actors), sampled
from /proc while the run goes, so a process that ends is still counted up to its
last sample. The engine's overhead per article is its tree's CPU per article over
the single-process path's, minus one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.stages import N_ARTICLES, static_home

TICK = os.sysconf("SC_CLK_TCK")


def _tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and every live descendant, by pid."""
    parents, cpu = {}, {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
    out = {}
    for pid in cpu:
        p = pid
        while p and p != root:
            p = parents.get(p, 0)
        if p == root:
            out[pid] = cpu[pid]
    return out


class TreeCPU:
    """The process tree's CPU, sampled twice a second while a run goes."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid, s in _tree_cpu(os.getpid()).items():
                self.seen[pid] = max(s, self.seen.get(pid, 0.0))
            self._stop.wait(0.5)

    def __enter__(self) -> TreeCPU:
        self.base = _tree_cpu(os.getpid()).get(os.getpid(), 0.0)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid, s in _tree_cpu(os.getpid()).items():
            self.seen[pid] = max(s, self.seen.get(pid, 0.0))
        self.total = sum(self.seen.values()) - self.base


def _export(path: Path, n: int, long: bool = False) -> Path:
    from benchmarks.corpus import long_articles, variants

    with path.open("w") as fh:
        for i, a in enumerate(long_articles(n) if long else variants(n)):
            fh.write(json.dumps({
                "title": a.title, "text": a.text, "source": a.outlet_name,
                "published_at": a.published.isoformat() + "Z",
                "url": f"https://{a.outlet}.example/{a.slug}-{i}.html",
            }) + "\n")  # fmt: skip
    return path


def backfill_run(engine: str, workers: int, n: int = N_ARTICLES, long: bool = False) -> dict:
    """One backfill of ``n`` articles (run in a fresh process, see __main__); ``long``:
    real-length ones (the static model of fast framing comes built, as on a second run)."""
    from framewatch.backfill import BackfillOptions, backfill
    from framewatch.config import Settings
    from framewatch.pipeline.runs import recorded_run
    from framewatch.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        src = _export(Path(tmp) / "export.jsonl", n, long)
        store = open_store(Path(tmp) / "bf.duckdb")
        opts = BackfillOptions(engine=engine, workers=workers, partition_size=50)
        settings = Settings()
        settings.analysis.static_home = static_home()
        with TreeCPU() as cpu:
            start = time.perf_counter()
            with recorded_run(store, "backfill") as rec:
                report = backfill(store, settings, [str(src)], Path(tmp) / "work", opts, rec)
            seconds = time.perf_counter() - start
        store.close()
    assert report.analysed == n
    return {
        "engine": engine, "workers": workers, "articles": n, "seconds": seconds,
        "articles_per_s": n / seconds, "engine_seconds": report.engine_wall_s,
        "cpu_s": cpu.total, "cpu_ms_per_article": 1000 * cpu.total / n,
        "worker_cpu_s": report.engine_cpu_s,
        "worker_cpu_ms_per_article": 1000 * report.engine_cpu_s / n,
    }  # fmt: skip


def marginal(small: dict, large: dict) -> dict:
    """Per-article figures from two sizes: what one more article costs, without the
    fixed costs (starting Ray, loading the model in each worker, the store)."""
    dn = large["articles"] - small["articles"]
    return {
        "cpu_ms_per_article": 1000 * (large["cpu_s"] - small["cpu_s"]) / dn,
        "articles_per_s": dn / (large["seconds"] - small["seconds"]),
    }


def summarise(runs: dict[str, dict]) -> tuple[dict, list[str]]:
    """``runs``: "<engine>_<workers>" -> {"small": run, "large": run}."""
    base = marginal(**runs["local_1"])
    out: dict = {"runs": runs, "articles": runs["local_1"]["large"]["articles"]}
    lines = [f"backfill of a JSONL export, {out['articles']} articles (and half as many):"]
    for key, pair in runs.items():
        r, m = pair["large"], marginal(**pair)
        out[f"{key}_marginal"] = m
        lines.append(
            f"  {key:<8} {r['seconds']:6.1f}s  {r['articles_per_s']:5.1f} articles/s "
            f"(CPU {r['cpu_ms_per_article']:5.1f} ms/article); per extra article: "
            f"{m['articles_per_s']:5.1f} articles/s, CPU {m['cpu_ms_per_article']:5.1f} ms"
        )
    for key in (k for k in runs if k.startswith("ray")):
        over = out[f"{key}_marginal"]["cpu_ms_per_article"] / base["cpu_ms_per_article"] - 1
        out[f"{key}_cpu_overhead_per_article"] = over
        lines.append(f"  {key}: CPU per extra article {over:+.0%} against the single-process path")
    per_worker = out.get("ray_1_marginal", base)["articles_per_s"]
    out["million_articles_hours_per_worker"] = 1e6 / per_worker / 3600
    lines.append(
        f"  a million articles: {out['million_articles_hours_per_worker']:.1f} h on one worker "
        f"like this machine's cores"
    )
    return out, lines
