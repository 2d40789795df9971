"""The journalists' dashboard (Streamlit): coverage and framing of stories at a glance.

Started by ``framewatch dashboard``; reads the store's read-only snapshot (path in
FRAMEWATCH_DB), so it never blocks the crawler. Feed text is untrusted: it is only
shown through data frames, charts and escaped Markdown, never as raw HTML.
"""

from __future__ import annotations

import os
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from framewatch.analysis.stories.read import resolve_story, story_header
from framewatch.dashboards import compare_pages as cp
from framewatch.dashboards import languages as lg
from framewatch.dashboards import queries as q
from framewatch.dashboards import search_page as sp
from framewatch.dashboards.auth import LOGOUT, visitor
from framewatch.dashboards.markup import http_only, safe
from framewatch.dashboards.url_state import (
    bad_date,
    date_param,
    int_param,
    out_of_range,
    page_from_param,
    page_link,
    unknown_page,
    write_params,
)
from framewatch.store import StoreError, connect

PAGES = ["Overview", "Story", "Outlets", "Blind spots", "Framing splits", "Frame trends", "SQL"]
PAGES.insert(1, "Search")


st.set_page_config(page_title="framewatch", layout="wide")
who = visitor(st.context.headers)  # set by the sign-in gate (dashboards/auth.py)
if not who.admin:
    PAGES.remove("SQL")  # visitors' SQL and its CSV export are for admins only
db = os.environ.get("FRAMEWATCH_DB", "framewatch.duckdb")
try:
    con = connect(db, sandbox=True)  # the SQL page runs visitors' SQL: no files, no network
except StoreError as exc:
    st.title("framewatch")
    st.error(str(exc))
    st.stop()
sp.register_sql(con, db)  # search('query') in SQL, as in `framewatch sql`

st.sidebar.title("framewatch")
if who.name is not None:
    st.sidebar.caption(f"Signed in as {safe(who.name)}" + (" (admin)" if who.admin else ""))
    if os.environ.get("FRAMEWATCH_AUTH") == "password":  # behind a proxy, the proxy signs out
        st.sidebar.markdown(f"[Sign out]({LOGOUT})")
params = st.query_params
page = st.sidebar.radio(
    "Page", PAGES, index=PAGES.index(page_from_param(params.get("page"), PAGES)), key="page"
)
if unknown_page(params.get("page"), PAGES):
    asked = params["page"]
    admins_only = "SQL" not in PAGES and not unknown_page(asked, [*PAGES, "SQL"])
    why = "The SQL page is for admins" if admins_only else f"No page {safe(asked)} here"
    st.sidebar.warning(f"{why}; showing the {page}.")
lo, hi = q.bounds(con)
if lo is None:
    st.title(page)
    st.info("The store has no articles yet. Run `framewatch fetch` (or `framewatch demo`) first.")
    st.stop()
latest = q.latest_dated_day(con) or hi  # the default period ends there
period = st.sidebar.date_input(
    "Period",
    value=(date_param(params.get("from"), lo, hi) or max(lo, latest - timedelta(days=27)),
           date_param(params.get("to"), lo, hi) or latest),
    min_value=lo, max_value=hi, key="period",
)  # fmt: skip
start, end = (period[0], period[1]) if isinstance(period, tuple) and len(period) == 2 else (lo, hi)
outside = [v for v in (params.get("from"), params.get("to")) if out_of_range(v, lo, hi)]
if outside:  # a link's dates beyond the store's days are moved inside them: say so
    what = (
        "date " + outside[0] + " was"
        if len(outside) == 1
        else "dates " + " and ".join(outside) + " were"
    )
    st.sidebar.warning(f"The store holds {lo} – {hi}; the link's {what} moved into that range.")
for v in (params.get("from"), params.get("to")):
    if bad_date(v):
        st.sidebar.warning(f"The link's {safe(v)} is not a date (YYYY-MM-DD); it was left out.")
