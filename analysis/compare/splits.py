"""Framing splits: the same story framed differently by groups of outlets.

Each group (outlets with one value of an attribute) gets a frame distribution: each
frame's part of the group's framed sentences (the article shares summed, 'none' left
out). The divergence of a story is the largest Jensen-Shannon divergence (base 2, so
0 = same framing, 1 = no frame in common) between two of its groups; the pair is
reported with it. Each group brings its strongest evidence sentences.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
from scipy.spatial.distance import jensenshannon

from framewatch.config import CompareSettings
from framewatch.errors import InputError


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
    divergence: float
    pair: tuple[str, str]  # the two groups that differ most
    groups: dict[str, dict[str, float]]  # value -> {frame -> share of framed sentences}
    articles: dict[str, int]  # value -> framed articles
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)

    def as_json(self) -> dict:
        d = asdict(self)
        d["pair"] = list(self.pair)
        return d


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (scipy returns its square root, the distance)."""
    return float(jensenshannon(p, q, base=2) ** 2)


def find_splits(
    con, by: str, codebook: str, settings: CompareSettings | None = None,
    since: date | None = None, until: date | None = None, story: int | None = None,
    limit: int | None = 20, evidence_per_group: int = 2,
) -> list[Split]:  # fmt: skip
    """Stories covered by two or more groups, most divergent first (ties: more articles)."""
    cfg = settings or CompareSettings()
    frames = [
        r[0]
        for r in con.execute(
            "SELECT frame_id FROM frames WHERE codebook_id = ? ORDER BY position", [codebook]
        ).fetchall()
    ]
    if not frames:
        raise InputError(
            f"no codebook {codebook!r} in this store (see `framewatch codebooks list`)"
        )
    rows = con.execute(
        """SELECT x.story_id, oa.value, x.article_id, af.frame_id, af.share
           FROM article_facts x
           JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
           JOIN article_frames af ON af.article_id = x.article_id AND af.codebook_id = ?
           WHERE x.story_id IS NOT NULL AND af.frame_id <> 'none'
             AND (?::DATE IS NULL OR x.day >= ?::DATE) AND (?::DATE IS NULL OR x.day <= ?::DATE)
             AND (?::BIGINT IS NULL OR x.story_id = ?::BIGINT)""",
        [by, codebook, since, since, until, until, story, story],
    ).fetchall()
    index = {f: i for i, f in enumerate(frames)}
    mass: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    members: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for sid, value, aid, fid, share in rows:
        if fid not in index:
            continue
        vec = mass[sid].setdefault(value, np.zeros(len(frames)))
        vec[index[fid]] += share
        members[sid][value].add(aid)
    found: list[Split] = []
    for sid, groups in mass.items():
        dists = {
            v: vec / vec.sum()
            for v, vec in sorted(groups.items())
            if vec.sum() > 0 and len(members[sid][v]) >= cfg.min_group_articles
        }
        if len(dists) < 2:
            continue
        best, pair = -1.0, ("", "")
        for a, b in itertools.combinations(dists, 2):
            d = round(js_divergence(dists[a], dists[b]), 6)  # rounded: no float-noise ties
            if d > best:
                best, pair = d, (a, b)
        found.append(
            Split(
                sid,
                "",
                "",
                best,
                pair,
                {
                    v: {f: round(float(p[index[f]]), 4) for f in frames if p[index[f]] > 0}
                    for v, p in dists.items()
                },
                {v: len(members[sid][v]) for v in dists},
            )  # fmt: skip
        )
    # Ties (often 1.0: groups with no frame in common) go to the better-covered story.
    found.sort(key=lambda s: (-s.divergence, -sum(s.articles.values()), s.story_id))
    found = found[:limit] if limit else found
    for s in found:
        head = con.execute(
            "SELECT headline, label FROM stories WHERE id = ?", [s.story_id]
        ).fetchone()
        s.headline, s.label = (head[0] or "", head[1] or "") if head else ("", "")
        s.evidence = _evidence(con, s, by, codebook, since, until, evidence_per_group)
    return found


def _evidence(con, s: Split, by, codebook, since, until, per_group) -> dict[str, list[Evidence]]:
    """Per group: the strongest sentence of each of its top frames."""
    out: dict[str, list[Evidence]] = {}
    for value, shares in s.groups.items():
        top = sorted(shares, key=lambda f: (-shares[f], f))[:per_group]
        ev = []
        for frame in top:
            row = con.execute(
                """SELECT e.sentence, x.outlet, e.score FROM frame_evidence e
                   JOIN article_facts x ON x.article_id = e.article_id
                   JOIN article_attributes oa ON oa.article_id = x.article_id AND oa.attribute = ?
                   WHERE x.story_id = ? AND oa.value = ? AND e.codebook_id = ? AND e.frame_id = ?
                     AND (?::DATE IS NULL OR x.day >= ?::DATE) AND (?::DATE IS NULL OR x.day <= ?::DATE)
                   ORDER BY e.score DESC, e.article_id, e.rank LIMIT 1""",
                [by, s.story_id, value, codebook, frame, since, since, until, until],
            ).fetchone()
            if row:
                ev.append(Evidence(frame, row[0], row[1] or "", round(float(row[2]), 3)))
        out[value] = ev
    return out
