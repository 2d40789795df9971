"""Attention over time: how much coverage a query gets, and what lies behind it.

Per day or ISO week (weeks start on Monday), the matching articles and their share of
all articles of that period ("normalized attention", as Media Cloud calls it: a busy
news week does not look like more interest), optionally split by an outlet attribute
(each group's matches over that group's own articles). Then the outlets, the words and
the frames behind it, and sample articles with the sentence that shows their frame.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from framewatch.analysis.intervals import jeffreys_interval
from framewatch.analysis.search.engine import Matches, Searcher
from framewatch.analysis.search.parser import QueryError, collection, describe
from framewatch.analysis.search.results import hit_rows, matched_table
from framewatch.analysis.search.text import WORD, fold, words
from framewatch.language import function_words, normalise

INTERVALS = ("day", "week")
NO_VALUE = "(none)"
_EMPTY = np.zeros(0, dtype=np.int64)
_WORDS_SAMPLE = 2000  # top-ranked matches read for the top words


@dataclass
class Attention:
    interval: str
    by: str | None
    matched: int
    total: int  # articles of the collection searched (all, or e.g. lang:de's)
    copies: int = 0  # matches that are near-identical copies of another article (wire copy)
    # Every share comes with lo/hi, its 90% interval: a week of 3 articles with 1 match
    # reads "33% (8%-75%)", not as a peak.
    series: list[dict] = field(default_factory=list)  # period, group, matched, total, share, lo, hi
    outlets: list[dict] = field(default_factory=list)  # outlet, matched, articles, share, lo, hi
    words: list[dict] = field(default_factory=list)  # word, articles, weight
    frames: list[dict] = field(default_factory=list)  # codebook, frame, articles, share, lo, hi
    samples: list[dict] = field(default_factory=list)  # hit row + frame + evidence
    collection: str | None = None  # the query's outlets/languages/dates part: the denominator

    def collection_note(self) -> str:
        """ " in lang:de" when shares are of a collection's articles, else ""."""
        return f" in {self.collection}" if self.collection else ""

    def copies_note(self) -> str:
        """ " (3 of them are near-identical copies of another)", or "" without copies."""
        if not self.copies:
            return ""
        are = "is a near-identical copy" if self.copies == 1 else "are near-identical copies"
        return f" ({self.copies} of them {are} of another)"


def _group_sql(con, by: str | None) -> str:
    """SQL for an article's group value (``a`` is articles, ``s`` sources)."""
    if by is None:
        return "'all'"
    if by == "outlet":
        return f"coalesce(s.name, '{NO_VALUE}')"
    if by in ("lang", "language"):
        return f"coalesce(a.language, '{NO_VALUE}')"
    known = [
        r[0] for r in con.execute("SELECT DISTINCT attribute FROM outlet_attributes").fetchall()
    ]
    if by not in known:
        raise QueryError(
            f"--by {by}: no outlet has that attribute (known: {', '.join(sorted(known)) or 'none set'};"
            " or outlet, lang)"
        )
    quoted = by.replace("'", "''")
    return (
        f"coalesce((SELECT value FROM outlet_attributes oa WHERE oa.outlet = s.name"
        f" AND oa.attribute = '{quoted}'), '{NO_VALUE}')"
    )


def attention(
    searcher: Searcher, matches: Matches, *, by: str | None = None, interval: str = "week",
    codebook: str | None = None, top: int = 10, samples: int = 5,
) -> Attention:  # fmt: skip
    con = searcher.con
    interval = interval.strip().lower()  # "Week" as typed
    if interval not in INTERVALS:
        raise QueryError(f"--interval must be day or week, got {interval!r}")
    group = _group_sql(con, by)
    period = (
        "CAST(coalesce(a.published_at, a.fetched_at) AS DATE)"
        if interval == "day"
        else "CAST(date_trunc('week', coalesce(a.published_at, a.fetched_at)) AS DATE)"
    )
    named, scope = collection_of(searcher, matches)
    with (
        matched_table(con, matches.ids) as t,
        matched_table(con, _EMPTY if scope is None else scope, "in_collection") as c,
    ):
        within = "TRUE" if scope is None else f"a.id IN (SELECT id FROM {c})"
        total = con.execute(f"SELECT count(*) FROM articles a WHERE {within}").fetchall()[0][0]
        result = Attention(interval, by, len(matches), total, collection=named)
        if not len(matches):
            return result
        result.copies = con.execute(
            f"SELECT count(*) FROM {t} m JOIN article_duplicates d ON d.article_id = m.id"
        ).fetchall()[0][0]
        result.series = [
            {"period": p, "group": g, "matched": m, "total": n, **_share(m, n)}
            for p, g, m, n in con.execute(
                f"""WITH x AS (
                        SELECT {period} AS period, {group} AS grp, (a.id IN (SELECT id FROM {t})) AS hit
                        FROM articles a LEFT JOIN sources s ON s.id = a.source_id WHERE {within}),
                    span AS (SELECT min(period) AS lo, max(period) AS hi FROM x WHERE hit)
                    SELECT period, grp, count(*) FILTER (WHERE hit), count(*)
                    FROM x, span WHERE period BETWEEN lo AND hi
                    GROUP BY period, grp ORDER BY period, grp"""
            ).fetchall()
        ]  # fmt: skip
        result.outlets = [
            {"outlet": o, "matched": m, "articles": n, **_share(m, n)}
            for o, m, n in con.execute(
                f"""SELECT coalesce(s.name, '{NO_VALUE}'),
                           count(*) FILTER (WHERE a.id IN (SELECT id FROM {t})) AS m, count(*)
                    FROM articles a LEFT JOIN sources s ON s.id = a.source_id WHERE {within}
                    GROUP BY 1 HAVING m > 0 ORDER BY m DESC, 1 LIMIT ?""",
                [top],
            ).fetchall()
        ]
        cb = codebook or _first_codebook(con, t)
        if cb is not None:
            framed = con.execute(
                f"SELECT count(*) FROM article_framing f JOIN {t} m ON m.id = f.article_id"
                " WHERE f.codebook_id = ?",
                [cb],
            ).fetchall()[0][0]
            result.frames = [
                {"codebook": cb, "frame": f or "none", "articles": n, **_share(n, framed)}
                for f, n in con.execute(
                    f"""SELECT f.primary_frame, count(*) FROM article_framing f
                        JOIN {t} m ON m.id = f.article_id WHERE f.codebook_id = ?
                        GROUP BY 1 ORDER BY 2 DESC, 1""",
                    [cb],
                ).fetchall()
            ]  # fmt: skip
        result.words = _top_words(searcher, t, top)
    result.samples = _samples(con, matches, cb, samples)
    return result


