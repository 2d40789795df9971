"""Blind spots: stories covered (almost) only by some values of an outlet attribute.

A story is a blind spot for a value (``lean = right``) when

1. at least ``dominance`` (80%) of its articles come from outlets with other values,
2. the value's share of the story is at most ``relative_share`` (half) of its share of
   the articles on other stories within ``window_days`` of it, so a value whose outlets
   write little overall is not flagged for writing little here, and
3. its outlets wrote at least ``min_active_articles`` on those other stories: they were
   writing, just not about this.

Only articles whose outlet has a value for the attribute count; a story needs
``min_articles`` of them, so single articles (scoops) never count. With ``languages``
only the articles in those languages count, here and around the story: the German
coverage's blind spots, measured against what the outlets wrote in German.

Those rules describe; they do not say whether the gap could be chance. Each missing
value also gets a test: of the outlets writing around the story (within
``window_days``, this story included), how many have the value, and how likely it is
that as few of the story's outlets have it if the labels were shuffled across those
outlets (hypergeometric, exact). Its p-value is adjusted (Benjamini-Hochberg) over
every value and story tested, and a blind spot *holds up* when its q-value is at most
``false_discovery_rate``. A story told by two outlets never holds up: two of forty
outlets miss a third of them half the time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date

from framewatch.analysis.compare import stats
from framewatch.analysis.intervals import jeffreys_interval
from framewatch.analysis.stories.read import headlines_in
from framewatch.config import CompareSettings
from framewatch.language_filter import sql_condition


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
    outlets: dict[str, int] = field(default_factory=dict)  # value -> outlets that covered it
    gaps: dict[str, Gap] = field(default_factory=dict)  # missing value -> how unusual
    holds_up: bool = False  # some missing value's gap holds up against chance

    def as_json(self) -> dict:
        d = asdict(self)
        d["first_day"], d["last_day"] = str(self.first_day), str(self.last_day)
        for g in d["gaps"].values():
            g["share_interval"] = list(g["share_interval"])
        return d


@dataclass
class Gap:
    """How unusual one value's missing coverage of a story is."""

    articles: int  # the value's articles on the story
    share: float  # its share of the story's articles
    share_interval: tuple[float, float]  # 90% Jeffreys interval of that share
    usual_share: float  # its share of the articles on other stories around it
    outlets: int  # its outlets that covered the story
    active_outlets: int  # its outlets writing around the story
    p_value: float  # as few of the story's outlets with the value, if labels were random
    q_value: float = 1.0  # Benjamini-Hochberg over every value and story tested


