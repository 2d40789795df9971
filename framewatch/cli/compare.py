"""`framewatch outlets ...`, `blindspots`, `splits`, `watch ...`: comparing outlet groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from framewatch.analysis.framing.codebook import first_codebook
from framewatch.cli.base import (
    LANG_HELP,
    app,
    err,
    handles_errors,
    out,
    parse_languages,
    parse_period,
    print_json,
    print_table,
    reader,
)

outlets_app = typer.Typer(
    help="Outlet attributes (lean, country, owner, ...).", no_args_is_help=True
)
watch_app = typer.Typer(help="Saved queries reported when new stories match.", no_args_is_help=True)


@outlets_app.command("set")
@handles_errors
def outlets_set(
    ctx: typer.Context,
    outlet: Annotated[str, typer.Argument(help="Outlet name, as in `outlets list`.")],
    assignments: Annotated[list[str], typer.Argument(help="key=value ... (key= removes it).")],
) -> None:
    """Set attributes of an outlet (a feed's name or an imported `source`)."""
    from framewatch.outlets import parse_assignments, set_outlet_attributes, similar_outlets

    attrs = parse_assignments(assignments)
    with ctx.obj.store() as store:
        with store.transaction():
            changed = set_outlet_attributes(store, outlet, attrs, "cli")
        near = similar_outlets(store, outlet)
        store.publish_snapshot()
    out.print(
        f"{outlet}: " + ", ".join(f"{k}={v}" if v else f"{k} removed" for k, v in changed.items()),
        markup=False,
    )
    if outlet not in near:
        hint = f" (did you mean: {', '.join(near)}?)" if near else ""
        err.print(f"note: no source or article is named {outlet!r} yet{hint}", markup=False)


@outlets_app.command("import")
@handles_errors
def outlets_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: column `outlet`, one column per attribute.")],
) -> None:
    """Set attributes of many outlets from a CSV file (empty cells are left alone)."""
    from framewatch.outlets import import_attributes_csv

    with ctx.obj.store() as store:
        n, unknown = import_attributes_csv(store, file)
        store.publish_snapshot()
    out.print(f"set attributes of {n} outlets from {file}")
    if unknown:
        err.print(f"note: {len(unknown)} of them have no source or article yet: "
                  + ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""), markup=False)  # fmt: skip


