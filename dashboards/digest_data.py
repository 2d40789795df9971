"""What goes into a weekly digest, computed with SQL over the read-only snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from framewatch.config import CompareSettings
from framewatch.dashboards.queries import latest_dated_day
from framewatch.errors import InputError
from framewatch.language_filter import sql_condition
from framewatch.outlets import known_outlets


@dataclass
class StoryItem:
    id: int
    label: str
    headline: str
    articles: int
    outlets: int
    frames: list[tuple[str, str, float]]  # (frame id, label, share) by share
    dominant: str | None
    evidence: str | None
    evidence_outlet: str | None
    links: list[tuple[str, str, str]]  # (outlet, title, url)
    is_new: bool = False


@dataclass
class StoppedFeed:
    name: str
    url: str
    failures: int  # polls in a row that failed
    last_error: str | None
    last_success_at: datetime | None


@dataclass
class Digest:
    week: str
    week_start: date
    codebook: str
    codebook_name: str
    frame_labels: dict[str, str]
    stories: list[StoryItem] = field(default_factory=list)
    shifts: list[tuple[str, str, float, float]] = field(
        default_factory=list
    )  # story label, frame label, before, after
    frame_moves: list[tuple[str, float, float]] = field(
        default_factory=list
    )  # frame label, before, after
    new_stories: list[StoryItem] = field(default_factory=list)
    unusual_outlets: list[UnusualOutlet] = field(default_factory=list)
    total_articles: int = 0
    stopped_feeds: list[StoppedFeed] = field(default_factory=list)
    comparison: Any = None  # digest_compare.Comparison: blind spots, splits, watches
    unknown_outlets: list[str] = field(default_factory=list)  # followed, but no such outlet
    languages: list[str] = field(default_factory=list)  # the articles' languages, when kept to some


def parse_week(week: str) -> date:
    try:
        year, w = week.upper().split("-W")
        return date.fromisocalendar(int(year), int(w), 1)
    except (ValueError, AttributeError):
        raise InputError(f"week {week!r} is not an ISO week like 2026-W47") from None


def latest_week(con: duckdb.DuckDBPyConnection, languages: list[str] | None = None) -> str | None:
    """The ISO week of the dashboard's default end (``queries.latest_dated_day``): an
    undated row, dated when first seen, does not make the default digest today's empty week;
    a desk's default is the latest week with articles in its languages."""
    day = latest_dated_day(con, languages)
    return day.strftime("%G-W%V") if day else None


