"""The dashboard's languages: a sidebar filter, a story's coverage by language, and the
language of each evidence sentence (shown as written, never translated)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from framewatch.dashboards.markup import safe
from framewatch.language import UNKNOWN
from framewatch.language_filter import known_languages, sql_condition


def language_picker(con, wanted: list[str]) -> list[str]:
    """The sidebar's "Languages" filter (empty: all); shown only when the store has two."""
    names = known_languages(con)
    if len(names) < 2:
        return []
    return st.sidebar.multiselect(
        "Languages", names, default=[w for w in wanted if w in names], key="languages",
        help="Keeps the Overview to stories with an article in these languages, a story's "
        "Articles table to its articles in them, and the Outlets, Blind spots, Framing splits "
        "and Frame trends pages to the articles in them. Search takes lang:xx in the query; "
        "a story's \"who framed it how\" shows every language, by language.",
    )  # fmt: skip


def story_languages(con, story_id: int) -> pd.DataFrame:
    """Articles (a wire text once) and outlets (each that ran it) of a story per language."""
    return con.execute(
        """SELECT coalesce(a.language, ?) AS language,
                  count(*) FILTER (WHERE x.copy_of IS NULL) AS articles,
                  count(DISTINCT x.outlet) AS outlets,
                  round(avg(a.language_confidence) FILTER (WHERE x.copy_of IS NULL), 2) AS mean_confidence
           FROM article_coverage x JOIN articles a ON a.id = x.article_id
           WHERE x.story_id = ? GROUP BY 1 ORDER BY articles DESC, language""",
        [UNKNOWN, story_id],
    ).df()


def article_languages(con, article_ids: list[int]) -> dict[int, str]:
    return dict(con.execute(
        "SELECT id, coalesce(language, ?) FROM articles WHERE id IN (SELECT unnest(?))",
        [UNKNOWN, article_ids],
    ).fetchall())  # fmt: skip


def show_story_languages(con, story_id: int) -> None:
    """Coverage by language, and which language the label and headline speak."""
    by_lang = story_languages(con, story_id)
    if len(by_lang) < 2:
        return
    st.subheader("Coverage by language")
    st.dataframe(by_lang, hide_index=True, key="story_languages")
    st.caption(
        f"Label and headline are in {safe(str(by_lang.iloc[0]['language']))}, the language "
        "most of the story's articles use; evidence sentences below are shown as written."
    )


def allowed(con, article_ids: list[int], picked: list[str]) -> set[int]:
    """The articles in the picked languages (all of them when none is picked)."""
    if not picked:
        return set(article_ids)
    langs = article_languages(con, article_ids)
    return {a for a in article_ids if langs.get(a) in picked}


def stories_in(con, picked: list[str]) -> set[int] | None:
    """Stories with at least one article in the picked languages (None: no filter)."""
    if not picked:
        return None
    in_languages, language_params = sql_condition("x.language", picked)
    return {r[0] for r in con.execute(
        f"SELECT DISTINCT story_id FROM article_facts x WHERE story_id IS NOT NULL AND {in_languages}",
        language_params,
    ).fetchall()}  # fmt: skip


def warn_missing(con, wanted: list[str]) -> None:
    """Say so when a link names languages the store has no article in: the filter drops them."""
    known = known_languages(con)
    missing = [w for w in wanted if w not in known]
    if missing:
        st.sidebar.warning(
            f"The store has no articles in {safe(', '.join(missing))}: the link's languages "
            "filter leaves them out."
        )