all_outlets = q.outlets(con)
chosen = st.sidebar.multiselect(
    "Outlets", all_outlets, default=[o for o in params.get_all("outlet") if o in all_outlets],
    key="outlets",
)  # fmt: skip
books = q.codebooks(con) or ["geopolitics-tech"]
codebook = st.sidebar.selectbox(
    "Codebook", books, index=books.index(params["codebook"]) if params.get("codebook") in books else 0,
    key="codebook",
)  # fmt: skip
# A link's outlet or codebook the store lacks (a typo, a renamed outlet) is named, not
# dropped unseen: the page would otherwise show other numbers than the link's author saw.
unknown_outlets = [o for o in params.get_all("outlet") if o not in all_outlets]
if unknown_outlets:
    st.sidebar.warning(f"The store has no outlet {safe(', '.join(unknown_outlets))}: the "
                       "link's outlet filter leaves it out.")  # fmt: skip
if params.get("codebook") and params["codebook"] not in books:
    st.sidebar.warning(f"The store has no codebook {safe(params['codebook'])}; showing "
                       f"{safe(codebook)}.")  # fmt: skip
topic_names = dict(q.topics(con))
topic_ids = [None, *topic_names]
wanted_topic = next((t for t in topic_names if t == q.linked_topic(con, params.get("topic"))), None)
topic = st.sidebar.selectbox(
    "Topic", topic_ids, index=topic_ids.index(wanted_topic),
    format_func=lambda t: "All topics" if t is None else topic_names[t], key="topic",
)  # fmt: skip
by = cp.attribute_picker(con, params.get("by"))
picked_languages = lg.language_picker(con, params.get_all("language"))
lg.warn_missing(con, params.get_all("language"))
write_params(
    params, page=page, **{"from": start, "to": end}, outlet=chosen, codebook=codebook, by=by,
    topic=topic, language=picked_languages,
)  # fmt: skip
labels = q.frame_labels(con, codebook)
order = list(labels.values())
if page not in ("Search", "SQL") and not q.has_stories(con):
    st.title(page)
    st.info("The articles are not analysed yet: run `framewatch analyze` to group them into "
            "stories and frame them. The Search page reads them already.")  # fmt: skip
    st.stop()


_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#499894",
            "#86bcb6", "#d37295", "#fabfd2", "#d4a6c8"]  # fmt: skip


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def frame_colour() -> alt.Color:
    """The codebook's frames in order, then "No frame" in grey."""
    domain = [*order, q.NO_FRAME]
    colours = [_PALETTE[i % len(_PALETTE)] for i in range(len(order))] + ["#d9d9d9"]
    return alt.Color(
        "frame:N", sort=domain, scale=alt.Scale(domain=domain, range=colours), title="Frame"
    )


# -- pages --------------------------------------------------------------------------
def overview() -> None:
    st.title("Stories by coverage")
    stories = q.top_stories(con, start, end, chosen, topic=topic,
                            only=lg.stories_in(con, picked_languages))  # fmt: skip
    if stories.empty:
        st.info("No stories in this period.")
        return
    total = int(stories["stories_in_period"].iloc[0])
    listed = "" if total <= len(stories) else f"; the {len(stories)} with the most articles below"
    st.caption(f"{total} {'story' if total == 1 else 'stories'} between {start} and {end}{listed}.")
    for _, r in stories.head(10).iterrows():
        st.markdown(
            f"**[{safe(r['label'] or 'story ' + str(r['story']))}]({page_link(params, 'Story', story=int(r['story']))})** — "
            f"{safe(r['headline'])} · {_n(r['articles'], 'article')}, {_n(r['outlets'], 'outlet')}"
        )
    table = stories[
        ["story", "label", "headline", "articles", "outlets", "coverage", "first_day", "last_day"]
    ]
    st.dataframe(
        table, hide_index=True, width="stretch", key="stories_table",
        column_config={
            "coverage": st.column_config.BarChartColumn("Coverage by day"),
            "story": st.column_config.NumberColumn("Story", format="%d"),
        },
    )  # fmt: skip
    mix = q.story_frame_mix(con, stories["story"].tolist(), codebook, start, end, chosen)
    if not mix.empty:
        names = dict(
            zip(
                stories["story"],
                stories["label"].fillna("") + " (" + stories["story"].astype(str) + ")",
                strict=True,
            )
        )
        mix["story_label"] = mix["story"].map(names)
        chart = alt.Chart(mix).mark_bar().encode(
            y=alt.Y("story_label:N", sort=list(names.values()), title=None),
            x=alt.X("sum(share):Q", stack="normalize", title="Share of sentences", axis=alt.Axis(format="%")),
            color=frame_colour(), order=alt.Order("position:Q"),
            tooltip=["story_label:N", "frame:N", alt.Tooltip("share:Q", format=".0%")],
        )  # fmt: skip
        st.subheader("Frame mix per story")
        cp.codebook_caption(con, codebook)
        st.altair_chart(chart, width="stretch")


