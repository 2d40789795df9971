"""Language detection against labelled text: how often the detector names the right language.

``python -m benchmarks.language_id FILE.jsonl [...]`` reads rows with ``text`` (and
optionally ``title``) and the gold ``language``, hides the gold from the detector (no
declared language), and prints per language: rows, share right, rows left undecided and the
languages it was taken for. Runs ``framewatch.language.language_of``, what import, crawl and
backfill run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from framewatch.language import language_of, normalise


def score(rows: list[dict]) -> dict[str, dict]:
    """Per gold language: n, right, undecided and the confusions."""
    by_lang: dict[str, dict] = defaultdict(lambda: {"n": 0, "right": 0, "undecided": 0})
    wrong: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        gold = normalise(row.get("language"))
        if gold is None:
            continue
        got = language_of(row.get("title"), row.get("text")).code
        entry = by_lang[gold]
        entry["n"] += 1
        entry["right"] += got == gold
        entry["undecided"] += got is None
        if got is not None and got != gold:
            wrong[gold][got] += 1
    return {
        lang: {**v, "accuracy": round(v["right"] / v["n"], 4), "taken_for": dict(wrong[lang])}
        for lang, v in sorted(by_lang.items())
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path, help="JSONL with text and language")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    rows = []
    for path in args.files:
        with path.open(encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    result = score(rows)
    if not result:
        print("no row has a language column", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print("| language | rows | right | undecided | taken for |")
    print("|---|---|---|---|---|")
    for lang, v in result.items():
        taken = ", ".join(f"{k} {n}" for k, n in sorted(v["taken_for"].items())) or "-"
        print(f"| {lang} | {v['n']} | {v['accuracy']:.3f} | {v['undecided']} | {taken} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
