"""The dashboard's Search page: a query, its attention over time, outlets, frames, articles.

The same engine as ``framewatch search`` and SQL's ``search()`` (one query language, one
ranking). Its state is in the URL (``?page=Search&q=...&interval=week&by=lean``), so a
search can be shared as a link. Titles, outlets and sentences are untrusted: they reach
the page through data frames, Vega charts and escaped Markdown only.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from framewatch.analysis.search.attention import INTERVALS, attention, share_text
from framewatch.analysis.search.engine import Searcher
from framewatch.analysis.search.parser import LONGEST, QueryError
from framewatch.analysis.search.results import hit_rows
from framewatch.dashboards.markup import http_only, safe
from framewatch.dashboards.queries import NO_FRAME, frame_labels
from framewatch.dashboards.url_state import write_params

SHOWN = 50  # articles listed


def register_sql(con, db: str | Path) -> None:
    """``search('query')`` on the SQL page's connection, as in `framewatch sql`."""
    from framewatch.analysis.search.sql_function import register_search_sql

    register_search_sql(con, db)


def search_page(con, db: str | Path, params, by: str | None, codebook: str | None) -> None:
    st.title("Search")
    query = st.text_input(
        "Query",
        params.get("q", ""),
        key="search_q",
        placeholder='e.g. vaccine AND (mandate OR mandates) NOT "booster" lean:right',
        help='Words and "phrases" (whole words, any case or accent), AND, OR, NOT, ( ), '
        '~"meaning", and outlet:, lang:, story:, topic:, frame:, from:, to: or an outlet '
        "attribute (lean:right).",
    )
    interval = st.radio(
        "Per", INTERVALS, index=INTERVALS.index(params.get("interval", "week"))
        if params.get("interval") in INTERVALS else 1, horizontal=True, key="search_interval",
    )  # fmt: skip
    split = st.checkbox(
        f"Split by {by}" if by else "Split by an outlet attribute (none set)",
        value=bool(by) and params.get("split") == "1", disabled=not by, key="search_split",
    )  # fmt: skip
    write_params(params, q=query.strip(), interval=interval, split="1" if split else None)
    if not query.strip():
        st.info("Type a query to see how much coverage it got, from whom, and how it was framed.")
        return
    if len(query) > LONGEST:
        st.error(f"The query is {len(query):,} characters long; the Search page takes up "
                 f"to {LONGEST:,}.")  # fmt: skip
        return
    searcher = Searcher(con, db)
    try:
        matches = searcher.run(query)
        a = attention(searcher, matches, by=by if split else None, interval=interval,
                      codebook=codebook, samples=0)  # fmt: skip
    except QueryError as exc:
        st.error(str(exc))
        return
    for note in matches.notes:
        st.caption(note)
    st.markdown(
        f"**{a.matched}** of {a.total} articles{safe(a.collection_note())} match{a.copies_note()}:"
    )
    st.code(query.strip(), language=None)  # as typed: no Markdown escapes in the way
    st.caption(
        "Search covers the whole store: the sidebar's period, outlets and languages do not "
        'apply; add from:, to:, outlet:"..." or lang:xx to the query.'
    )
    if not a.matched:
        return
    _chart(a)
    left, right = st.columns(2)
    with left:
        st.subheader("Outlets")
        st.dataframe(
            _with_interval(pd.DataFrame(a.outlets)), hide_index=True, width="stretch",
            key="search_outlets",
            column_config={"share": st.column_config.TextColumn(
                "share (90% interval)", help="of the outlet's articles")},
        )  # fmt: skip
        st.subheader("Words")
        st.dataframe(pd.DataFrame(a.words), hide_index=True, width="stretch", key="search_words")
    with right:
        st.subheader("Primary frames" + (f" ({a.frames[0]['codebook']})" if a.frames else ""))
        if a.frames:
            frames = pd.DataFrame(a.frames)
            names = {**frame_labels(con, a.frames[0]["codebook"]), "none": NO_FRAME}
            frames["frame"] = frames["frame"].map(lambda f: names.get(f, f))
            y = alt.Y(
                "frame:N", sort=alt.EncodingSortField("share", order="descending"), title=None
            )
            tips = ["frame:N", "articles:Q", *(alt.Tooltip(f"{c}:Q", format=".0%", title=t)
                    for c, t in (("share", "share"), ("lo", "90% from"), ("hi", "90% to")))]  # fmt: skip
            base = alt.Chart(frames)
            st.altair_chart(
                base.mark_bar().encode(
                    y=y, x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of framed matches"),
                    tooltip=tips,
                )
                + base.mark_rule(color="black").encode(y=y, x="lo:Q", x2="hi:Q", tooltip=tips),
                width="stretch",
            )  # fmt: skip
            st.caption("Black lines: 90% intervals of each share.")
        else:
            st.write("No matching article is framed yet.")
    st.subheader("Articles")
    rows = pd.DataFrame(hit_rows(con, matches, SHOWN))
    rows["link"] = rows["url"].map(http_only)
    st.dataframe(
        rows[["rank", "score", "published_at", "outlet", "language", "headline", "link", "id", "copy_of"]],
        hide_index=True,
        width="stretch", key="search_articles",
        column_config={"link": st.column_config.LinkColumn("Original", display_text="open")},
    )  # fmt: skip
    if len(matches) > SHOWN:
        st.caption(f"The first {SHOWN} of {len(matches)}; `framewatch search --csv` lists all.")


def _with_interval(df: pd.DataFrame) -> pd.DataFrame:
    """Share and its interval in one narrow column ("33% (10%-64%)"), so it fits in half a page."""
    df["share"] = [share_text(r, ".0%") for r in df.to_dict("records")]
    return df.drop(columns=["lo", "hi"])


def _chart(a) -> None:
    data = pd.DataFrame(a.series)
    data["period"] = pd.to_datetime(data["period"])
    if a.by:  # a group the query never matched would only draw a wide band at zero
        hit = data.groupby("group")["matched"].transform("sum") > 0
        data = data[hit]
    measure = st.radio(
        "Show", ["share of all articles", "articles"], horizontal=True, key="search_measure"
    )
    share = measure.startswith("share")
    enc = {
        "x": alt.X("period:T", title=a.interval),
        "tooltip": ["period:T", "group:N", "matched:Q", "total:Q",
                    *(alt.Tooltip(f"{c}:Q", format=".1%", title=t)
                      for c, t in (("share", "share"), ("lo", "90% from"), ("hi", "90% to")))],
    }  # fmt: skip
    if a.by:
        enc["color"] = alt.Color("group:N", title=a.by)
    line = alt.Chart(data).mark_line(point=True).encode(
        y=alt.Y("share:Q" if share else "matched:Q", title=measure,
                axis=alt.Axis(format="%") if share else None), **enc,
    )  # fmt: skip
    st.subheader("Attention over time")
    if share:  # a quiet week's share is unsure: its 90% interval is drawn as a band
        band = alt.Chart(data).mark_area(opacity=0.15).encode(y="lo:Q", y2="hi:Q", **enc)
        st.altair_chart(band + line, width="stretch")
        st.caption("Shaded: each share's 90% interval; a week with few articles says little.")
    else:
        st.altair_chart(line, width="stretch")