def collection_of(searcher: Searcher, matches: Matches) -> tuple[str | None, np.ndarray | None]:
    """The collection the query searched, written back ("lang:de"), and its articles; or
    (None, None) for all articles, the denominator of every share.

    A query that is nothing but a collection (``lang:de``) is measured against all
    articles: how much of the coverage is German is its question.
    """
    scope = collection(matches.query) if matches.query is not None else None
    if scope is None:
        return None, None
    return describe(scope), searcher.evaluate(scope)[0]


def share_text(row: dict, fmt: str = ".1%") -> str:
    """A row's share with its interval, "33.3% (6.2%-76.4%)": one article in a quiet week
    does not read as a peak."""
    return f"{row['share']:{fmt}} ({row['lo']:{fmt}}-{row['hi']:{fmt}})"


def _share(x: int, n: int) -> dict[str, float]:
    lo, hi = jeffreys_interval(x, n)
    return {"share": round(x / n, 4) if n else 0.0, "lo": round(lo, 4), "hi": round(hi, 4)}


def _first_codebook(con, t: str) -> str | None:
    row = con.execute(
        f"""SELECT f.codebook_id FROM article_framing f JOIN {t} m ON m.id = f.article_id
            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
    ).fetchall()
    return row[0][0] if row else None


@functools.lru_cache(maxsize=64)
def stop_words(language: str) -> frozenset[str]:
    """A language's function words, folded as the index folds text (``für`` -> ``fur``).

    Without them a German query's top words are "der, die, das" in a mostly English
    store: over-represented in the matches only because the matches are German.
    """
    return frozenset(w for s in function_words(language) for w in words(s))


def _top_words(searcher: Searcher, t: str, top: int) -> list[dict]:
    """Words much more common in the matches than in all articles (document frequencies),
    leaving out the function words of the matches' languages."""
    rows = searcher.con.execute(
        f"""SELECT a.title, a.text, a.language FROM {t} m JOIN articles a ON a.id = m.id
            WHERE m.rank <= {_WORDS_SAMPLE}"""
    ).fetchall()
    if not rows:
        return []
    languages = {normalise(r[2]) or "en" for r in rows}
    skip = frozenset().union(*(stop_words(lang) for lang in languages))
    df: Counter = Counter()
    for title, text, _ in rows:
        df.update(
            {w for w in words(f"{title or ''} {text or ''}")
             if len(w) > 2 and not w.isdigit() and w not in skip}
        )  # fmt: skip
    candidates = [w for w, n in df.most_common(400) if n >= 2]
    if not candidates:
        return []
    total, everywhere = searcher.doc_freqs(candidates)
    n = len(rows)
    scored = []
    for w in candidates:
        share_in = df[w] / n
        share_all = (everywhere.get(w, df[w]) + 1) / (total + 1)
        scored.append((share_in * math.log(max(share_in / share_all, 1.0)), w))
    scored.sort(reverse=True)
    best = [(s, w) for s, w in scored[:top] if s > 0]
    shown = _as_written({w for _, w in best}, rows)
    return [{"word": shown.get(w, w), "articles": df[w], "weight": round(s, 4)} for s, w in best]


@functools.lru_cache(maxsize=65536)
def _folded(token: str) -> str:
    return fold(token)


def _as_written(folded: set[str], rows: list[tuple]) -> dict[str, str]:
    """Each folded word as the matches most often write it (in lower case): ``göre``, not
    ``gore``; ties go to the form first in alphabetical order."""
    seen: dict[str, Counter] = {w: Counter() for w in folded}
    for title, text, _ in rows:
        for token in set(WORD.findall(f"{title or ''} {text or ''}".lower())):
            form = seen.get(_folded(token))
            if form is not None:
                form[token] += 1
    return {w: min(c, key=lambda t: (-c[t], t)) for w, c in seen.items() if c}


def _samples(con, matches: Matches, codebook: str | None, n: int) -> list[dict]:
    rows = hit_rows(con, matches, n)
    for r in rows:
        ev = None
        if codebook is not None:
            ev = con.execute(
                """SELECT f.primary_frame, e.sentence FROM article_framing f
                   LEFT JOIN frame_evidence e ON e.article_id = f.article_id
                     AND e.codebook_id = f.codebook_id AND e.frame_id = f.primary_frame AND e.rank = 1
                   WHERE f.article_id = ? AND f.codebook_id = ?""",
                [r["id"], codebook],
            ).fetchall()
            ev = ev[0] if ev else None
        r["frame"], r["evidence"] = (ev[0], ev[1]) if ev else (None, None)
    return rows
