"""Watches: saved queries over stories, reported when something new matches.

A watch matches an article that matches its query (the search language of
``framewatch search``: whole words, phrases, AND/OR/NOT, restrictions, ~"meaning"),
comes from its outlet group (``attribute = value``) and has its frame as primary frame,
each when given. Watches saved before the query language hold their words as a query of
those words (migration 011). A story matches when one of its articles does. With ``split_by`` a
watch also reports a matched story whose groups frame it apart (divergence at least
``compare.split_threshold``) and holds up against chance as the Splits page's do
(permutation test of outlet labels within the story, ``compare.false_discovery_rate``):
one article a side is never reported as a split.

``framewatch watch check`` records what it reported in ``watch_reports``, so a match is
reported once. The digest reads a snapshot and cannot write: it reports the matches
whose first matching article falls in its week, and the splits that crossed the
threshold that week, which also reports each one once. It also reports each watch's
attention that week against the week before (matches, and their share of all articles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from framewatch.analysis.intervals import LEVEL
from framewatch.analysis.search.attention import collection_of
from framewatch.analysis.search.engine import Embed, Searcher
from framewatch.analysis.search.parser import parse
from framewatch.analysis.search.results import matched_table
from framewatch.config import CompareSettings
from framewatch.errors import InputError
from framewatch.language_filter import sql_condition
from framewatch.outlets import require_attribute
from framewatch.store import Store, utcnow


class WatchError(InputError):
    """A watch that cannot be added or found."""


@dataclass
class Watch:
    id: int
    name: str
    words: list[str]
    attribute: str | None
    value: str | None
    frame_id: str | None
    codebook_id: str | None
    split_by: str | None
    query: str | None = None

    def describe(self) -> str:
        parts = []
        if self.query:
            parts.append("query: " + self.query)
        if self.attribute:
            parts.append(f"group: {self.attribute}={self.value}")
        if self.frame_id:
            parts.append(f"frame: {self.frame_id} ({self.codebook_id})")
        if self.split_by:
            parts.append(f"splits by {self.split_by}")
        return "; ".join(parts)


@dataclass
class Report:
    watch: str
    kind: str  # match | split
    story_id: int
    headline: str
    detail: str


@dataclass
class WatchAttention:
    """A watch's matching articles in a week and the week before, and their shares of all.

    A change in share says whether it holds up: Fisher's exact test of the two weeks'
    matches against their articles, at the 10% level every framewatch interval uses. In a
    quiet store +100% is often one article against none.
    """

    watch: str
    articles: int
    share: float
    articles_before: int
    share_before: float
    total: int = 0  # articles of the week in the watch's collection
    total_before: int = 0
    collection: str = ""  # "" for all articles, else e.g. "lean=right, lang:de"

    @property
    def p_value(self) -> float:
        """Two-sided p of "the share did not change" (1.0 when a week has no articles)."""
        if not (self.total and self.total_before):
            return 1.0
        from scipy.stats import fisher_exact

        table = [[self.articles, self.total - self.articles],
                 [self.articles_before, self.total_before - self.articles_before]]  # fmt: skip
        return float(fisher_exact(table).pvalue)

    @property
    def holds_up(self) -> bool:
        return self.p_value < 1 - LEVEL

    def describe(self) -> str:
        change = (
            f"{self.share / self.share_before - 1:+.0%}" if self.share_before else
            ("new" if self.share else "none either week")
        )  # fmt: skip
        sure = (
            "" if not (self.total and self.total_before)  # no week to compare with
            else f", p = {self.p_value:.2g}" if self.holds_up
            else f", within chance: p = {self.p_value:.2g}"
        )  # fmt: skip
        return (
            f"{self.articles} article(s), {self.share:.1%} of all"
            f"{' in ' + self.collection if self.collection else ''} (week before: "
            f"{self.articles_before}, {self.share_before:.1%}; change {change}{sure})"
        )


_COLUMNS = "id, name, words, attribute, value, frame_id, codebook_id, split_by, query"


def add_watch(
    store: Store, name: str, *, query: str | None = None, group: str | None = None,
    frame: str | None = None, codebook: str = "geopolitics-tech", split_by: str | None = None,
) -> Watch:  # fmt: skip
    """Save a watch; its query is parsed now, so a malformed one is refused here."""
    name = " ".join((name or "").split())
    if not name:
        raise WatchError("a watch needs a name")
    query = " ".join((query or "").split()) or None
    if query:
        parse(query)  # refused now if malformed; kept as typed, for the user to read
    attribute = value = None
    if group is not None:
        if "=" not in group or not group.split("=", 1)[0].strip() or not group.split("=", 1)[1]:
            raise WatchError(f"--group must be ATTRIBUTE=VALUE, got {group!r}")
        attribute, value = (p.strip() for p in group.split("=", 1))
    if frame is not None:
        known = store.execute(
            "SELECT 1 FROM frames WHERE codebook_id = ? AND frame_id = ?", [codebook, frame]
        ).fetchone()
        if not known:
            raise WatchError(f"codebook {codebook!r} has no frame {frame!r}")
    if not (query or attribute or frame):
        raise WatchError("a watch needs a query, --group or --frame")
    # An attribute no outlet has would never match (search refuses it the same way).
    attribute = require_attribute(store.con, attribute) if attribute else None
    split_by = require_attribute(store.con, split_by) if split_by else None
    if store.execute("SELECT 1 FROM watches WHERE name = ?", [name]).fetchone():
        raise WatchError(f"a watch named {name!r} exists; remove it first")
    split_by = split_by or attribute
    row = store.execute(
        f"""INSERT INTO watches (name, words, attribute, value, frame_id, codebook_id, split_by, created_at, query)
            VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}""",
        [name, attribute, value, frame, codebook, split_by, utcnow(), query],
    ).fetchone()
    return Watch(*row)


def watch_notes(con, w: Watch) -> list[str]:
    """Slips in a saved watch, said as search says them (a lower-case "or", an outlet or
    group value no outlet has): a watch that can never match is worth a word now, not
    a silent digest every week."""
    from framewatch.analysis.search.hints import query_hints

    notes = query_hints(con, w.query, parse(w.query), None) if w.query else []
    if w.attribute and w.value and '"' not in w.value:
        group = f'{w.attribute}:"{w.value}"'
        notes += [f"--group: {n}" for n in query_hints(con, group, parse(group), None)]
    return notes


def list_watches(con) -> list[Watch]:
    return [
        Watch(*r) for r in con.execute(f"SELECT {_COLUMNS} FROM watches ORDER BY id").fetchall()
    ]


def remove_watch(store: Store, key: str) -> Watch:
    for w in list_watches(store.con):
        if key in (str(w.id), w.name):
            store.execute("DELETE FROM watch_reports WHERE watch_id = ?", [w.id])
            store.execute("DELETE FROM watches WHERE id = ?", [w.id])
            return w
    raise WatchError(f"no watch {key!r}")


def _conditions(w: Watch, languages: list[str] | None = None) -> tuple[list[str], list]:
    """SQL (over ``x``, article_coverage or article_facts) for a watch's group and frame (and a desk's languages)."""
    sql: list[str] = []
    params: list = []
    if languages:
        in_languages, language_params = sql_condition("x.language", languages)
        sql.append(f"AND {in_languages}")
        params += language_params
    group, group_params = _group_condition(w)
    sql += group
    params += group_params
    if w.frame_id:
        sql.append(
            "AND x.article_id IN (SELECT article_id FROM article_framing WHERE codebook_id = ? AND primary_frame = ?)"
        )
        params += [w.codebook_id, w.frame_id]
    return sql, params


def _group_condition(w: Watch) -> tuple[list[str], list]:
    """SQL (over ``x``) for a watch's outlet group, if it has one."""
    if not w.attribute:
        return [], []
    return [
        "AND x.article_id IN (SELECT article_id FROM article_attributes WHERE attribute = ? AND value = ?)"
    ], [w.attribute, w.value]


