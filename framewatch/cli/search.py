"""`framewatch search / attention`: the query language from the command line."""

from __future__ import annotations

import csv
import sys
from typing import Annotated

import typer

from framewatch.cli.base import (
    UsageError,
    app,
    err,
    handles_errors,
    out,
    print_json,
    print_table,
    reader,
)

QUERY_HELP = (
    'Words, "phrases", AND/OR/NOT, ( ), ~"meaning", and outlet:, lang:, story:, topic:, '
    "frame:, from:, to: or any outlet attribute (lean:right)."
)


def query_embedder(a):
    """Embeds ~"..." texts with the configured model, loaded only when a query needs it."""

    def embed(texts: list[str]):
        from framewatch.analysis.embedding.select import embedder_for

        return embedder_for(a).embed_queries(texts)

    return embed


def _searcher(ctx: typer.Context):
    from framewatch.analysis.search.engine import Searcher

    a = ctx.obj.settings.analysis
    return Searcher(reader(ctx), ctx.obj.db, model=a.model, embed=query_embedder(a))


def _notes(matches) -> None:
    for note in matches.notes:
        err.print(f"note: {note}", markup=False)


@app.command()
@handles_errors
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help=QUERY_HELP)],
    limit: Annotated[int, typer.Option(help="How many articles to show (0: all).")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON list (url, id, score, ...).")
    ] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header row.")] = False,
) -> None:
    """Articles matching a query, best first (BM25 for words, cosine for ~"meaning")."""
    from framewatch.analysis.search.results import COLUMNS, hit_rows

    if limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    if as_json and as_csv:
        raise UsageError("give --json or --csv, not both")
    s = _searcher(ctx)
    try:
        matches = s.run(query)
        rows = hit_rows(s.con, matches, limit or None)
    finally:
        s.con.close()
    _notes(matches)
    if as_json:
        print_json(rows)
    elif as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(COLUMNS)
        w.writerows([[r[c] for c in COLUMNS] for r in rows])
    else:
        print_table(
            ["#", "score", "date", "outlet", "title", "id"],
            [
                (
                    r["rank"],
                    f"{r['score']:.3f}",
                    str(r["published_at"])[:10],
                    r["outlet"],
                    r["headline"],
                    r["id"],
                )
                for r in rows
            ],  # fmt: skip
            title=f"{len(matches)} article(s) match; showing {len(rows)}",
        )


@app.command()
@handles_errors
def attention(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help=QUERY_HELP)],
    by: Annotated[
        str | None, typer.Option(help="Split by an outlet attribute (or outlet, lang).")
    ] = None,
    interval: Annotated[str, typer.Option(help="day or week.")] = "week",
    codebook: Annotated[
        str | None, typer.Option(help="Codebook of the frame mix (default: the most used).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Outlets and words to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Everything as one JSON object.")] = False,
) -> None:
    """Attention over time: matches per day or week, absolute and as a share of all articles."""
    from dataclasses import asdict

    from framewatch.analysis.search.attention import attention as attention_of
    from framewatch.analysis.search.attention import share_text

    s = _searcher(ctx)
    try:
        matches = s.run(query)
        a = attention_of(s, matches, by=by, interval=interval, codebook=codebook, top=top)
    finally:
        s.con.close()
    _notes(matches)
    if as_json:
        print_json(asdict(a))
        return
    out.print(f"{a.matched} of {a.total} articles{a.collection_note()} match{a.copies_note()}",
              markup=False)  # fmt: skip
    if not a.matched:
        return
    print_table(
        [a.interval, *([a.by] if a.by else []), "articles", "of all", "share (90% interval)"],
        [
            (
                str(r["period"]),
                *([r["group"]] if a.by else []),
                r["matched"],
                r["total"],
                share_text(r),
            )
            for r in a.series
        ],  # fmt: skip
        title="Attention",
    )
    print_table(["outlet", "articles", "share of its articles (90% interval)"],
                [(o["outlet"], o["matched"], share_text(o)) for o in a.outlets],
                title="Top outlets")  # fmt: skip
    print_table(
        ["word", "articles"], [(w["word"], w["articles"]) for w in a.words], title="Top words"
    )
    if a.frames:
        print_table(["frame", "articles", "share (90% interval)"],
                    [(f["frame"], f["articles"], share_text(f, ".0%")) for f in a.frames],
                    title=f"Frame mix ({a.frames[0]['codebook']})")  # fmt: skip
    for r in a.samples:
        out.print(
            f"\n{str(r['published_at'])[:10]} · {r['outlet']} · {r['headline']}", markup=False
        )
        if r["evidence"]:
            out.print(f"  {r['frame']}: “{r['evidence']}”", markup=False)
        out.print(f"  {r['url']}", markup=False)