def build_digest(
    con: duckdb.DuckDBPyConnection, week: str | None = None, codebook: str = "geopolitics-tech",
    outlets: list[str] | None = None, min_story_size: int = 1, top: int = 5,
    compare: CompareSettings | None = None, languages: list[str] | None = None,
) -> Digest:  # fmt: skip
    """One ISO week's digest; ``outlets`` and ``languages`` (a desk's subscription) keep it
    to those outlets' articles and to the articles in those languages."""
    week = week or latest_week(con, languages)
    if not week:
        raise InputError("the store has no articles yet: nothing to digest")
    start = parse_week(week)
    week = start.strftime("%G-W%V")  # "2026-w46", "2026-W1": the stored spelling
    cb = con.execute("SELECT name FROM codebooks WHERE id = ?", [codebook]).fetchone()
    if cb is None:
        raise InputError(
            f"codebook {codebook!r} has not framed this store (run framewatch analyze)"
        )
    labels = dict(
        con.execute(
            "SELECT frame_id, label FROM frames WHERE codebook_id = ? ORDER BY position", [codebook]
        ).fetchall()
    )
    d = Digest(week, start, codebook, cb[0], labels)
    outlet_filter = outlets or None
    if outlet_filter:  # a renamed or misspelt outlet would make an empty digest, unexplained
        d.unknown_outlets = sorted(set(outlet_filter) - set(known_outlets(con)))
    d.languages = list(languages or [])
    in_languages, language_params = sql_condition("x.language", d.languages)
    # The week's coverage: a followed outlet's wire copies are its coverage (a dpa story it
    # ran), counted once as a text (``first_of_text``) and listed under each outlet.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE wk AS SELECT *, row_number() OVER (
               PARTITION BY text_id ORDER BY article_at, article_id) = 1 AS first_of_text
           FROM article_coverage x
           WHERE iso_week = ? AND NOT outlet_repeat
             AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], outlet)) AND {in_languages}""",
        [week, outlet_filter, outlet_filter, *language_params],
    )
    d.total_articles = con.execute("SELECT count(*) FROM wk WHERE first_of_text").fetchone()[0]
    # A desk reads a story under one of its own languages' headlines: the story's headline
    # is in the story's main language, often not the desk's.
    desk_headline, headline_params = sql_condition("ha.language", d.languages)
    rows = con.execute(
        f"""SELECT w.story_id, s.label,
                  CASE WHEN NOT {desk_headline}
                       THEN coalesce(first(w.title ORDER BY w.article_at, w.article_id)
                                         FILTER (WHERE coalesce(w.title, '') <> ''), s.headline)
                       ELSE s.headline END,
                  count(*) FILTER (WHERE w.first_of_text) AS n, count(DISTINCT w.source_id) AS o,
                  s.first_seen >= ?::DATE AS is_new
           FROM wk w JOIN stories s ON s.id = w.story_id
           LEFT JOIN articles ha ON ha.id = s.headline_article_id
           GROUP BY w.story_id, s.label, s.headline, ha.language, s.first_seen
           HAVING n >= ? ORDER BY n DESC, o DESC, w.story_id""",
        [*headline_params, start, min_story_size],
    ).fetchall()
    items = [_story(con, codebook, labels, *r) for r in rows]
    d.stories = items[:top]
    d.new_stories = [s for s in items if s.is_new]
    prev_week = (start - timedelta(days=7)).strftime("%G-W%V")
    d.shifts = [
        (label or f"story {sid}", labels.get(fid, fid), prev, cur)
        for sid, label, fid, prev, cur in _shifts(
            con, codebook, week, prev_week, top, d.languages, outlet_filter
        )
    ]
    d.frame_moves = [
        (labels.get(fid, fid), before or 0.0, after or 0.0)
        for fid, before, after in con.execute(
            f"""WITH m AS (SELECT x.iso_week, af.frame_id, avg(af.share) AS share
                          FROM {_DESK_TEXTS.format(in_languages=in_languages)} x
                          JOIN article_frames af ON af.article_id = x.article_id
                          WHERE af.codebook_id = ? AND af.frame_id <> 'none' AND x.iso_week IN (?, ?)
                          GROUP BY ALL)
               SELECT frame_id, max(share) FILTER (WHERE iso_week = ?), max(share) FILTER (WHERE iso_week = ?)
               FROM m GROUP BY frame_id
               HAVING max(share) FILTER (WHERE iso_week = ?) IS NOT NULL
               ORDER BY abs(coalesce(max(share) FILTER (WHERE iso_week = ?), 0)
                            - coalesce(max(share) FILTER (WHERE iso_week = ?), 0)) DESC""",
            [
                outlet_filter,
                outlet_filter,
                *language_params,
                codebook,
                week,
                prev_week,
                prev_week,
                week,
                week,
                week,
                prev_week,
            ],
        ).fetchall()
    ]
    d.unusual_outlets = _unusual(con, codebook, labels)
    d.stopped_feeds = stopped_feeds(con)
    from framewatch.dashboards.digest_compare import build_comparison

    d.comparison = build_comparison(con, start, codebook, compare, top, d.languages)
    notes = []
    if outlet_filter:  # a group's coverage means nothing among a handful of chosen outlets
        notes.append(
            "Blind spots, splits and watches below compare all outlets in the store, "
            "not only the ones this digest follows."
        )
    if d.languages:
        notes.append(
            f"Blind spots, splits, framing shifts and watches compare the articles in "
            f"{', '.join(d.languages)} only."
        )
    d.comparison.note = " ".join(notes)
    return d


def _shifts(
    con, codebook: str, week: str, prev_week: str, top: int, languages: list[str],
    outlets: list[str] | None,
) -> list[tuple]:  # fmt: skip
    """Each digest story's largest frame move against last week, biggest first.

    What ``framing_shifts`` holds, over the desk's languages and outlets only: a German
    desk reads how the German coverage moved, not a move made by articles it does not get.
    """
    if not languages and not outlets:
        return con.execute(
            """SELECT fs.story_id, s.label, fs.frame_id, fs.previous_share, fs.share
               FROM framing_shifts fs JOIN stories s ON s.id = fs.story_id
               WHERE fs.week = ? AND fs.codebook_id = ? AND fs.rank = 1
                 AND fs.story_id IN (SELECT story_id FROM wk)
               ORDER BY abs(fs.change) DESC, fs.story_id LIMIT ?""",
            [week, codebook, top],
        ).fetchall()
    in_languages, language_params = sql_condition("x.language", languages)
    return con.execute(
        f"""WITH weekly AS (
               SELECT x.story_id, af.frame_id,
                      avg(af.share) FILTER (WHERE x.iso_week = ?) AS share,
                      avg(af.share) FILTER (WHERE x.iso_week = ?) AS previous_share
               FROM {_DESK_TEXTS.format(in_languages=in_languages)} x
               JOIN article_frames af ON af.article_id = x.article_id
               WHERE af.codebook_id = ? AND af.frame_id <> 'none' AND x.iso_week IN (?, ?)
                 AND x.story_id IN (SELECT story_id FROM wk)
               GROUP BY ALL),
           ranked AS (
               SELECT *, row_number() OVER (PARTITION BY story_id
                                            ORDER BY abs(share - previous_share) DESC, frame_id) AS rank
               FROM weekly WHERE share IS NOT NULL AND previous_share IS NOT NULL)
           SELECT r.story_id, s.label, r.frame_id, r.previous_share, r.share
           FROM ranked r JOIN stories s ON s.id = r.story_id WHERE r.rank = 1
           ORDER BY abs(r.share - r.previous_share) DESC, r.story_id LIMIT ?""",
        [week, prev_week, outlets, outlets, *language_params, codebook, week, prev_week, top],
    ).fetchall()


# The coverage of a digest's outlets (two parameters) and languages, each text once a week:
# a followed outlet's wire copy is its coverage, and a wire text two outlets ran one text.
_DESK_TEXTS = """(SELECT * FROM article_coverage x
     WHERE NOT outlet_repeat AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], x.outlet))
       AND {in_languages}
     QUALIFY row_number() OVER (PARTITION BY text_id, iso_week ORDER BY article_at, article_id) = 1)"""

STOPPED_AFTER = 3  # failed polls in a row before a feed counts as stopped


def stopped_feeds(
    con: duckdb.DuckDBPyConnection, min_failures: int = STOPPED_AFTER
) -> list[StoppedFeed]:
    """Feeds polled but failing now, the longest streak first: the reader should know
    which outlets are missing from the digest."""
    rows = con.execute(
        """SELECT s.name, s.url, f.consecutive_failures, f.last_error, f.last_success_at
           FROM sources s JOIN feed_state f ON f.source_id = s.id
           WHERE s.active AND f.consecutive_failures >= ?
           ORDER BY f.consecutive_failures DESC, s.name, s.id""",
        [min_failures],
    ).fetchall()
    return [StoppedFeed(*r) for r in rows]


def _story(con, codebook, labels, sid, label, headline, n, o, is_new) -> StoryItem:
    mix = con.execute(
        """SELECT af.frame_id, avg(af.share) AS share FROM wk w
           JOIN article_frames af ON af.article_id = w.article_id
           WHERE w.story_id = ? AND w.first_of_text AND af.codebook_id = ? AND af.frame_id <> 'none'
           GROUP BY 1 ORDER BY share DESC, 1""",
        [sid, codebook],
    ).fetchall()
    frames = [(f, labels.get(f, f), float(s)) for f, s in mix if s > 0]
    dominant = frames[0][0] if frames else None
    ev = con.execute(
        """SELECT e.sentence, w.outlet FROM frame_evidence e JOIN wk w ON w.article_id = e.article_id
           WHERE w.story_id = ? AND e.codebook_id = ? AND e.frame_id = ?
           ORDER BY e.score DESC LIMIT 1""",
        [sid, codebook, dominant],
    ).fetchone()
    links = con.execute(
        "SELECT outlet, title, url FROM wk WHERE story_id = ? ORDER BY article_at", [sid]
    ).fetchall()
    return StoryItem(sid, label or f"story {sid}", headline or "", n, o, frames, dominant,
                     ev[0] if ev else None, ev[1] if ev else None, links, bool(is_new))  # fmt: skip


UNUSUAL_MIN_ARTICLES = 5  # framed articles an outlet needs this week to be compared


@dataclass
class UnusualOutlet:
    outlet: str
    frame: str  # label
    share: float  # the outlet's mean share of the frame this week
    others: float  # every other outlet's
    articles: int  # the outlet's framed articles this week
    interval: tuple[float, float]  # 90% Jeffreys interval of ``share``

    def describe(self) -> str:
        lo, hi = self.interval
        return (f"{self.outlet} leans on {self.frame}: {self.share:.0%} (90% interval {lo:.0%}–"
                f"{hi:.0%}, {self.articles} articles) against {self.others:.0%} elsewhere")  # fmt: skip


def _unusual(con, codebook, labels, limit: int = 3) -> list[UnusualOutlet]:
    """Outlets that lean on a frame this week far more than every other outlet does.

    One article's frame is not an outlet's framing: an outlet needs
    ``UNUSUAL_MIN_ARTICLES`` framed articles, and the 90% interval of its share (each
    article one trial, weighted by its share) must lie above the others' interval: against
    others at 0%, a share of 2% in 33 articles is noise, not a lean."""
    from framewatch.analysis.intervals import jeffreys_interval

    n = dict(con.execute(
        """SELECT w.outlet, count(DISTINCT w.article_id) FROM wk w
           JOIN article_frames af ON af.article_id = w.article_id
           WHERE af.codebook_id = ? GROUP BY 1""", [codebook]).fetchall())  # fmt: skip
    mass: dict[tuple[str, str], float] = {
        (o, f): float(m)
        for o, f, m in con.execute(
            """SELECT w.outlet, af.frame_id, sum(af.share) FROM wk w
               JOIN article_frames af ON af.article_id = w.article_id
               WHERE af.codebook_id = ? AND af.frame_id <> 'none' GROUP BY ALL""",
            [codebook],
        ).fetchall()
    }
    total_n = sum(n.values())
    total_mass: dict[str, float] = {}
    for (_, f), m in mass.items():
        total_mass[f] = total_mass.get(f, 0.0) + m
    best: dict[str, UnusualOutlet] = {}
    for (outlet, f), m in sorted(mass.items()):
        k = n[outlet]
        if k < UNUSUAL_MIN_ARTICLES or total_n == k:
            continue
        share, others = m / k, (total_mass[f] - m) / (total_n - k)
        lo, hi = jeffreys_interval(m, k)
        others_hi = jeffreys_interval(total_mass[f] - m, total_n - k)[1]
        if share <= others or lo <= others_hi:  # leans on it, beyond either's uncertainty
            continue
        u = UnusualOutlet(outlet, labels.get(f, f), share, others, k, (lo, hi))
        if outlet not in best or share - others > best[outlet].share - best[outlet].others:
            best[outlet] = u
    ranked = sorted(best.values(), key=lambda u: (-abs(u.share - u.others), u.outlet))
    return ranked[:limit]