def _query_ids(con, w: Watch, embed: Embed | None, model: str | None, catch_up: bool = True):
    if not w.query:
        return None
    return Searcher(con, None, model=model, embed=embed, catch_up=catch_up).run(w.query).ids


def matching_stories(
    con, w: Watch, until: date | None = None, *, embed: Embed | None = None,
    model: str | None = None, catch_up: bool = True, languages: list[str] | None = None,
) -> dict[int, tuple[str, date, int]]:  # fmt: skip
    """story id -> (headline, day of its first matching article, matching articles);
    ``languages``: the matching articles in those languages only."""
    sql = [
        """SELECT x.story_id, any_value(coalesce(s.headline, '')), min(x.day), count(*)
           FROM article_coverage x JOIN stories s ON s.id = x.story_id
           WHERE (?::DATE IS NULL OR x.day <= ?::DATE) AND NOT x.outlet_repeat"""
    ]
    params: list = [until, until]
    more, more_params = _conditions(w, languages)
    ids = _query_ids(con, w, embed, model, catch_up)
    tail = " ".join(sql + more) + " GROUP BY x.story_id ORDER BY x.story_id"
    if ids is None:
        rows = con.execute(tail, params + more_params).fetchall()
    else:
        with matched_table(con, ids, "watch_matched") as t:
            rows = con.execute(
                tail.replace("WHERE (", f"WHERE x.article_id IN (SELECT id FROM {t}) AND (", 1),
                params + more_params,
            ).fetchall()
    return {sid: (h, d, n) for sid, h, d, n in rows}


