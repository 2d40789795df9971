"""`make bench`: each stage's standalone throughput and peak memory, then the whole
pipeline end to end from a loopback HTTP server, printed side by side.

Each standalone stage runs in a fresh process, so its peak resident memory is its
own. Results go to benchmarks/results/<date>.json for the next run to compare.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.stages import QUICK, end_to_end, run_isolated

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    ctx = mp.get_context("spawn")
    results = {}
    names = ["feed_parsing", "extraction", "embedding", "framing", "clustering"]
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        with ctx.Pool(1) as pool:
            results[name] = pool.apply(run_isolated, (name,))
    print("measuring end to end ...", file=sys.stderr, flush=True)
    with ctx.Pool(1) as pool:
        e2e = pool.apply(end_to_end)
    n = e2e["articles"]
    in_pipeline = {  # articles/s of each stage inside the end-to-end run
        "fetch+extraction": n / e2e["stage_seconds"]["fetch"],
        "embedding": n / e2e["stage_seconds"]["embed"],
        "clustering": n / e2e["stage_seconds"]["stories"],
        "framing": n / e2e["stage_seconds"]["framing"],
    }
    standalone = {
        "fetch+extraction": results["extraction"]["pages_per_s"],
        "embedding": results["embedding"]["articles_per_s"],
        "clustering": results["clustering"]["articles_per_s_100k"],
        "framing": results["framing"]["articles_per_s"],
    }
    slowest = min(standalone, key=standalone.get)
    ratio = e2e["articles_per_s"] / standalone[slowest]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, {platform.platform()}"
    lines = [f"framewatch benchmarks ({machine})", "",
             f"{'stage':<18}{'standalone':>14}{'in pipeline':>14}{'ratio':>8}{'peak MB':>10}"]  # fmt: skip
    peak = {"fetch+extraction": results["extraction"]["peak_rss_mb"], "embedding": results["embedding"]["peak_rss_mb"],
            "clustering": results["clustering"]["peak_rss_mb"], "framing": results["framing"]["peak_rss_mb"]}  # fmt: skip
    for k in standalone:
        lines.append(
            f"{k:<18}{standalone[k]:>11.1f}/s {in_pipeline[k]:>11.1f}/s {in_pipeline[k] / standalone[k]:>7.2f}{peak[k]:>10.0f}"
        )
    f = results["framing"]
    c = results["clustering"]
    lines += [
        "",
        f"feed parsing: {results['feed_parsing']['items_per_s']:.0f} items/s (peak {results['feed_parsing']['peak_rss_mb']:.0f} MB)",
        f"framing: {f['sentences_per_s']:.0f} sentences/s, {f['articles_per_s']:.1f} articles/s; naive "
        f"{f['naive_sentences_per_s']:.0f} sentences/s -> speedup {f['speedup']:.1f}x "
        f"(primary frames identical for {f['primary_agreement']:.0%}; sample accuracy "
        f"{f['sample_accuracy']['batched_cached']:.3f} batched vs {f['sample_accuracy']['naive']:.3f} naive)",
        f"clustering: {c['articles_per_s_10k']:.0f} articles/s at 10k, {c['articles_per_s_100k']:.0f} at 100k "
        f"(10k/100k rate ratio {c['growth_ratio']:.2f}; 1.0 = perfectly linear)",
        f"end to end: {n} articles in {e2e['seconds']:.1f}s = {e2e['articles_per_s']:.1f} articles/s, "
        f"{ratio:.0%} of the slowest stage ({slowest}, {standalone[slowest]:.1f}/s standalone)",
    ]
    print("\n".join(lines))
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine, "quick": QUICK,
        "end_to_end_articles_per_s": e2e["articles_per_s"], "slowest_stage": slowest,
        "slowest_stage_articles_per_s": standalone[slowest], "end_to_end_ratio": ratio,
        "framing_speedup": f["speedup"], "stages": results, "end_to_end": e2e,
        "in_pipeline_articles_per_s": in_pipeline,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(timezone.utc):%Y-%m-%dT%H%M%S}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
