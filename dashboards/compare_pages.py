"""Dashboard pages that compare outlet groups: the Story comparison, Blind spots, Splits.

Every outlet name, attribute value, headline and sentence is untrusted: it reaches the
page through data frames, Vega charts (tooltips are escaped) and escaped Markdown only.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from framewatch.analysis.compare.blindspots import find_blind_spots, missing_counts
from framewatch.analysis.compare.splits import Split, add_evidence, find_splits
from framewatch.config import CompareSettings, ConfigError, load_settings
from framewatch.dashboards import compare_queries as cq
from framewatch.dashboards.markup import safe
from framewatch.dashboards.queries import NO_FRAME
from framewatch.dashboards.url_state import int_param, page_link
from framewatch.errors import InputError
from framewatch.outlets import attribute_names


def compare_settings() -> CompareSettings:
    """The config file's thresholds (FRAMEWATCH_CONFIG), or the defaults."""
    try:
        return load_settings().compare
    except ConfigError as exc:
        st.sidebar.warning(f"config not read, default thresholds used: {exc}")
        return CompareSettings()


def attribute_picker(con, wanted: str | None) -> str | None:
    """The sidebar's "Compare outlets by" choice; None when no outlet has attributes."""
    names = attribute_names(con)
    if not names:
        return None
    index = names.index(wanted) if wanted in names else 0
    if wanted and wanted not in names:
        st.sidebar.warning(f"No outlet has the attribute {safe(wanted)}; comparing by "
                           f"{safe(names[0])}.")  # fmt: skip
    return st.sidebar.selectbox("Compare outlets by", names, index=index, key="by")


def _no_attributes() -> None:
    st.info(
        "No outlet has attributes yet. Give outlets a lean, country or owner with "
        "`framewatch outlets set OUTLET lean=left` or `framewatch outlets import FILE.csv`."
    )


def _story_link(story_id: int, text: str, by: str | None) -> str:
    query = page_link(st.query_params, "Story", story=int(story_id), by=by)
    return f"[{safe(text) or 'story ' + str(story_id)}]({query})"


def params_int(value: str | None, default: int) -> int:
    number = int_param(value)
    return number if number is not None and 1 <= number <= 50 else default


def show_all_toggle(label: str, key: str) -> bool:
    """ "Show all" (URL ``all=1``): also what does not hold up against chance."""
    wanted = st.query_params.get("all") == "1"
    on = st.toggle(label, value=wanted, key=key)
    if on:
        st.query_params["all"] = "1"
    elif "all" in st.query_params:
        del st.query_params["all"]
    return bool(on)


def codebook_caption(con, codebook: str) -> None:
    """Say which codebook the page's frames come from (general news suits policy-frames)."""
    row = con.execute("SELECT name FROM codebooks WHERE id = ?", [codebook]).fetchone()
    name = row[0] if row and row[0] else codebook
    st.caption(f"Frames from the codebook **{safe(name)}** ({safe(codebook)}); pick another "
               "in the sidebar. `framewatch codebooks suggest` says which one fits this store.")  # fmt: skip


def _iv(bounds) -> str:
    lo, hi = bounds
    return f"{lo:.0%}–{hi:.0%}"


def integer_axis(title: str) -> alt.Axis:
    """Counts have whole ticks only: no '1.2 articles'."""
    return alt.Axis(title=title, tickMinStep=1, format="d")