def story_page() -> None:
    choices = q.story_choices(con, topic)
    if not choices:
        st.title("Story")
        st.info("No stories yet: run `framewatch analyze`.")
        return
    ids = [c[0] for c in choices]
    wanted = params.get("story")
    number = int_param(wanted)
    number = None if number is None else resolve_story(con, number)
    index = ids.index(number) if number in ids else 0
    if wanted and number not in ids:
        st.warning(f"No story {safe(wanted)} here (a link to another store, or a story that "
                   "was merged away and not redirected); showing the first story instead.")  # fmt: skip
    sid = st.selectbox("Story", ids, index=index, format_func=dict(choices).get, key="story")
    head = story_header(con, sid)
    st.title(head.label or f"Story {sid}")
    st.markdown(f"**{safe(head.headline)}**")
    st.caption(f"{_n(head.size, 'article')} ({head.copies} near-duplicate copies) from {_n(head.outlets, 'outlet')}, "
               f"{head.first_seen:%d %b %Y} – {head.last_seen:%d %b %Y}")  # fmt: skip
    write_params(params, story=sid)
    cp.codebook_caption(con, codebook)
    cp.story_comparison(con, sid, codebook, by, labels)
    lg.show_story_languages(con, sid)
    arts = q.story_articles(con, sid, codebook)
    arts["language"] = arts["article"].map(lg.article_languages(con, arts["article"].tolist()))
    arts = arts[arts["article"].isin(lg.allowed(con, arts["article"].tolist(), picked_languages))]
    st.subheader("Articles")
    if picked_languages:
        st.caption(f"Only the articles in {', '.join(picked_languages)} (the sidebar's Languages); "
                   "the comparison above counts every language.")  # fmt: skip
    arts["link"] = arts["url"].map(http_only)
    arts["shares"] = arts["shares"].map(
        lambda m: ", ".join(
            f"{labels.get(k, k)} {v:.0%}" for k, v in (m or {}).items() if k != "none"
        )
    )
    originals = arts[arts["copy_of"].isna()]
    st.dataframe(
        originals[["time", "outlet", "language", "headline", "link", "primary_frame", "shares"]], hide_index=True,
        width="stretch", key="articles_table",
        column_config={"link": st.column_config.LinkColumn("Original", display_text="open")},
    )  # fmt: skip
    for _, a in originals.iterrows():
        copies = arts[arts["copy_of"] == a["article"]]
        title = f"{a['outlet']} — {a['headline']}" + (
            f" (+{len(copies)} copies)" if len(copies) else ""
        )
        with st.expander(safe(title)):
            ev = q.evidence(con, int(a["article"]), codebook)
            if ev.empty:
                st.write("No sentence matched a frame.")
            for frame, group in ev.groupby("frame", sort=False):
                st.markdown(f"**{safe(frame)}**")
                for _, row in group.iterrows():
                    st.markdown(
                        f"> {safe(row['sentence'])}  \n*{safe(a['language'])} · score {row['score']:.2f}*"
                    )
            for _, c in copies.iterrows():
                st.markdown(f"Copy: {safe(c['outlet'])} — {safe(c['headline'])}")


