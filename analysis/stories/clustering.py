"""Online story clustering: one pass in publication order, linear in the article count.

A story is one event, so it must not grow into a topic on a dense stream. Three
rules keep it an event:

* reach: a story takes articles only while it is fresh, within ``window`` of its
  latest member *and* within ``max_span`` of its first one, so a steady trickle of
  related news cannot keep it open for weeks;
* evidence: an article is scored against the centroid *and* against the story's
  nearest recent members, so one loose member cannot drag the story sideways;
* growth: the bar rises with the story's size (per doubling), so big stories need
  more evidence to grow than pairs do;
* margin: on a crowded day, an article about as close to two open stories is more
  often a third event than a member of either, so the best must beat the runner-up;
* gap (off by default): the bar rises per day since the story's latest member.

Only the stories still open are compared, and only the few nearest by centroid are
scored member by member, so the cost per article is bounded by how many stories run
at once, not by history.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np


@dataclass(frozen=True)
class ClusterParams:
    """The knobs of story clustering (see AnalysisSettings for what each one means)."""

    threshold: float = 0.45
    window_days: float = 4.0
    duplicate_threshold: float = 0.96
    max_span_days: float = 10.0
    member_weight: float = 0.3
    growth_penalty: float = 0.03
    margin: float = 0.2
    gap_penalty: float = 0.0


@dataclass
class Assignment:
    story: int  # a known story id (>= 0 from the store) or a new one (< 0, provisional)
    similarity: float
    duplicate_of: int | None = None  # an article this one is a near-identical copy of
    duplicate_similarity: float = 0.0


@dataclass
class _Story:
    key: int
    total: np.ndarray  # sum of member vectors
    size: int
    first: datetime
    last: datetime
    recent: list[tuple[int, np.ndarray]] = field(default_factory=list)  # nearest-member evidence


class OnlineClusterer:
    """Assigns articles to stories; keeps only the stories that are still open."""

    RECENT_MEMBERS = 64
    CANDIDATES = 8  # stories scored member by member, nearest by centroid first

    def __init__(self, params: ClusterParams):
        self.p = params
        self.window = timedelta(days=params.window_days)
        self.max_span = timedelta(days=max(params.max_span_days, params.window_days))
        self._stories: dict[int, _Story] = {}
        self._keys: list[int] = []
        self._matrix: np.ndarray | None = None  # normalised centroids of self._keys
        self._dirty = True
        self._next_new = -1
        self.touched: set[int] = set()
        self._retired: dict[int, _Story] = {}  # closed this batch, not yet persisted

    def load(self, key: int, centroid: np.ndarray, size: int, first: datetime, last: datetime,
             recent: list[tuple[int, np.ndarray]] | None = None) -> None:  # fmt: skip
        """Resume from a stored story (its mean vector and size)."""
        self._stories[key] = _Story(key, centroid * size, size, first, last, recent or [])
        self._dirty = True

    def open_since(self, now: datetime) -> datetime:
        """The oldest last-seen time of a story that may still take an article at ``now``."""
        return now - self.window

    def _expire(self, now: datetime) -> None:
        old = [
            k
            for k, s in self._stories.items()
            if s.last < now - self.window or s.first < now - self.max_span
        ]
        for k in old:
            s = self._stories.pop(k)
            if k in self.touched:
                self._retired[k] = s
        if old:
            self._dirty = True

    def _centroids(self) -> tuple[list[int], np.ndarray]:
        if self._dirty:
            self._keys = sorted(self._stories)
            if self._keys:
                m = np.stack([self._stories[k].total for k in self._keys])
                m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
                self._matrix = m.astype(np.float32)
            else:
                self._matrix = None
            self._dirty = False
        return self._keys, self._matrix  # type: ignore[return-value]

    def bar(self, size: int) -> float:
        """The score a story of ``size`` members needs to take one more."""
        return self.p.threshold + self.p.growth_penalty * math.log2(max(size, 1))

    def score(self, story: _Story, centroid_sim: float, vec: np.ndarray) -> float:
        """Centroid similarity blended with the mean of the two nearest recent members."""
        w = self.p.member_weight
        if w <= 0 or not story.recent:
            return centroid_sim
        sims = np.sort(np.stack([v for _, v in story.recent]) @ vec)[::-1][:2]
        return (1 - w) * centroid_sim + w * float(sims.mean())

    def add(self, article_id: int, vec: np.ndarray, when: datetime) -> Assignment:
        self._expire(when)
        keys, matrix = self._centroids()
        best_i, best_score = -1, -1.0
        if matrix is not None:
            sims = matrix @ vec
            k = min(self.CANDIDATES, len(keys))
            cand = np.argpartition(-sims, k - 1)[:k] if k < len(keys) else np.arange(len(keys))
            # Nearest first, ties by key, so the pick never hinges on array order.
            ranked = sorted(cand.tolist(), key=lambda j: (-float(sims[j]), keys[j]))
            # On a crowded day an article close to two open stories is a third event
            # more often than a member of either: it must beat the runner-up clearly.
            crowd = float(sims[ranked[1]]) + self.p.margin if len(ranked) > 1 else -1.0
            w = self.p.member_weight
            for i in ranked:
                story = self._stories[keys[i]]
                if (1 - w) * sims[i] + w < self.p.threshold:
                    break  # even identical recent members could not lift it over the bar
                s = self.score(story, float(sims[i]), vec)
                gap = max((when - story.last).total_seconds(), 0.0) / 86400
                if (
                    s >= max(self.bar(story.size) + self.p.gap_penalty * gap, crowd)
                    and story.first - self.window <= when
                    and s > best_score
                ):
                    best_i, best_score = i, s
        if best_i < 0:
            key = self._next_new
            self._next_new -= 1
            self._stories[key] = _Story(key, vec.astype(np.float32).copy(), 1, when, when)
            self._stories[key].recent.append((article_id, vec))
            self._dirty = True
            self.touched.add(key)
            return Assignment(key, 1.0)
        best_key = keys[best_i]
        story = self._stories[best_key]
        dup, dup_sim = None, 0.0
        for other_id, other in story.recent:
            s = float(other @ vec)
            if s >= self.p.duplicate_threshold and s > dup_sim:
                dup, dup_sim = other_id, s
        story.total += vec
        story.size += 1
        story.first = min(story.first, when)
        story.last = max(story.last, when)
        story.recent.append((article_id, vec))
        if len(story.recent) > self.RECENT_MEMBERS:
            story.recent.pop(0)
        # Only this row changed: update it in place rather than rebuilding the matrix.
        if not self._dirty and matrix is not None:
            matrix[best_i] = story.total / max(np.linalg.norm(story.total), 1e-12)
        self.touched.add(best_key)
        return Assignment(best_key, best_score, dup, dup_sim)

    def state(self, key: int) -> tuple[np.ndarray, int, datetime, datetime]:
        s = self._stories.get(key) or self._retired[key]
        return s.total / s.size, s.size, s.first, s.last

    def rekey(self, mapping: dict[int, int]) -> None:
        """Give provisional (new) stories their stored ids."""
        for old, new in mapping.items():
            for pool in (self._stories, self._retired):
                if old in pool:
                    s = pool.pop(old)
                    s.key = new
                    pool[new] = s
        self.touched = {mapping.get(k, k) for k in self.touched}
        self._dirty = True

    def end_batch(self) -> None:
        """The touched stories are persisted: forget the ones that closed."""
        self.touched = set()
        self._retired = {}


def bcubed(pred: list, gold: list) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering against gold clusters."""
    pair = Counter(zip(pred, gold, strict=True))
    pc, gc = Counter(pred), Counter(gold)
    n = len(pred)
    p = sum(c * c / pc[k[0]] for k, c in pair.items()) / n
    r = sum(c * c / gc[k[1]] for k, c in pair.items()) / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
