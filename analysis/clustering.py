"""Online story clustering: one pass in publication order, linear in the article count.

An article joins the most similar story that was active within the time window if
the cosine similarity to that story's centroid clears the threshold; otherwise it
founds a new story. Only stories active within the window are compared, so the
cost per article is bounded by how many stories run at once, not by history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np


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
    recent: list[tuple[int, np.ndarray]] = field(default_factory=list)  # for copy detection


class OnlineClusterer:
    """Assigns articles to stories; keeps only stories active within the window."""

    RECENT_MEMBERS = 64

    def __init__(self, threshold: float, window_days: float, duplicate_threshold: float):
        self.threshold = threshold
        self.window = timedelta(days=window_days)
        self.duplicate_threshold = duplicate_threshold
        self._stories: dict[int, _Story] = {}
        self._keys: list[int] = []
        self._matrix: np.ndarray | None = None  # normalised centroids of self._keys
        self._dirty = True
        self._next_new = -1
        self.touched: set[int] = set()
        self._retired: dict[int, _Story] = {}  # expired this batch, not yet persisted

    def load(self, key: int, centroid: np.ndarray, size: int, first: datetime, last: datetime,
             recent: list[tuple[int, np.ndarray]] | None = None) -> None:  # fmt: skip
        """Resume from a stored story (its mean vector and size)."""
        self._stories[key] = _Story(key, centroid * size, size, first, last, recent or [])
        self._dirty = True

    def _expire(self, now: datetime) -> None:
        old = [k for k, s in self._stories.items() if s.last < now - self.window]
        for k in old:
            s = self._stories.pop(k)
            if k in self.touched:
                self._retired[k] = s
        if old:
            self._dirty = True

    def _centroids(self) -> tuple[list[int], np.ndarray]:
        if self._dirty:
            self._keys = list(self._stories)
            if self._keys:
                m = np.stack([self._stories[k].total for k in self._keys])
                m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
                self._matrix = m.astype(np.float32)
            else:
                self._matrix = None
            self._dirty = False
        return self._keys, self._matrix  # type: ignore[return-value]

    def add(self, article_id: int, vec: np.ndarray, when: datetime) -> Assignment:
        self._expire(when)
        keys, matrix = self._centroids()
        best_key, best_sim = None, -1.0
        if matrix is not None:
            sims = matrix @ vec
            i = int(np.argmax(sims))
            if sims[i] >= self.threshold and self._stories[keys[i]].first - self.window <= when:
                best_key, best_sim = keys[i], float(sims[i])
        if best_key is None:
            key = self._next_new
            self._next_new -= 1
            self._stories[key] = _Story(key, vec.astype(np.float32).copy(), 1, when, when)
            self._stories[key].recent.append((article_id, vec))
            self._dirty = True
            self.touched.add(key)
            return Assignment(key, 1.0)
        story = self._stories[best_key]
        dup, dup_sim = None, 0.0
        for other_id, other in story.recent:
            s = float(other @ vec)
            if s >= self.duplicate_threshold and s > dup_sim:
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
            row = story.total / max(np.linalg.norm(story.total), 1e-12)
            matrix[i] = row
        self.touched.add(best_key)
        return Assignment(best_key, best_sim, dup, dup_sim)

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
        """The touched stories are persisted: forget the ones that expired."""
        self.touched = set()
        self._retired = {}


def bcubed(pred: list, gold: list) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering against gold clusters."""
    from collections import Counter

    pair = Counter(zip(pred, gold, strict=True))
    pc, gc = Counter(pred), Counter(gold)
    n = len(pred)
    p = sum(c * c / pc[k[0]] for k, c in pair.items()) / n
    r = sum(c * c / gc[k[1]] for k, c in pair.items()) / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
