"""`framewatch stories`, `story ID`, `eval stories`: reading and scoring stories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from framewatch.cli.base import (
    UsageError,
    app,
    eval_app,
    handles_errors,
    out,
    parse_languages,
    print_json,
    print_table,
    reader,
)


@app.command()
@handles_errors
def stories(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only stories seen on or after DATE (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many stories to show.")] = 20,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="Only stories with an article in this language (de, ar, ...; '?')."
        ),
    ] = None,
) -> None:
    """List stories: id, label, size, outlets, languages, first and last seen, headline."""
    from framewatch.analysis.stories.read import list_stories

    con = reader(ctx)
    code = parse_languages(con, [lang])[0] if lang is not None else None
    rows = list_stories(con, since, limit, code)
    print_table(["id", "label", "articles", "outlets", "languages", "first seen", "last seen",
                 "headline"], rows)  # fmt: skip


@app.command()
@handles_errors
def story(ctx: typer.Context, story_id: Annotated[int, typer.Argument(help="A story id.")]) -> None:
    """One story's articles by time and outlet (an id merged away shows its survivor)."""
    from framewatch.analysis.stories.read import (
        redirect_reason,
        resolve_story,
        story_header,
        story_timeline,
    )

    con = reader(ctx)
    asked, story_id = story_id, resolve_story(con, story_id)
    if story_id != asked:
        why = {
            "merge": "was merged into",
            "text replaced": "was emptied when its article got its full text, now in",
        }.get(
            redirect_reason(con, asked), "was clustered again (analyze --recluster) and lives on as"
        )
        out.print(f"story {asked} {why} story {story_id}")
    head = story_header(con, story_id)
    if head is None:
        raise UsageError(f"no story {story_id}")
    out.print(f"story {story_id}: {head.label} — {head.size} articles from {head.outlets} outlets")
    out.print(f"headline: {head.headline}", markup=False)
    rows = story_timeline(con, story_id)
    print_table(["time", "outlet", "language", "headline", "copy", "article"], rows)


@eval_app.command("stories")
@handles_errors
def eval_stories_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Labelled file with a story (or topic) column.")
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Use the bundled sample corpus (or topic set).")
    ] = False,
    level: Annotated[
        str, typer.Option(help="story: score events; topic: score topics against a topic column.")
    ] = "story",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    threshold: Annotated[
        float | None,
        typer.Option(help="Override story_threshold (topic_threshold at topic level)."),
    ] = None,
    window: Annotated[
        float | None, typer.Option(help="Override story_window_days (topic_window_days).")
    ] = None,
) -> None:
    """B-cubed precision/recall/F1 and ARI of the story (or topic) clustering on labelled data.

    A file of rated pairs (id1, text1, id2, text2, overall: 1 same event .. 4 unrelated, as
    SemEval-2022 Task 8) gets pairwise precision, recall and F1, overall and across languages.
    """
    from framewatch.analysis.stories.evaluate import (
        LEVELS,
        eval_stories,
        labelled_articles,
        sample_articles,
    )

    if (file is None) == (not sample):
        raise UsageError("give a labelled FILE or --sample")
    if level not in LEVELS:
        raise UsageError(f"unknown --level {level!r} (use {' or '.join(LEVELS)})")
    from framewatch.analysis.stories.pairs import eval_pairs, is_pair_file, read_pairs

    pairwise = file is not None and is_pair_file(file)
    arts = (
        None
        if pairwise
        else (sample_articles(level) if sample else labelled_articles(file, LEVELS[level]))
    )
    a = ctx.obj.settings.analysis
    prefix = "topic" if level == "topic" else "story"
    if threshold is not None:
        setattr(a, f"{prefix}_threshold", threshold)
    if window is not None:
        setattr(a, f"{prefix}_window_days", window)
    result = eval_pairs(read_pairs(file), a) if pairwise else eval_stories(arts, a, level)
    if as_json:
        print_json(result)
        return
    if pairwise:
        rows = [
            ("all pairs", result["overall"]),
            ("across languages", result["across_languages"]),
            *result["by_language_pair"].items(),
        ]
        print_table(["pairs", "rated", "same event", "precision", "recall", "f1"],
                    [(k, v["pairs"], v["same_event"], v["precision"], v["recall"], v["f1"])
                     for k, v in rows if v])  # fmt: skip
        out.print(f"model {result['model']}, story_threshold {result['threshold']}; "
                  f"{result['skipped_in_between']} pairs rated between 1.5 and 3.5 left out")  # fmt: skip
        return
    print_table(["metric", "value"], [(k, v) for k, v in result.items()])