# -- Story: who framed it how --------------------------------------------------------
def story_comparison(con, sid: int, codebook: str, by: str | None, labels: dict[str, str]) -> None:
    """Outlet x frame heatmap grouped by ``by``, coverage per group, group frame shares."""
    order = [*labels.values(), NO_FRAME]
    matrix = cq.outlet_frame_matrix(con, sid, codebook, by)
    group_title = by or "group"
    st.subheader(f"Who framed it how: outlets by {group_title}")
    if matrix.empty:
        st.info("No article of this story has been framed with this codebook yet.")
    else:
        used = matrix.groupby("frame")["share"].transform("max") > 0
        matrix = matrix[used].assign(
            share=matrix["share"].round(3)
        )  # frames nobody used: no column
        matrix["row"] = matrix["group"] + " · " + matrix["outlet"]
        matrix["label"] = matrix["share"].map(lambda v: f"{v:.0%}" if v >= 0.005 else "")
        rows = sorted(matrix["row"].unique(), key=lambda r: r.split(" · ", 1))
        cell = alt.selection_point(name="cell", fields=["outlet", "frame"], on="click")
        base = alt.Chart(matrix).encode(
            x=alt.X(
                "frame:N",
                sort=order,
                title=None,
                axis=alt.Axis(labelAngle=-35, orient="top", labelLimit=160, labelOverlap=False),
            ),
            y=alt.Y(
                "row:N", sort=rows, title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)
            ),
        )
        heat = base.mark_rect(stroke="white").encode(
            color=alt.Color("share:Q", title="Share", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                            legend=alt.Legend(format="%")),
            opacity=alt.condition(cell, alt.value(1.0), alt.value(0.5)),
            tooltip=[alt.Tooltip("group:N", title=group_title), "outlet:N", "frame:N",
                     alt.Tooltip("share:Q", format=".0%"), alt.Tooltip("articles:Q", title="articles"),
                     alt.Tooltip("evidence:N", title="strongest sentence")],
        ).add_params(cell)  # fmt: skip
        text = base.mark_text(fontSize=11).encode(
            text="label:N",
            color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#222")),
        )
        height = 26 * len(rows)
        event = st.altair_chart(
            (heat + text).properties(height=height), width="stretch", height=height + 140,
            on_select="rerun", key="heatmap",
        )  # fmt: skip
        picked = (event or {}).get("selection", {}).get("cell") or []
        st.caption(
            "Each row is an outlet's sentences, adding up to 100% with those that frame "
            "nothing. Hover a cell for its strongest sentence; click it to read all of them."
        )
        if picked and picked[0].get("outlet"):
            o, f = picked[0]["outlet"], picked[0]["frame"]
            st.markdown(f"**{safe(o)} · {safe(f)}**")
            for _, r in cq.cell_evidence(con, sid, codebook, o, f).iterrows():
                st.markdown(
                    f"> {safe(r['sentence'])}  \n*{safe(r['article'])} · score {r['score']:.2f}*"
                )
        table = matrix[matrix["evidence"] != ""][
            ["group", "outlet", "frame", "share", "language", "evidence"]
        ]
        st.dataframe(
            table.sort_values(["group", "outlet", "share"], ascending=[True, True, False]),
            hide_index=True, width="stretch", key="evidence_table",
            column_config={"share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
                           "group": st.column_config.TextColumn(group_title)},
        )  # fmt: skip
    left, right = st.columns(2)
    cov = cq.group_coverage_by_day(con, sid, by)
    left.subheader(f"Coverage per day by {group_title}")
    if not cov.empty:
        cov["date"] = pd.to_datetime(cov["day"]).dt.strftime("%d %b")
        days = list(dict.fromkeys(cov["date"]))
        left.altair_chart(alt.Chart(cov).mark_bar().encode(
            x=alt.X("date:O", sort=days, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(articles):Q", axis=integer_axis("Articles")),
            color=alt.Color("group:N", title=group_title),
            tooltip=["date:O", alt.Tooltip("group:N", title=group_title), "articles:Q"],
        ), width="stretch")  # fmt: skip
    right.subheader(f"Frame shares by {group_title}")
    if by is None:
        right.caption("Give outlets attributes to compare groups.")
        return
    found = find_splits(con, by, codebook, compare_settings(), story=sid, limit=1)
    if not found:
        right.caption(f"Only one {by} value has framed articles in this story.")
        return
    group_shares_chart(found[0], list(labels), right, labels, verdict=False)
    right.caption(f"Frames from the codebook {safe(codebook)}.")


def group_shares_chart(
    s: Split, order: list[str], where, labels: dict[str, str] | None = None, verdict: bool = True
) -> None:
    """Each group's frame shares side by side, the divergence, each group's evidence."""
    labels = labels or {}
    data = pd.DataFrame(
        [(f"{v} ({s.articles[v]})", labels.get(f, f), share, s.articles[v], *s.intervals[v].get(f, (0.0, 0.0)))
         for v, g in s.groups.items() for f, share in g.items()],
        columns=["group", "frame", "share", "articles", "low", "high"],
    )  # fmt: skip
    lo, hi = s.divergence_interval
    # Whether a split holds up depends on every story compared (the FDR), so the verdict
    # is given where the family is known: the Framing splits page, not one story's page.
    said = (("holds up against chance" if s.holds_up else
             "does not hold up against chance: groups this small often differ this much")
            if verdict else "whether it holds up against chance depends on every story compared: "
            "see the Framing splits page")  # fmt: skip
    where.caption(
        f"Divergence {s.divergence_shrunk:.2f} (90% interval {lo:.2f}–{hi:.2f}; Jensen-Shannon, "
        f"0 = same framing, 1 = nothing in common; {s.divergence:.2f} before shrinking small "
        f"groups towards the story's framing), largest between {safe(s.pair[0])} and "
        f"{safe(s.pair[1])}; permutation p = {s.p_value:.3g}"
        + (f", q = {s.q_value:.3g}" if verdict else "")
        + f": {said}. "
        "Shares are parts of each group's framed sentences, sentences that frame nothing left "
        "out, so they can be higher than the outlets' cells above (group's article count in "
        "brackets), with 90% intervals."
    )
    height = 12 * len(s.groups) * data["frame"].nunique() + 20
    y = alt.Y("frame:N", sort=[labels.get(f, f) for f in order] or None, title=None,
              axis=alt.Axis(labelLimit=220))  # fmt: skip
    tips = ["group:N", "frame:N", alt.Tooltip("share:Q", format=".0%"), "articles:Q",
            alt.Tooltip("low:Q", format=".0%", title="90% low"), alt.Tooltip("high:Q", format=".0%", title="90% high")]  # fmt: skip
    bars = alt.Chart(data).mark_bar().encode(
        y=y, x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of the group's framing"),
        yOffset="group:N", color=alt.Color("group:N", title="Group"), tooltip=tips)  # fmt: skip
    whiskers = alt.Chart(data).mark_rule(color="#333").encode(
        y=y, x="low:Q", x2="high:Q", yOffset="group:N", tooltip=tips)  # fmt: skip
    where.altair_chart((bars + whiskers).properties(height=height), width="stretch",
                       height=height + 60)  # fmt: skip
    for v, evs in s.evidence.items():
        for e in evs:
            where.markdown(
                f"**{safe(v)}** · {safe(labels.get(e.frame, e.frame))} · {safe(e.outlet)}  \n"
                f"> {safe(e.sentence)}"
            )


# -- Frame trends ---------------------------------------------------------------------------
def frame_trends_chart(data: pd.DataFrame, colour: alt.Color) -> None:
    """Weekly mean shares with their 90% intervals (a band), and the table behind them."""
    data = cq.with_share_intervals(data)
    data["week_start"] = pd.to_datetime(data["period_start"])
    # On a time axis, so weeks without framed articles leave their gap instead of closing up.
    # Ticks on the weeks' Mondays (Vega's own weekly ticks fall on Sundays).
    mondays = [alt.DateTime(year=d.year, month=d.month, date=d.day)
               for d in sorted(data["week_start"].dt.date.unique())]  # fmt: skip
    x = alt.X("week_start:T", title="Week (Monday)",
              axis=alt.Axis(format="%d %b %Y", values=mondays))  # fmt: skip
    tips = ["week:O", "frame:N", alt.Tooltip("share:Q", format=".0%"), "articles:Q",
            alt.Tooltip("low:Q", format=".0%", title="90% low"), alt.Tooltip("high:Q", format=".0%", title="90% high")]  # fmt: skip
    band = alt.Chart(data).mark_area(opacity=0.15).encode(x=x, y="low:Q", y2="high:Q", color=colour)
    line = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="Mean share (90% interval)"),
        color=colour, tooltip=tips)  # fmt: skip
    st.altair_chart(band + line, width="stretch")
    st.caption("Bands: 90% Jeffreys intervals, each framed article of the week one trial; "
               "a week with few articles has a wide band.")  # fmt: skip
    table = data.assign(cell=[f"{s:.0%} ({lo:.0%}–{hi:.0%}, n={n})" for s, lo, hi, n in
                              zip(data["share"], data["low"], data["high"], data["articles"], strict=True)])  # fmt: skip
    st.dataframe(table.pivot_table(index="week", columns="frame", values="cell", aggfunc="first"),
                 width="stretch", key="trends_table")  # fmt: skip