def outlets_page() -> None:
    st.title("Outlet comparison")
    picked = st.multiselect(
        "Compare outlets", all_outlets, default=chosen or all_outlets[:4], key="compare"
    )
    if len(picked) < 1:
        st.info("Pick at least one outlet.")
        return
    if picked_languages:
        st.caption(
            f"Articles in {safe(', '.join(picked_languages))} only (the sidebar's Languages)."
        )
    mix = q.outlet_mix(con, picked, codebook, start, end, picked_languages)
    if mix.empty:
        st.info("These outlets have no framed articles in this period.")
    else:
        cp.codebook_caption(con, codebook)
        st.altair_chart(alt.Chart(mix).mark_bar().encode(
            y=alt.Y("outlet:N", title=None), x=alt.X("sum(share):Q", stack="normalize", axis=alt.Axis(format="%"), title="Share of sentences"),
            color=frame_colour(), order=alt.Order("position:Q"),
            tooltip=["outlet:N", "frame:N", alt.Tooltip("share:Q", format=".0%", title="share of sentences"),
                     alt.Tooltip("articles:Q", title="articles of the outlet")],
        ), width="stretch")  # fmt: skip
    st.subheader("Stories only one of them covered")
    st.caption(
        "Not the Blind spots page (outlet groups, tested against chance): just the "
        "stories in this period that one of these outlets wrote about and the others did not."
    )
    spots = q.blind_spots(con, picked, start, end, picked_languages)
    if spots.empty:
        st.write("None: every story was covered by at least two of these outlets.")
    else:
        st.dataframe(spots, hide_index=True, width="stretch", key="blind_spots")


def trends_page() -> None:
    st.title("Frame trends")
    # In the URL too (for=outlet&trend_outlet=...), so a shared link shows the same trend.
    modes = {"all": "All outlets", "outlet": "One outlet", "story": "One story"}
    asked = params.get("for") if params.get("for") in modes else "all"
    mode = st.radio("For", list(modes.values()), index=list(modes).index(asked),
                    horizontal=True, key="trend_mode")  # fmt: skip
    outlet = story = None
    if mode == "One outlet":
        wanted = params.get("trend_outlet")
        outlet = st.selectbox("Outlet", all_outlets, key="trend_outlet",
                              index=all_outlets.index(wanted) if wanted in all_outlets else 0)  # fmt: skip
    elif mode == "One story":
        choices = q.story_choices(con)
        ids = [c[0] for c in choices]
        wanted = params.get("trend_story")
        pick = ids.index(int_param(wanted)) if int_param(wanted) in ids else 0
        story = (
            st.selectbox("Story", ids, index=pick, format_func=dict(choices).get, key="trend_story")
            if choices
            else None
        )
    write_params(params, **{"for": next(k for k, v in modes.items() if v == mode)},
                 trend_outlet=outlet, trend_story=story)  # fmt: skip
    data = q.weekly_trends(con, codebook, outlet, story, start, end, picked_languages)
    if data.empty:
        st.info("No framed articles for this selection in this period.")
        return
    cp.codebook_caption(con, codebook)
    st.caption(
        f"Weeks overlapping {start} – {end}"
        + (f", articles in {safe(', '.join(picked_languages))} only" if picked_languages else "")
        + "; the sidebar's outlets and topic do not apply here (pick one outlet or one story above)."
    )
    cp.frame_trends_chart(data, frame_colour())  # with 90% intervals (issue 23)


def sql_page() -> None:
    from framewatch.sql import QueryError, run_query

    if not who.admin:
        st.error("The SQL page is for admins.")
        return
    st.title("SQL (read-only)")
    st.caption(
        "Tables and views are documented in docs/schema.md. Statements that write are refused."
    )
    query = st.text_area(
        "Query",
        "SELECT id, label, size, outlets, headline FROM stories ORDER BY size DESC LIMIT 20",
        key="sql",
    )
    if st.button("Run", key="run_sql"):
        try:
            res = run_query(con, query, float(os.environ.get("FRAMEWATCH_SQL_TIMEOUT", "30")))
        except QueryError as exc:
            st.error(str(exc))
            return
        df = pd.DataFrame(res.rows, columns=res.columns)
        st.dataframe(df, hide_index=True, width="stretch", key="sql_result")
        st.download_button(
            "Download CSV",
            df.to_csv(index=False),
            "framewatch-query.csv",
            "text/csv",
            key="sql_csv",
        )


{
    "Overview": overview,
    "Story": story_page,
    "Outlets": outlets_page,
    "Blind spots": lambda: cp.blind_spots_page(con, by, start, end, picked_languages),
    "Framing splits": lambda: cp.splits_page(
        con, by, codebook, start, end, labels, params.get("story"), picked_languages
    ),
    "Frame trends": trends_page,
    "SQL": sql_page,
    "Search": lambda: sp.search_page(con, db, params, by, codebook),
}[page]()
con.close()
