"""`make bench`: each stage's standalone throughput and peak memory, then the whole
pipeline end to end from a loopback HTTP server, printed side by side.

Each measurement runs in a fresh process, so its peak resident memory is its own.
Results go to benchmarks/results/<date>.json for the next run to compare.
``python -m benchmarks --only embedding,framing`` measures some stages alone (on a
GPU machine, say); ``FRAMEWATCH_BENCH_QUICK=1`` is a 120-article smoke run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.stages import QUICK, end_to_end, run_isolated

RESULTS = Path(__file__).parent / "results"
STAGES = [
    "feed_parsing",
    "extraction",
    "embedding",
    "framing",
    "framing_long",
    "finetune",
    "train_linear",
    "clustering",
    "search",
]
POLITE_DELAY_S = 0.5  # the crawler's default per-host delay
# Beyond the stages: end_to_end_long runs real-length articles end to end with the fast,
# bf16 and exact framing paths; backfill_long (not by default: minutes) backfills 1,000 of
# them with the default path, on the local engine and on Ray with 2 workers.
EXTRA = ["end_to_end", "end_to_end_long", "backfill", "backfill_long", "backends"]
DEFAULT_EXTRA = ["end_to_end", "end_to_end_long", "backfill", "backends"]


def _isolated(fn, *args):
    # Not multiprocessing.Pool: its daemonic workers may not start the model's process.
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, {platform.platform()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument(
        "--only", help=f"comma-separated stages (of {', '.join(STAGES)}, {', '.join(EXTRA)})"
    )
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    args = ap.parse_args(argv)
    only = args.only.split(",") if args.only else [*STAGES, *DEFAULT_EXTRA]
    unknown = set(only) - {*STAGES, *EXTRA}
    if unknown:
        ap.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    results = {}
    for name in (n for n in STAGES if n in only):
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results[name] = _isolated(run_isolated, name)
    out: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "machine": machine(), "quick": QUICK, "stages": results}  # fmt: skip
    lines = [f"framewatch benchmarks ({machine()})", ""]
    if "end_to_end" in only and set(STAGES) <= set(only):
        lines += _end_to_end(results, out)
    else:
        lines += [f"{k}: {json.dumps(v, default=str)}" for k, v in results.items()]
    if "end_to_end_long" in only:
        lines += ["", *_end_to_end_long(out)]
    if "backfill" in only:
        lines += ["", *_backfill(out)]
    if "backfill_long" in only:
        lines += ["", *_backfill_long(out)]
    if "backends" in only:
        from benchmarks.backends import BACKENDS, measure, report

        print("measuring backends ...", file=sys.stderr, flush=True)
        out["backends"] = [_isolated(measure, name, QUICK) for name in BACKENDS]
        lines += ["", *report(out["backends"])]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.now(timezone.utc):%Y-%m-%dT%H%M%S}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\nwrote {path}")
    return 0


def _backfill(out: dict) -> list[str]:
    """Backfill throughput at 1 and 2 Ray workers against the single-process path."""
    import importlib.util

    from benchmarks.backfill import backfill_run, summarise
    from benchmarks.stages import N_ARTICLES

    runs = {}
    plan = [("local", 1)]
    if importlib.util.find_spec("ray") is not None:
        plan += [("ray", 1), ("ray", 2)]
    for engine, workers in plan:
        print(
            f"measuring backfill ({engine}, {workers} worker(s)) ...", file=sys.stderr, flush=True
        )
        runs[f"{engine}_{workers}"] = {
            size: _isolated(backfill_run, engine, workers, n)
            for size, n in (("small", N_ARTICLES // 2), ("large", N_ARTICLES))
        }
    out["backfill"], lines = summarise(runs)
    return lines


def _end_to_end_long(out: dict) -> list[str]:
    """Real-length articles end to end, the fast and bf16 framing paths against exact."""
    runs = {}
    for mode in ("fast", "bf16", "exact"):
        print(
            f"measuring end to end, real-length articles ({mode}) ...", file=sys.stderr, flush=True
        )
        runs[mode] = _isolated(end_to_end, True, 0.0, True, mode)
    ratio = runs["fast"]["articles_per_s"] / runs["exact"]["articles_per_s"]
    out["end_to_end_long"] = {**runs, "speedup": ratio}
    lines = [f"end to end, real-length articles ({runs['fast']['articles']}):"]
    for mode, r in runs.items():
        lines.append(f"  {mode:<6} {r['seconds']:6.1f}s  {r['articles_per_s']:5.1f} articles/s "
                     f"(framing stage {r['stage_seconds']['framing']:.1f}s after the fetch)")  # fmt: skip
    lines.append(f"  fast / exact: {ratio:.1f}x (target 3x)")
    bf16 = runs["bf16"]["articles_per_s"] / runs["exact"]["articles_per_s"]
    out["end_to_end_long"]["bf16_speedup"] = bf16
    lines.append(f"  bf16 / exact: {bf16:.1f}x")
    return lines


def _backfill_long(out: dict) -> list[str]:
    """1,000 real-length articles backfilled with the default framing path."""
    import importlib.util

    from benchmarks.backfill import backfill_run

    n = 120 if QUICK else 1000
    plan = [("local", 1)] + ([("ray", 2)] if importlib.util.find_spec("ray") else [])
    runs = {}
    for engine, workers in plan:
        print(f"measuring backfill of {n} real-length articles ({engine}, {workers}) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        runs[f"{engine}_{workers}"] = _isolated(backfill_run, engine, workers, n, True)
    out["backfill_long"] = runs
    from framewatch.analysis.framing.framers import path
    from framewatch.config import AnalysisSettings

    lines = [f"backfill of {n} real-length articles, default framing ({path(AnalysisSettings())}):"]
    for key, r in runs.items():
        lines.append(f"  {key:<8} {r['seconds']:6.1f}s  {r['articles_per_s']:5.1f} articles/s "
                     f"(CPU {r['cpu_ms_per_article']:5.1f} ms/article)")  # fmt: skip
    return lines


def _end_to_end(results: dict, out: dict) -> list[str]:
    runs = {}
    for key, alongside, delay in (
        ("alongside", True, 0.0), ("sequential", False, 0.0),
        ("polite_alongside", True, POLITE_DELAY_S), ("polite_sequential", False, POLITE_DELAY_S),
    ):  # fmt: skip
        if QUICK and delay:
            continue
        print(f"measuring end to end ({key}) ...", file=sys.stderr, flush=True)
        runs[key] = _isolated(end_to_end, alongside, delay)
    e2e = runs["alongside"]  # what `framewatch run` does
    n = e2e["articles"]
    sec = e2e["stage_seconds"]
    in_pipeline = {  # articles/s of each stage inside the end-to-end run
        "fetch+extraction": n / sec["fetch"],
        "embedding": n / sec["embed"],
        "clustering": n / sec["stories"],
        "framing": n / sec["framing"],
    }
    standalone = {
        "fetch+extraction": results["extraction"]["pages_per_s"],
        "embedding": results["embedding"]["articles_per_s"],
        "clustering": results["clustering"]["articles_per_s_100k"],
        "framing": results["framing"]["articles_per_s"],
    }
    peak = {"fetch+extraction": results["extraction"]["peak_rss_mb"], "embedding": results["embedding"]["peak_rss_mb"],
            "clustering": results["clustering"]["peak_rss_mb"], "framing": results["framing"]["peak_rss_mb"]}  # fmt: skip
    slowest = min(standalone, key=standalone.get)
    ratio = e2e["articles_per_s"] / standalone[slowest]
    # Stages that each use every core cannot overlap: one after the other is the ceiling.
    ceiling = 1 / sum(1 / standalone[k] for k in ("fetch+extraction", "embedding", "framing"))
    lines = [f"{'stage':<18}{'standalone':>14}{'in pipeline':>14}{'ratio':>8}{'peak MB':>10}"]
    for k in standalone:
        lines.append(
            f"{k:<18}{standalone[k]:>11.1f}/s {in_pipeline[k]:>11.1f}/s "
            f"{in_pipeline[k] / standalone[k]:>7.2f}{peak[k]:>10.0f}"
        )
    f, c = results["framing"], results["clustering"]
    lines += [
        "",
        f"feed parsing: {results['feed_parsing']['items_per_s']:.0f} items/s (peak {results['feed_parsing']['peak_rss_mb']:.0f} MB)",
        f"framing: {f['sentences_per_s']:.0f} sentences/s, {f['articles_per_s']:.1f} articles/s; naive "
        f"{f['naive_sentences_per_s']:.0f} sentences/s -> speedup {f['speedup']:.1f}x "
        f"(primary frames identical for {f['primary_agreement']:.0%}; sample accuracy "
        f"{f['sample_accuracy']['batched_cached']:.3f} batched vs {f['sample_accuracy']['naive']:.3f} naive)",
        f"framing, real-length articles ({results['framing_long']['words_per_article']} words, "
        f"{results['framing_long']['sentences_per_article']} sentences): "
        f"{results['framing_long']['articles_per_s']:.1f} articles/s fast vs "
        f"{results['framing_long']['exact_articles_per_s']:.1f} exact -> "
        f"{results['framing_long']['speedup']:.1f}x (target 5x; "
        f"{results['framing_long']['transformer_share']:.0%} of sentences through the transformer, "
        f"primary frames identical for {results['framing_long']['primary_agreement']:.0%}); "
        f"bf16 {results['framing_long']['bf16_articles_per_s']:.1f} articles/s -> "
        f"{results['framing_long']['bf16_speedup']:.1f}x (primary frames identical for "
        f"{results['framing_long']['bf16_primary_agreement']:.0%}; AMX: {results['framing_long']['cpu_has_amx']})",
        f"fine-tuning ({results['finetune']['texts']} short texts, {results['finetune']['steps']} steps): "
        f"{results['finetune']['minutes']:.1f} min (target <= 10)",
        f"linear head ({results['train_linear']['texts']} labelled texts, inner-CV grid): "
        f"{results['train_linear']['seconds']:.1f}s with one BLAS thread, "
        f"{results['train_linear']['all_threads_seconds']:.1f}s with all "
        f"({results['train_linear']['speedup']:.1f}x)",
        f"search over {results['search']['articles']:,} articles: p95 {results['search']['p95_ms']:.0f} ms, "
        f'p50 {results["search"]["p50_ms"]:.0f} ms (target p95 < 300); ~"meaning" p95 '
        f"{results['search']['meaning_p95_ms']:.0f} ms; indexing {results['search']['index_articles_per_s']:.0f} "
        f"articles/s, {sec.get('search', 0):.1f}s of the {e2e['seconds']:.1f}s run "
        f"({sec.get('search', 0) / e2e['seconds']:.1%}; target <= 10%)",
        f"clustering: {c['articles_per_s_10k']:.0f} articles/s at 10k, {c['articles_per_s_100k']:.0f} at 100k "
        f"(10k/100k rate ratio {c['growth_ratio']:.2f}; 1.0 = perfectly linear)",
        f"end to end: {n} articles in {e2e['seconds']:.1f}s = {e2e['articles_per_s']:.1f} articles/s, "
        f"{ratio:.0%} of the slowest stage ({slowest}, {standalone[slowest]:.1f}/s standalone); "
        f"{e2e['articles_per_s'] / ceiling:.0%} of the one-after-another ceiling ({ceiling:.1f}/s)",
    ]
    for key, r in runs.items():
        lines.append(
            f"  {key:<18} {r['seconds']:6.1f}s  {r['articles_per_s']:5.1f} articles/s  "
            f"({r['framed_while_fetching']} framed while fetching)"
        )
    out.update({
        "end_to_end_articles_per_s": e2e["articles_per_s"], "slowest_stage": slowest,
        "slowest_stage_articles_per_s": standalone[slowest], "end_to_end_ratio": ratio,
        "sequential_ceiling_articles_per_s": ceiling, "framing_speedup": f["speedup"],
        "end_to_end": e2e, "end_to_end_runs": runs, "in_pipeline_articles_per_s": in_pipeline,
    })  # fmt: skip
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