# -- Blind spots ------------------------------------------------------------------------
def _in_languages(languages: list[str] | None) -> str:
    return (
        f" Articles in {safe(', '.join(languages))} only (the sidebar's Languages)."
        if languages
        else ""
    )


def blind_spots_page(
    con, by: str | None, start: date, end: date, languages: list[str] | None = None
) -> None:
    st.title("Blind spots")
    if by is None:
        _no_attributes()
        return
    cfg = compare_settings()
    every = find_blind_spots(con, by, cfg, start, end, languages=languages)
    show_all = show_all_toggle("Show candidates that do not hold up against chance", "all_spots")
    spots = every if show_all else [s for s in every if s.holds_up]
    st.caption(
        f"Stories between {start} and {end} with at least {cfg.min_articles} articles from "
        f"outlets with a {safe(by)}, that one value (almost) missed: at least {cfg.dominance:.0%} "
        f"of the story's articles come from other values, and that value's share of it is at "
        f"most {cfg.relative_share:.0%} of its share of the other stories within "
        f"{cfg.window_days:g} days, where its outlets kept writing. A blind spot holds up when "
        f"so few of the story's outlets having that value would be rare if values were shuffled "
        f"across the outlets writing at the time (false-discovery rate {cfg.false_discovery_rate:.0%}): "
        f"{sum(s.holds_up for s in every)} of {len(every)} do." + _in_languages(languages)
    )
    if not spots:
        st.info(f"No blind spot by {by} in this period holds up against chance"
                + (f" ({len(every)} candidates; show them with the switch above)." if every else "."))  # fmt: skip
        return
    per_value = pd.DataFrame(list(missing_counts(spots).items()), columns=["missing", "stories"])
    height = 34 * len(per_value)
    held = all(s.holds_up for s in spots)
    st.altair_chart(alt.Chart(per_value).mark_bar().encode(
        y=alt.Y("missing:N", sort="-x", title=f"Missed by ({by})"),
        x=alt.X("stories:Q", axis=integer_axis(
            "Blind spots" if held else "Candidates, holding up against chance or not")),
        tooltip=["missing:N", "stories:Q"],
    ).properties(height=height), width="stretch", height=height + 60)  # fmt: skip
    for s in spots[:15]:
        covered = ", ".join(f"{safe(v)} {n}" for v, n in s.covered_by.items())
        gaps = "; ".join(f"{safe(v)}: {s.gaps[v].articles} of {s.articles} articles "
                         f"({_iv(s.gaps[v].share_interval)}), usually {s.gaps[v].usual_share:.0%}, "
                         f"q = {s.gaps[v].q_value:.2g}" for v in s.missing)  # fmt: skip
        st.markdown(
            f"**{_story_link(s.story_id, s.headline or s.label, by)}** — covered by {covered}; "
            f"missed by **{safe(', '.join(s.missing))}** ({gaps})"
        )
    table = pd.DataFrame([
        {"story": s.story_id, "headline": s.headline, "articles": s.articles,
         "covered by": ", ".join(f"{v} {n}" for v, n in s.covered_by.items()),
         "missing": ", ".join(s.missing),
         "share (90%)": "; ".join(_iv(s.gaps[v].share_interval) for v in s.missing),
         "usual share": "; ".join(f"{s.gaps[v].usual_share:.0%}" for v in s.missing),
         "q": min(s.gaps[v].q_value for v in s.missing), "holds up": s.holds_up,
         "first day": s.first_day, "last day": s.last_day}
        for s in spots
    ])  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch", key="blind_spots_table",
                 column_config={"story": st.column_config.NumberColumn("Story", format="%d")})  # fmt: skip


