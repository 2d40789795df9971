"""Blind spots: stories covered (almost) only by some values of an outlet attribute.

A story is a blind spot for a value (``lean = right``) when

1. at least ``dominance`` (80%) of its articles come from outlets with other values,
2. the value's share of the story is at most ``relative_share`` (half) of its share of
   the articles on other stories within ``window_days`` of it, so a value whose outlets
   write little overall is not flagged for writing little here, and
3. its outlets wrote at least ``min_active_articles`` on those other stories: they were
   writing, just not about this.

Only articles whose outlet has a value for the attribute count; a story needs
``min_articles`` of them, so single articles (scoops) never count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date

from framewatch.config import CompareSettings


@dataclass
class BlindSpot:
    story_id: int
    headline: str
    label: str
    articles: int  # articles with a value for the attribute
    covered_by: dict[str, int]  # value -> articles, most first
    missing: list[str]  # values that (almost) missed it while writing about other stories
    first_day: date
    last_day: date

    def as_json(self) -> dict:
        d = asdict(self)
        d["first_day"], d["last_day"] = str(self.first_day), str(self.last_day)
        return d


def find_blind_spots(
    con, by: str, settings: CompareSettings | None = None,
    since: date | None = None, until: date | None = None, limit: int | None = None,
) -> list[BlindSpot]:  # fmt: skip
    """Blind spots among stories with articles in [since, until], biggest stories first."""
    cfg = settings or CompareSettings()
    rows = con.execute(
        """WITH tagged AS (
               SELECT x.story_id, x.day, oa.value FROM article_facts x
               JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?),
           periodic AS (
               SELECT * FROM tagged WHERE story_id IS NOT NULL
                 AND (?::DATE IS NULL OR day >= ?::DATE) AND (?::DATE IS NULL OR day <= ?::DATE)),
           stories_in AS (
               SELECT story_id, count(*) AS n, min(day) AS first_day, max(day) AS last_day
               FROM periodic GROUP BY story_id HAVING count(*) >= ?),
           coverage AS (
               SELECT story_id, value, count(*) AS n FROM periodic
               WHERE story_id IN (SELECT story_id FROM stories_in) GROUP BY ALL),
           active AS (
               SELECT s.story_id, t.value, count(*) AS n
               FROM stories_in s JOIN tagged t
                 ON t.day BETWEEN s.first_day - CAST(? * 86400 AS INTEGER) * INTERVAL 1 SECOND
                              AND s.last_day + CAST(? * 86400 AS INTEGER) * INTERVAL 1 SECOND
                AND t.story_id IS DISTINCT FROM s.story_id
               GROUP BY ALL)
           SELECT s.story_id, coalesce(st.headline, ''), coalesce(st.label, ''), s.n,
                  s.first_day, s.last_day,
                  (SELECT list(struct_pack(v := c.value, n := c.n) ORDER BY c.n DESC, c.value)
                   FROM coverage c WHERE c.story_id = s.story_id) AS covered,
                  (SELECT list(struct_pack(v := a.value, n := a.n) ORDER BY a.value)
                   FROM active a WHERE a.story_id = s.story_id) AS active
           FROM stories_in s JOIN stories st ON st.id = s.story_id
           ORDER BY s.n DESC, s.last_day DESC, s.story_id""",
        [by, since, since, until, until, cfg.min_articles, cfg.window_days, cfg.window_days],
    ).fetchall()  # fmt: skip
    out: list[BlindSpot] = []
    for sid, headline, label, n, first, last, covered, active in rows:
        counts = {c["v"]: c["n"] for c in covered or []}
        elsewhere = {a["v"]: a["n"] for a in active or []}
        total = sum(elsewhere.values())
        # Integer comparisons of shares: no float noise decides a borderline story.
        dom, rel = round((1 - cfg.dominance) * 1_000_000), round(cfg.relative_share * 1_000_000)
        missing = [
            v
            for v, seen in elsewhere.items()
            if seen >= cfg.min_active_articles
            and counts.get(v, 0) * 1_000_000 <= dom * n
            and counts.get(v, 0) * total * 1_000_000 <= rel * seen * n
        ]
        if missing:
            out.append(BlindSpot(sid, headline, label, n, counts, missing, first, last))
    return out[:limit] if limit else out


def missing_counts(spots: list[BlindSpot]) -> dict[str, int]:
    """How many blind spots each value has: what one side keeps missing."""
    counts: dict[str, int] = defaultdict(int)
    for s in spots:
        for v in s.missing:
            counts[v] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