def find_blind_spots(
    con, by: str, settings: CompareSettings | None = None,
    since: date | None = None, until: date | None = None, limit: int | None = None,
    holding_only: bool = False, languages: list[str] | None = None,
) -> list[BlindSpot]:  # fmt: skip
    """Blind spots among stories with articles in [since, until], biggest stories first.

    ``holding_only`` keeps those whose gap holds up against chance (see the module).
    """
    cfg = settings or CompareSettings()
    in_languages, language_params = sql_condition("x.language", languages)
    rows = con.execute(
        f"""WITH tagged AS (
               SELECT x.story_id, x.day, x.outlet, oa.value FROM article_coverage x
               JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
               WHERE NOT x.outlet_repeat AND {in_languages}),
           periodic AS (
               SELECT * FROM tagged WHERE story_id IS NOT NULL
                 AND (?::DATE IS NULL OR day >= ?::DATE) AND (?::DATE IS NULL OR day <= ?::DATE)),
           stories_in AS (
               SELECT story_id, count(*) AS n, min(day) AS first_day, max(day) AS last_day
               FROM periodic GROUP BY story_id HAVING count(*) >= ?),
           coverage AS (
               SELECT story_id, value, count(*) AS n, count(DISTINCT outlet) AS outlets
               FROM periodic WHERE story_id IN (SELECT story_id FROM stories_in) GROUP BY ALL),
           around AS (
               SELECT s.story_id, t.value, t.outlet, t.story_id IS DISTINCT FROM s.story_id AS other
               FROM stories_in s JOIN tagged t
                 ON t.day BETWEEN s.first_day - CAST(? * 86400 AS INTEGER) * INTERVAL 1 SECOND
                              AND s.last_day + CAST(? * 86400 AS INTEGER) * INTERVAL 1 SECOND),
           active AS (
               SELECT story_id, value, count(*) FILTER (WHERE other) AS n,
                      count(DISTINCT outlet) AS outlets
               FROM (SELECT * FROM around UNION ALL
                     SELECT story_id, value, outlet, false FROM periodic
                     WHERE story_id IN (SELECT story_id FROM stories_in))
               GROUP BY ALL)
           SELECT s.story_id, coalesce(st.headline, ''), coalesce(st.label, ''), s.n,
                  s.first_day, s.last_day,
                  (SELECT list(struct_pack(v := c.value, n := c.n, o := c.outlets) ORDER BY c.n DESC, c.value)
                   FROM coverage c WHERE c.story_id = s.story_id) AS covered,
                  (SELECT list(struct_pack(v := a.value, n := a.n, o := a.outlets) ORDER BY a.value)
                   FROM active a WHERE a.story_id = s.story_id) AS active
           FROM stories_in s JOIN stories st ON st.id = s.story_id
           ORDER BY s.n DESC, s.last_day DESC, s.story_id""",
        [by, *language_params, since, since, until, until, cfg.min_articles,
         cfg.window_days, cfg.window_days],
    ).fetchall()  # fmt: skip
    out: list[BlindSpot] = []
    tested: list[Gap] = []
    # Integer comparisons of shares: no float noise decides a borderline story.
    dom, rel = round((1 - cfg.dominance) * 1_000_000), round(cfg.relative_share * 1_000_000)
    for sid, headline, label, n, first, last, covered, active in rows:
        counts = {c["v"]: c["n"] for c in covered or []}
        outlets = {c["v"]: c["o"] for c in covered or []}
        elsewhere = {a["v"]: a["n"] for a in active or [] if a["n"]}
        pool = {a["v"]: a["o"] for a in active or []}
        total = sum(elsewhere.values())
        gaps = {}
        for v, seen in elsewhere.items():
            if seen < cfg.min_active_articles:
                continue
            x = counts.get(v, 0)
            p = stats.fewer_outlets_p(outlets.get(v, 0), sum(outlets.values()), pool[v],
                                      sum(pool.values()))  # fmt: skip
            gaps[v] = Gap(x, round(x / n, 4), tuple(round(b, 4) for b in jeffreys_interval(x, n)),
                          round(seen / total, 4), outlets.get(v, 0), pool[v], round(p, 6))  # fmt: skip
            tested.append(gaps[v])
        missing = [
            v
            for v in gaps
            if counts.get(v, 0) * 1_000_000 <= dom * n
            and counts.get(v, 0) * total * 1_000_000 <= rel * elsewhere[v] * n
        ]
        if missing:
            spot = BlindSpot(sid, headline, label, n, counts, missing, first, last, outlets)
            spot.gaps = {v: gaps[v] for v in missing}
            out.append(spot)
    for g, q in zip(tested, stats.bh_adjust([g.p_value for g in tested]), strict=True):
        g.q_value = round(q, 6)
    for spot in out:
        spot.holds_up = any(g.q_value <= cfg.false_discovery_rate for g in spot.gaps.values())
    if holding_only:
        out = [s for s in out if s.holds_up]
    out = out[:limit] if limit else out
    desk = headlines_in(con, [s.story_id for s in out], languages)
    for s in out:
        s.headline = desk.get(s.story_id, s.headline)
    return out


def missing_counts(spots: list[BlindSpot]) -> dict[str, int]:
    """How many blind spots each value has: what one side keeps missing."""
    counts: dict[str, int] = defaultdict(int)
    for s in spots:
        for v in s.missing:
            counts[v] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
