"""Framing splits: the same story framed differently by groups of outlets.

Each group (outlets with one value of an attribute) gets a frame distribution: each
frame's part of the group's framed sentences (the article shares summed, 'none' left
out). Groups are often one or two articles, so a split is judged on what those few
articles can support:

* each group's framing is shrunk towards the story's overall framing by
  ``prior_articles`` (2) articles' worth, and stories are ranked by the largest
  Jensen-Shannon divergence (base 2: 0 = same framing, 1 = nothing in common) between
  two shrunk groups (``divergence_shrunk``); ``divergence`` is the raw one;
* every share carries a 90% Jeffreys interval (its articles as the trials) and the
  divergence a 90% interval (draws from the groups' Dirichlet posteriors);
* a split *holds up* when shuffling the group labels across the story's outlets
  rarely gives as large a shrunk divergence (``p_value``), with the false-discovery
  rate controlled at ``false_discovery_rate`` over every story compared
  (Benjamini-Hochberg ``q_value``).

Everything is seeded by the story id and ``seed``, so the same store gives the same
answer every time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from framewatch.analysis.compare import stats
from framewatch.analysis.intervals import jeffreys_intervals
from framewatch.analysis.stories.read import headlines_in
from framewatch.config import CompareSettings
from framewatch.errors import InputError
from framewatch.language_filter import sql_condition


@dataclass
class Evidence:
    frame: str
    sentence: str
    outlet: str
    score: float


@dataclass
class Split:
    story_id: int
    headline: str
    label: str
    divergence: float  # raw: between the groups' own frame shares
    pair: tuple[str, str]  # the two groups that differ most (shrunk)
    groups: dict[str, dict[str, float]]  # value -> {frame -> share of framed sentences}
    articles: dict[str, int]  # value -> framed articles
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    outlets: dict[str, int] = field(default_factory=dict)  # value -> outlets
    divergence_shrunk: float = 0.0  # what stories are ranked by
    divergence_interval: tuple[float, float] = (0.0, 1.0)  # 90%
    intervals: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)  # 90%
    p_value: float = 1.0  # permutation test of outlet labels within the story
    q_value: float = 1.0  # Benjamini-Hochberg over the stories compared
    holds_up: bool = False

    def as_json(self) -> dict:
        d = asdict(self)
        d["pair"] = list(self.pair)
        d["divergence_interval"] = list(self.divergence_interval)
        d["intervals"] = {v: {f: list(b) for f, b in g.items()} for v, g in self.intervals.items()}
        return d


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits."""
    return float(stats.js_bits(np.asarray(p, float), np.asarray(q, float)))


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def find_splits(
    con, by: str, codebook: str, settings: CompareSettings | None = None,
    since: date | None = None, until: date | None = None, story: int | None = None,
    limit: int | None = 20, evidence_per_group: int = 2, holding_only: bool = False,
    languages: list[str] | None = None,
) -> list[Split]:  # fmt: skip
    """Stories covered by two or more groups, most divergent (shrunk) first.

    ``holding_only`` keeps the splits that hold up against chance; the FDR is
    controlled over every story compared, before ``limit`` cuts the list. ``languages``
    keeps to the articles in those languages (a desk comparing its own language's coverage).
    """
    cfg = settings or CompareSettings()
    frames = [
        r[0]
        for r in con.execute(
            "SELECT frame_id FROM frames WHERE codebook_id = ? ORDER BY position", [codebook]
        ).fetchall()
    ]
    if not frames:
        raise InputError(
            f"codebook {codebook!r} has not framed this store: add it to [analysis] codebooks"
            " and run `framewatch analyze` (`framewatch codebooks list` shows the codebooks)"
        )
    in_languages, language_params = sql_condition("x.language", languages)
    rows = con.execute(
        f"""SELECT x.story_id, oa.value, x.outlet, x.article_id, af.frame_id, af.share
           FROM article_coverage x
           JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
           JOIN article_frames af ON af.article_id = x.article_id AND af.codebook_id = ?
           WHERE x.story_id IS NOT NULL AND NOT x.outlet_repeat AND af.frame_id <> 'none' AND af.share > 0
             AND (?::DATE IS NULL OR x.day >= ?::DATE) AND (?::DATE IS NULL OR x.day <= ?::DATE)
             AND (?::BIGINT IS NULL OR x.story_id = ?::BIGINT)
             AND {in_languages}
           ORDER BY x.story_id, x.outlet, x.article_id, af.frame_id""",
        [by, codebook, since, since, until, until, story, story, *language_params],
    ).fetchall()
    index = {f: i for i, f in enumerate(frames)}
    # story -> (outlet, value) -> value, frame mass, articles. The unit that moves as one in
    # the permutation test is an outlet's articles within one group: an outlet writing in
    # two languages counts in both (its lean, an outlet attribute, has one value).
    mass: dict[int, dict[tuple[str, str], np.ndarray]] = defaultdict(dict)
    value_of: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    arts: dict[int, dict[tuple[str, str], set[int]]] = defaultdict(lambda: defaultdict(set))
    for sid, value, outlet, aid, fid, share in rows:
        if fid not in index:
            continue
        unit = (outlet, value)
        vec = mass[sid].setdefault(unit, np.zeros(len(frames)))
        vec[index[fid]] += share
        value_of[sid][unit] = value
        arts[sid][unit].add(aid)
    found: list[Split] = []
    for sid in sorted(mass):
        s = _judge(sid, mass[sid], value_of[sid], arts[sid], frames, cfg)
        if s is not None:
            found.append(s)
    for s, q in zip(found, stats.bh_adjust([s.p_value for s in found]), strict=True):
        s.q_value = _r(q)
        s.holds_up = q <= cfg.false_discovery_rate
    if holding_only:
        found = [s for s in found if s.holds_up]
    # Ties go to the better-covered story, then the older id: nothing left to chance.
    found.sort(key=lambda s: (-s.divergence_shrunk, -sum(s.articles.values()), s.story_id))
    found = found[:limit] if limit else found
    for s in found:
        head = con.execute(
            "SELECT headline, label FROM stories WHERE id = ?", [s.story_id]
        ).fetchone()
        s.headline, s.label = (head[0] or "", head[1] or "") if head else ("", "")
    desk = headlines_in(con, [s.story_id for s in found], languages)
    for s in found:
        s.headline = desk.get(s.story_id, s.headline)
    if evidence_per_group:
        add_evidence(con, found, by, codebook, since, until, evidence_per_group, languages)
    return found