@outlets_app.command("list")
@handles_errors
def outlets_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Outlets with their attributes and article counts."""
    from dataclasses import asdict

    from framewatch.outlets import list_outlet_attributes

    with ctx.obj.store() as store:
        rows = list_outlet_attributes(store.con)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    print_table(["outlet", "articles", "attributes"],
                [(r.outlet, r.articles, ", ".join(f"{k}={v}" for k, v in r.attributes.items()))
                 for r in rows])  # fmt: skip


def _first(items: list, limit: int) -> list:
    """The first ``limit`` (0: all), saying on stderr when some are left out."""
    if limit and len(items) > limit:
        err.print(f"note: showing {limit} of {len(items)}; --limit 0 lists all", markup=False)
        return items[:limit]
    return items


@app.command()
@handles_errors
def blindspots(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Outlet attribute to compare, e.g. lean.")],
    since: Annotated[str | None, typer.Option(help="Articles on or after DATE.")] = None,
    until: Annotated[str | None, typer.Option(help="Articles on or before DATE.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="How many stories to show (0: all).")] = 50,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also those that do not hold up against chance.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    lang: Annotated[list[str] | None, typer.Option("--lang", help=LANG_HELP)] = None,
) -> None:
    """Stories covered (almost) only by some values of an attribute, and who missed them."""
    from framewatch.analysis.compare.blindspots import find_blind_spots
    from framewatch.outlets import require_attribute

    start, end = parse_period(since, until)
    con = reader(ctx)
    c = ctx.obj.settings.compare
    try:
        by = require_attribute(con, by)
        spots = find_blind_spots(con, by, c, start, end, None, languages=parse_languages(con, lang))
    finally:
        con.close()
    listed = spots if show_all else [s for s in spots if s.holds_up]
    shown = _first(listed, limit)
    held = sum(s.holds_up for s in spots)
    summary = (f"{held} of {len(spots)} blind spots by {by} hold up against chance (false-discovery "
               f"rate {c.false_discovery_rate:.0%}; at least {c.dominance:.0%} of a story's articles "
               f"from other values, {c.min_articles}+ articles)"
               + ("" if show_all or held == len(spots) else "; --all lists the others"))  # fmt: skip
    if as_json:  # the list on stdout, what it was drawn from on stderr: [] is not "none seen"
        print_json([s.as_json() for s in shown])
        err.print(summary, markup=False)
        return
    out.print(summary, markup=False)

    def gap(s, v) -> str:
        g = s.gaps[v]
        lo, hi = g.share_interval
        return (f"{v} {g.articles}/{s.articles} ({lo:.0%}–{hi:.0%}; usual {g.usual_share:.0%}, "
                f"q={g.q_value:.2g})")  # fmt: skip

    if not shown:
        return
    print_table(["story", "articles", "covered by", "missing (share 90% CI; usual; q)", "holds up", "days", "headline"],
                [(s.story_id, s.articles, ", ".join(f"{v} {n}" for v, n in s.covered_by.items()),
                  "; ".join(gap(s, v) for v in s.missing), "yes" if s.holds_up else "no",
                  f"{s.first_day} – {s.last_day}", s.headline) for s in shown])  # fmt: skip


@app.command()
@handles_errors
def splits(
    ctx: typer.Context,
    by: Annotated[str, typer.Option("--by", help="Outlet attribute to compare, e.g. lean.")],
    codebook: Annotated[
        str | None, typer.Option(help="Codebook id (default: the first configured).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Articles on or after DATE.")] = None,
    until: Annotated[str | None, typer.Option(help="Articles on or before DATE.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="How many stories to show (0: all).")] = 20,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every story two or more groups covered, ranked.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    lang: Annotated[list[str] | None, typer.Option("--lang", help=LANG_HELP)] = None,
) -> None:
    """Stories whose outlet groups frame them differently beyond chance (Jensen-Shannon)."""
    from framewatch.analysis.compare.splits import add_evidence, find_splits
    from framewatch.outlets import require_attribute

    start, end = parse_period(since, until)
    cb = codebook or first_codebook(ctx.obj.settings.analysis)
    c = ctx.obj.settings.compare
    con = reader(ctx)
    try:
        by = require_attribute(con, by)
        langs = parse_languages(con, lang)
        every = find_splits(con, by, cb, c, start, end, limit=None, evidence_per_group=0,
                            languages=langs)  # fmt: skip
        found = _first([s for s in every if show_all or s.holds_up], limit)
        add_evidence(con, found, by, cb, start, end, languages=langs)
    finally:
        con.close()
    held = sum(s.holds_up for s in every)
    summary = (f"{held} of {len(every)} stories with framed articles from two or more values of {by} are "
               f"split beyond chance (codebook {cb}; false-discovery rate {c.false_discovery_rate:.0%})"
               + ("" if show_all or held == len(every) else "; --all lists every story, ranked"))  # fmt: skip
    if as_json:  # as for blind spots: the count on stderr says what an empty list means
        print_json([s.as_json() for s in found])
        err.print(summary, markup=False)
        return
    out.print(summary, markup=False)
    for s in found:
        lo, hi = s.divergence_interval
        out.print(
            f"\nstory {s.story_id}: divergence {s.divergence_shrunk:.3f} (90% interval {lo:.2f}–{hi:.2f}; "
            f"raw {s.divergence:.2f}; p={s.p_value:.3g}, q={s.q_value:.3g}"
            f"{'' if s.holds_up else ', does not hold up'}) ({s.pair[0]} vs {s.pair[1]}) — {s.headline}",
            markup=False,
        )
        frames = sorted({f for g in s.groups.values() for f in g})

        def cell(v, f, s=s):
            lo, hi = s.intervals[v].get(f, (0.0, 0.0))
            return f"{s.groups[v].get(f, 0):.0%} ({lo:.0%}–{hi:.0%})"

        print_table(["frame", *(f"{v} ({s.articles[v]} art., {s.outlets[v]} outl.)" for v in s.groups)],
                    [(f, *(cell(v, f) for v in s.groups)) for f in frames])  # fmt: skip
        for v, evs in s.evidence.items():
            for e in evs:
                out.print(f"  {v} · {e.frame} · {e.outlet}: “{e.sentence}”", markup=False)
    if not every:
        out.print(f"no story is covered by two or more values of {by} with framed articles")


@watch_app.command("add")
@handles_errors
def watch_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the watch.")],
    query: Annotated[
        list[str] | None,
        typer.Argument(help="A query as in `framewatch search` (words side by side: all of them)."),
    ] = None,
    group: Annotated[str | None, typer.Option(help="Outlet group ATTRIBUTE=VALUE.")] = None,
    frame: Annotated[str | None, typer.Option(help="Primary frame id.")] = None,
    codebook: Annotated[str | None, typer.Option(help="Codebook of --frame and splits.")] = None,
    split_by: Annotated[
        str | None, typer.Option(help="Report framing splits by ATTRIBUTE (default: --group's).")
    ] = None,
) -> None:
    """Save a search: a query in the search language, an outlet group, a frame."""
    from framewatch.analysis.compare.watches import add_watch, watch_notes

    cb = codebook or first_codebook(ctx.obj.settings.analysis)
    text = " ".join(query or [])
    with ctx.obj.store() as store:
        w = add_watch(
            store, name, query=text, group=group, frame=frame, codebook=cb, split_by=split_by
        )
        notes = watch_notes(store.con, w)
        store.publish_snapshot()
    out.print(f"watch {w.id} {w.name}: {w.describe()}", markup=False)
    for note in notes:
        err.print(f"note: {note}")


@watch_app.command("list")
@handles_errors
def watch_list(ctx: typer.Context) -> None:
    """Saved watches."""
    from framewatch.analysis.compare.watches import list_watches

    with ctx.obj.store(existing=True) as store:
        rows = list_watches(store.con)
    print_table(["id", "name", "query"], [(w.id, w.name, w.describe()) for w in rows])


@watch_app.command("remove")
@handles_errors
def watch_remove(
    ctx: typer.Context, key: Annotated[str, typer.Argument(help="Id or name.")]
) -> None:
    """Delete a watch and what it reported."""
    from framewatch.analysis.compare.watches import remove_watch

    with ctx.obj.store(existing=True) as store:
        w = remove_watch(store, key)
        store.publish_snapshot()
    out.print(f"removed watch {w.id} ({w.name})", markup=False)


@watch_app.command("check")
@handles_errors
def watch_check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """New matches and framing splits since the last check (each reported once)."""
    from dataclasses import asdict

    from framewatch.analysis.compare.watches import check_watches
    from framewatch.cli.search import query_embedder

    a = ctx.obj.settings.analysis
    with ctx.obj.store(existing=True) as store:
        reports = check_watches(
            store, ctx.obj.settings.compare, embed=query_embedder(a), model=a.model
        )
        store.publish_snapshot()
    if as_json:
        print_json([asdict(r) for r in reports])
        return
    for r in reports:
        out.print(
            f"{r.watch}: new {r.kind} — story {r.story_id}: {r.headline} ({r.detail})", markup=False
        )
    if not reports:
        out.print("nothing new")
