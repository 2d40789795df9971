"""Same results at a larger size: ``python -m benchmarks.backfill_same N ENGINE FOLDER``.

Generates N articles (the benchmark corpus, a week apart every 35 articles), runs
``import`` + ``analyze`` into one store and ``backfill --engine ENGINE --workers 2``
into another, and says for each table whether the two agree. Too slow for the test
suite at this size; the tests make the same comparison on 420 articles.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from benchmarks.corpus import variants
from framewatch.cli import app

QUERIES = {
    "articles": "SELECT id, canonical_url, title, text, published_at, source_id FROM articles ORDER BY id",
    "stories": "SELECT id, size, copies, outlets, label FROM stories ORDER BY id",
    "members": "SELECT article_id, story_id FROM story_members ORDER BY article_id",
    "duplicates": "SELECT article_id, duplicate_of FROM article_duplicates ORDER BY 1",
    "frames": "SELECT article_id, codebook_id, primary_frame, method FROM article_framing ORDER BY 1, 2",
}


def tables(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {k: con.execute(q).fetchall() for k, q in QUERIES.items()}
    finally:
        con.close()


def main(n: int, engine: str, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "generated.jsonl"
    with src.open("w") as fh:
        for i, a in enumerate(variants(n)):
            fh.write(json.dumps({
                "title": a.title, "text": a.text, "source": a.outlet_name,
                "published_at": (a.published + timedelta(days=7 * (i // 35))).isoformat() + "Z",
                "url": f"https://{a.outlet}.example/{a.slug}.html",
            }) + "\n")  # fmt: skip
    cli = CliRunner()
    ref, bf = folder / "import-analyze.duckdb", folder / "backfill.duckdb"
    t = time.perf_counter()
    assert cli.invoke(app, ["--db", str(ref), "import", str(src)]).exit_code == 0
    assert cli.invoke(app, ["--db", str(ref), "analyze"]).exit_code == 0
    print(f"import + analyze: {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    args = ["--db", str(bf), "backfill", str(src), "--engine", engine, "--workers", "2"]
    assert cli.invoke(app, args).exit_code == 0
    print(f"backfill --engine {engine} --workers 2: {time.perf_counter() - t:.0f} s")
    a, b = tables(ref), tables(bf)
    for k in QUERIES:
        print(f"{k}: {'same' if a[k] == b[k] else 'DIFFERENT'} ({len(a[k])} rows)")
    return 0 if a == b else 1


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
