"""`make fuzz`: coverage-guided fuzzing (atheris, libFuzzer) of each parser for a time budget.

    python tests/fuzz/run.py TARGET [--seconds N] [--corpus DIR]

Starts from real-shaped seeds, keeps what it learns in the corpus folder, and exits
non-zero with the crashing input saved (crash-*) when a target raises anything its
parser does not promise. Save such an input under tests/fuzz/regressions/TARGET/ and
fix the parser: tests/test_fuzz_regressions.py replays every saved input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    if sys.argv[1:] == ["--list"]:  # the target names, for make; none without atheris
        import importlib.util

        import targets

        if importlib.util.find_spec("atheris"):
            print(" ".join(targets.TARGETS))
        return
    import atheris

    with atheris.instrument_imports(include=["framewatch", "feedparser", "tomllib", "lark"]):
        import targets  # noqa: F401 - instruments the parsers it imports below
        import tomllib  # noqa: F401 - the codebook parser's TOML reader, guided too

        from framewatch import importer  # noqa: F401
        from framewatch.analysis.framing import codebook  # noqa: F401
        from framewatch.analysis.search import parser  # noqa: F401 - and lark's parser under it
        from framewatch.crawler import feeds, opml  # noqa: F401

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("target", choices=sorted(targets.TARGETS))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--artifacts", type=Path, default=Path("fuzz-artifacts"))
    args, rest = ap.parse_known_args()
    corpus = args.corpus or args.artifacts / "corpus" / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for i, seed in enumerate(targets.seeds(args.target)):
            (corpus / f"seed-{i}").write_bytes(seed)
    crashes = args.artifacts / "crashes" / args.target
    crashes.mkdir(parents=True, exist_ok=True)

    def one(data: bytes) -> None:
        targets.run_one(args.target, data)

    atheris.Setup(
        [sys.argv[0], f"-max_total_time={args.seconds}", f"-artifact_prefix={crashes}/",
         "-rss_limit_mb=4096", "-timeout=30", "-print_final_stats=1", *rest, str(corpus)],
        one,
    )  # fmt: skip
    atheris.Fuzz()


if __name__ == "__main__":
    main()