def add_evidence(con, splits: list[Split], by: str, codebook: str, since: date | None = None,
                 until: date | None = None, per_group: int = 2,
                 languages: list[str] | None = None) -> None:  # fmt: skip
    """Fill each split's evidence: per group, the strongest sentence of its top frames.

    One query for every split: the best sentence per story, group and frame."""
    if not splits:
        return
    in_languages, language_params = sql_condition("x.language", languages)
    rows = con.execute(
        f"""SELECT x.story_id, oa.value, e.frame_id, e.sentence, x.outlet, e.score
           FROM frame_evidence e
           JOIN article_coverage x ON x.article_id = e.article_id
           JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
           WHERE x.story_id IN (SELECT unnest(?)) AND NOT x.outlet_repeat AND e.codebook_id = ?
             AND (?::DATE IS NULL OR x.day >= ?::DATE) AND (?::DATE IS NULL OR x.day <= ?::DATE)
             AND {in_languages}
           QUALIFY row_number() OVER (PARTITION BY x.story_id, oa.value, e.frame_id
                                      ORDER BY e.score DESC, e.article_id, e.rank) = 1""",
        [by, [s.story_id for s in splits], codebook, since, since, until, until,
         *language_params],
    ).fetchall()  # fmt: skip
    best = {(sid, v, f): (sentence, outlet, score) for sid, v, f, sentence, outlet, score in rows}
    for s in splits:
        s.evidence = {}
        for value, shares in s.groups.items():
            top = sorted(shares, key=lambda f: (-shares[f], f))[:per_group]
            s.evidence[value] = [
                Evidence(f, best[k][0], best[k][1] or "", round(float(best[k][2]), 3))
                for f in top if (k := (s.story_id, value, f)) in best
            ]  # fmt: skip


def _judge(sid, mass, value_of, arts, frames, cfg: CompareSettings) -> Split | None:
    """One story's split: shares, shrunk divergence, intervals and permutation p-value."""
    outlets = sorted(mass)  # (outlet, value) units
    counts: dict[str, int] = defaultdict(int)
    for o in outlets:
        counts[value_of[o]] += len(arts[o])
    values = sorted(v for v, n in counts.items() if n >= cfg.min_group_articles)
    if len(values) < 2:
        return None
    outlets = [o for o in outlets if value_of[o] in values]
    labels = np.array([values.index(value_of[o]) for o in outlets])
    o_mass = np.array([mass[o] for o in outlets])
    o_arts = np.array([float(len(arts[o])) for o in outlets])
    onehot = (labels[None, :] == np.arange(len(values))[:, None]).astype(float)
    g_mass, g_n = onehot @ o_mass, onehot @ o_arts
    overall = o_mass.sum(axis=0) / o_mass.sum()
    own = g_mass / g_mass.sum(axis=1, keepdims=True)
    shrunk = stats.shrink(g_mass, g_n, overall, cfg.prior_articles)
    d_shrunk, pairs = stats.max_pair_divergence(shrunk)
    raw, _ = stats.max_pair_divergence(own)
    pair_d = [stats.js_bits(shrunk[a], shrunk[b]) for a, b in pairs]
    a, b = pairs[int(np.argmax(np.round(pair_d, 9)))]  # first of equal pairs, in value order
    rng = np.random.default_rng([cfg.seed, sid])
    div_iv = stats.divergence_interval(g_mass, g_n, overall, cfg.prior_articles, rng)
    _, p = stats.permutation_p(o_mass, o_arts, labels, cfg.prior_articles, rng, cfg.permutations)
    lo, hi = jeffreys_intervals(g_n[:, None] * own, g_n[:, None])
    return Split(
        sid, "", "", _r(raw), (values[a], values[b]),
        {v: {f: _r(own[i, j]) for j, f in enumerate(frames) if own[i, j] > 0}
         for i, v in enumerate(values)},
        {v: counts[v] for v in values},
        outlets={v: int((labels == i).sum()) for i, v in enumerate(values)},
        divergence_shrunk=_r(d_shrunk),
        divergence_interval=(_r(div_iv[0]), _r(div_iv[1])),
        intervals={
            v: {f: (_r(lo[i, j]), _r(hi[i, j])) for j, f in enumerate(frames) if overall[j] > 0}
            for i, v in enumerate(values)
        },
        p_value=_r(p),
    )  # fmt: skip