def week_attention(
    con, week_start: date, *, embed: Embed | None = None, model: str | None = None,
    languages: list[str] | None = None,
) -> list[WatchAttention]:  # fmt: skip
    """Each watch's matches in the week starting ``week_start`` and in the week before.

    Watches with no match in either week are left out: the digest reports changes.
    Counted as ``framewatch attention`` counts: every article, an outlet's copy of
    another's text included, and a share of the collection the watch searches (its
    outlet group, and its query's outlets, languages and dates: ``lang:de AND ki`` is a
    share of German articles). ``languages`` (a desk's): those languages only.
    """
    out = []
    in_languages, language_params = sql_condition("x.language", languages)
    for w in list_watches(con):
        more, more_params = _conditions(w)
        group, group_params = _group_condition(w)
        ids = scope = named = None
        if w.query:  # one reader for the query and its collection
            searcher = Searcher(con, None, model=model, embed=embed)
            matches = searcher.run(w.query)
            ids = matches.ids
            named, scope = collection_of(searcher, matches)
        sql = f"""SELECT
                    count(*) FILTER (WHERE x.week_start = ?::DATE AND {{hit}}),
                    count(*) FILTER (WHERE x.week_start = ?::DATE),
                    count(*) FILTER (WHERE x.week_start = ?::DATE - 7 AND {{hit}}),
                    count(*) FILTER (WHERE x.week_start = ?::DATE - 7)
                  FROM article_coverage x WHERE {in_languages} {" ".join(group)} {{within}}"""
        cond = " AND ".join(["TRUE", *(c.removeprefix("AND ") for c in more)])
        params = [week_start, *more_params, week_start, week_start, *more_params, week_start,
                  *language_params, *group_params]  # fmt: skip
        empty = np.zeros(0, dtype=np.int64)
        with (
            matched_table(con, empty if ids is None else ids, "watch_matched") as t,
            matched_table(con, empty if scope is None else scope, "watch_collection") as c,
        ):
            hit = cond if ids is None else f"x.article_id IN (SELECT id FROM {t}) AND {cond}"
            within = "" if scope is None else f"AND x.article_id IN (SELECT id FROM {c})"
            row = con.execute(sql.format(hit=hit, within=within), params).fetchall()[0]
        n, total, n0, total0 = row
        if not (n or n0):
            continue  # nothing either week: no news
        parts = [p for p in (w.attribute and f"{w.attribute}={w.value}", named) if p]
        out.append(WatchAttention(w.name, n, n / total if total else 0.0, n0,
                                  n0 / total0 if total0 else 0.0, total, total0,
                                  ", ".join(parts)))  # fmt: skip
    return out


def _split(con, w: Watch, story_id: int, cfg: CompareSettings, until: date | None,
           languages: list[str] | None = None):  # fmt: skip
    from framewatch.analysis.compare.splits import find_splits

    if not w.split_by:
        return None
    found = find_splits(
        con, w.split_by, w.codebook_id or "geopolitics-tech", cfg, until=until, story=story_id,
        evidence_per_group=0, holding_only=True, languages=languages,
    )  # fmt: skip
    return found[0] if found and found[0].divergence >= cfg.split_threshold else None


def _split_detail(s) -> str:
    a, b = s.pair
    return (f"framing split {s.divergence:.2f} between {a} and {b} "
            f"({s.outlets.get(a, 0)} and {s.outlets.get(b, 0)} outlets, p = {s.p_value:.3f})")  # fmt: skip


def check_watches(
    store: Store, cfg: CompareSettings, *, embed: Embed | None = None, model: str | None = None
) -> list[Report]:
    """Everything new since the last check, recorded so it is never reported again."""
    from framewatch.analysis.search.index import index_pending

    index_pending(store)  # the store's own connection writes the index: no catch-up needed
    reports: list[Report] = []
    for w in list_watches(store.con):
        done = {
            (sid, kind)
            for sid, kind in store.execute(
                "SELECT story_id, kind FROM watch_reports WHERE watch_id = ?", [w.id]
            ).fetchall()
        }
        found = matching_stories(store.con, w, embed=embed, model=model, catch_up=False)
        for sid, (headline, _day, n) in found.items():
            if (sid, "match") not in done:
                reports.append(Report(w.name, "match", sid, headline, f"{n} matching article(s)"))
            if (sid, "split") not in done:
                s = _split(store.con, w, sid, cfg, None)
                if s is not None:
                    reports.append(Report(w.name, "split", sid, headline, _split_detail(s)))
        with store.transaction():
            for r in reports:
                if r.watch == w.name:
                    store.execute(
                        "INSERT INTO watch_reports VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [w.id, r.story_id, r.kind, r.detail, utcnow()],
                    )
    return reports


def week_reports(
    con, week_start: date, cfg: CompareSettings, languages: list[str] | None = None
) -> list[Report]:
    """What the digest of the week starting ``week_start`` reports (new that week only);
    ``languages`` (a desk's): matches and splits among the articles in those languages."""
    end, before = week_start + timedelta(days=6), week_start - timedelta(days=1)
    reports: list[Report] = []
    for w in list_watches(con):
        found = matching_stories(con, w, until=end, languages=languages)
        for sid, (headline, day, n) in found.items():
            if week_start <= day <= end:
                reports.append(Report(w.name, "match", sid, headline, f"{n} matching article(s)"))
            now = _split(con, w, sid, cfg, end, languages)
            if now is not None and _split(con, w, sid, cfg, before, languages) is None:
                reports.append(Report(w.name, "split", sid, headline, _split_detail(now)))
    return reports
