"""Fast against exact framing on labelled data: `python -m benchmarks.framing_quality`.

Every `eval framing` figure (zero-shot, few-shot 10 a frame, 5-fold; linear head) on
FrAC, the climate articles and the sample corpus with both paths, in one table; then
the primary-frame agreement on the AllSides articles and whether fast evidence
sentences are among the exact path's top three for their frame. Needs
../shared/dev-data (or FRAMEWATCH_DEV_DATA); a set that is missing is skipped.
FRAMEWATCH_QUALITY_SETS=climate,sample limits the table to those sets;
FRAMEWATCH_QUALITY_PATH=bf16 compares the bf16 path with exact instead of the fast one.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

DEV = Path(os.environ.get("FRAMEWATCH_DEV_DATA", Path(__file__).parents[1] / "../shared/dev-data"))
DOCS = Path(__file__).parents[1] / "docs" / "codebooks"
PATH = os.environ.get("FRAMEWATCH_QUALITY_PATH", "fast")  # the path compared with exact


def _sets():
    from framewatch.analysis.framing.codebook import builtin_codebooks, load_codebook_file
    from framewatch.analysis.framing.label_files import read_labelled_file, sample_labelled

    out = []
    for name, rel, cb_file in (("FrAC", "frac_sentence_frames/frames.jsonl", "frac.toml"),
                               ("climate", "narrative_frames_climate/articles.jsonl", "climate-generic.toml")):  # fmt: skip
        if (DEV / rel).exists():
            cb = load_codebook_file(DOCS / cb_file)
            out.append((name, cb, read_labelled_file(DEV / rel, cb, None)))
    out.append(("sample", builtin_codebooks()["geopolitics-tech"], sample_labelled()))
    only = os.environ.get("FRAMEWATCH_QUALITY_SETS")  # e.g. "climate" on a busy machine
    return [s for s in out if not only or s[0] in only.split(",")]


def quality_table(settings, home: str) -> list[dict]:
    from framewatch.analysis.framing.evaluate import Evaluation

    rows = []
    for name, cb, data in _sets():
        for mode in ("exact", PATH):
            print(f"{name} {mode} ...", file=sys.stderr, flush=True)
            ev = Evaluation(data, cb, replace(settings, framing=mode, static_home=home))
            k = 10 if name != "sample" else 3  # the sample has 5-6 articles a frame
            for label, args in (("zero-shot", ("zero-shot",)),
                                (f"linear, few-shot {k}", ("linear", None, k)),
                                ("linear, 5-fold", ("linear", 5))):  # fmt: skip
                r = ev.run(*args, baselines=False)
                rows.append({"data": name, "path": mode, "method": label,
                             **{m: round(r[m], 4) for m in ("accuracy", "micro_f1", "macro_f1")}})  # fmt: skip
    return rows


def agreement(settings, home: str) -> dict:
    """Primary frames and evidence of the fast path against the exact one."""
    from framewatch.analysis.framing.codebook import builtin_codebooks, load_codebook_file
    from framewatch.analysis.framing.framers import make_framer
    from framewatch.analysis.framing.stage import sentence_encoder

    out = {}
    sets = []
    if (DEV / "allsides_neus_stories/stories.jsonl").exists():
        docs = _docs(DEV / "allsides_neus_stories/stories.jsonl")
        sets += [("AllSides", builtin_codebooks()[c], docs) for c in ("geopolitics-tech", "policy-frames")]  # fmt: skip
    if (DEV / "narrative_frames_climate/articles.jsonl").exists():
        docs = _docs(DEV / "narrative_frames_climate/articles.jsonl")
        sets.append(("climate", load_codebook_file(DOCS / "climate-generic.toml"), docs))
    for name, cb, docs in sets:
        enc = sentence_encoder(settings)
        exact = make_framer(cb, replace(settings, framing="exact"), enc)
        fast = make_framer(cb, replace(settings, framing=PATH, static_home=home), enc)
        re_, rf = exact.frame_articles(docs), fast.frame_articles(docs)
        agree = np.mean([a.primary == b.primary for a, b in zip(re_, rf, strict=True)])
        ok = n = 0
        for (t, x), b in zip(docs, rf, strict=True):
            for fid, ev in b.evidence.items():
                top3 = set(_exact_top(exact, t, x, fid, 3))
                for s, _ in ev:
                    n += 1
                    ok += s in top3
        out[f"{name} ({cb.id})"] = {"articles": len(docs), "primary_agreement": round(float(agree), 4),
                                   "evidence_in_exact_top3": round(ok / max(n, 1), 4), "evidence": n,
                                   "transformer_share": round(getattr(fast, "transformer_sentences", 1) / max(1, getattr(fast, "all_sentences", 1)), 3)}  # fmt: skip
    return out


def _docs(path: Path) -> list[tuple[str | None, str]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [(r.get("title"), r["text"]) for r in rows]


def _exact_top(exact, title, text, fid: str, k: int) -> list[str]:
    """The exact path's best ``k`` evidence candidates for a frame: sentences that count
    for it, by score (its evidence lists the first two)."""
    from framewatch.analysis.framing.zeroshot import article_sentences

    sents, _ = article_sentences(title, text)
    z = exact.sentence_scores(exact.encoder.encode(sents))  # cached: no new model work
    j = exact.frame_ids.index(fid)
    rows = [i for i in range(len(sents)) if z[i].argmax() == j and z[i, j] >= exact.threshold]
    return [sents[i] for i in sorted(rows, key=lambda i: -z[i, j])[:k]]


def main() -> int:
    from framewatch.config import load_settings

    settings = load_settings().analysis
    home = os.environ.get("FRAMEWATCH_STATIC_HOME") or str(
        Path.home() / ".cache/framewatch/bench-static"
    )
    table = quality_table(settings, home)
    print(
        f"| data | method | exact acc / micro-F1 / macro-F1 | {PATH} acc / micro-F1 / macro-F1 | largest gap (points) |"
    )
    print("|---|---|---|---|---|")
    for ex in (r for r in table if r["path"] == "exact"):
        fa = next(
            r
            for r in table
            if r["path"] == PATH and r["data"] == ex["data"] and r["method"] == ex["method"]
        )
        gap = max(abs(ex[m] - fa[m]) for m in ("accuracy", "micro_f1", "macro_f1")) * 100
        fmt = lambda r: " / ".join(f"{r[m]:.3f}" for m in ("accuracy", "micro_f1", "macro_f1"))  # noqa: E731
        print(f"| {ex['data']} | {ex['method']} | {fmt(ex)} | {fmt(fa)} | {gap:.1f} |", flush=True)
    print(json.dumps(agreement(settings, home), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