# -- Framing splits -------------------------------------------------------------------------
def splits_page(
    con, by: str | None, codebook: str, start: date, end: date, labels: dict[str, str],
    wanted_story: str | None, languages: list[str] | None = None,
) -> None:  # fmt: skip
    st.title("Framing splits")
    if by is None:
        _no_attributes()
        return
    cfg = compare_settings()
    wanted_min = params_int(st.query_params.get("min_group"), cfg.min_group_articles)
    least = st.number_input("Framed articles each group needs", min_value=1, max_value=50,
                            value=wanted_min, key="min_group")  # fmt: skip
    st.query_params["min_group"] = str(least)
    cfg = dataclasses.replace(cfg, min_group_articles=int(least))
    show_all = show_all_toggle("Show every story, also splits that do not hold up", "all_splits")
    try:
        every = find_splits(con, by, codebook, cfg, start, end, limit=None,
                            evidence_per_group=0, languages=languages)  # fmt: skip
    except InputError as exc:  # the codebook has framed nothing yet (no analysis)
        st.info(str(exc))
        return
    found = [s for s in every if show_all or s.holds_up][:50]
    add_evidence(con, found, by, codebook, start, end, languages=languages)
    codebook_caption(con, codebook)
    st.caption(f"Stories between {start} and {end} covered by two or more values of "
               f"{safe(by)}, most divergent framing first. Small groups are shrunk towards the "
               f"story's framing ({cfg.prior_articles:g} articles' worth), and a split holds up "
               f"when shuffling the values across the story's outlets rarely divides it as much "
               f"(false-discovery rate {cfg.false_discovery_rate:.0%}): "
               f"{sum(s.holds_up for s in every)} of {len(every)} stories."
               + _in_languages(languages))  # fmt: skip
    if not found:
        st.info(f"No framing split by {by} in this period holds up against chance"
                + (f" ({len(every)} stories compared; show them with the switch above)." if every else "."))  # fmt: skip
        return

    def mix(g: dict[str, float]) -> str:
        top = sorted(g.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        return ", ".join(f"{labels.get(f, f)} {v:.0%}" for f, v in top)

    table = pd.DataFrame([
        {"story": s.story_id, "headline": s.headline, "divergence": round(s.divergence_shrunk, 3),
         "90% interval": f"{s.divergence_interval[0]:.2f}–{s.divergence_interval[1]:.2f}",
         "raw": round(s.divergence, 3), "q": s.q_value, "holds up": s.holds_up,
         "groups": " | ".join(f"{v} ({s.articles[v]}): {mix(g)}" for v, g in s.groups.items())}
        for s in found
    ])  # fmt: skip
    st.dataframe(table, hide_index=True, width="stretch", key="splits_table",
                 column_config={"story": st.column_config.NumberColumn("Story", format="%d"),
                                "divergence": st.column_config.ProgressColumn("Divergence", min_value=0, max_value=1, format="%.2f")})  # fmt: skip
    ids = [s.story_id for s in found]
    index = ids.index(int_param(wanted_story)) if int_param(wanted_story) in ids else 0
    heads = {s.story_id: f"{s.story_id} · {s.divergence_shrunk:.2f} · {s.headline}" for s in found}
    sid = st.selectbox("Story", ids, index=index, format_func=heads.get, key="split_story")
    st.query_params["story"] = str(sid)
    chosen = next(s for s in found if s.story_id == sid)
    st.markdown(f"### {_story_link(sid, chosen.headline or chosen.label, by)}")
    group_shares_chart(chosen, list(labels), st, labels)
