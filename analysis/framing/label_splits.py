"""Seeded train/test splits for labelled frames: stratified k-fold and few-shot.

Multi-label stratification: each row is stratified on its rarest frame (or "none"),
so every fold sees rare frames in proportion; scikit-learn's StratifiedKFold does
the assignment. Same rows and seed, same folds.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def strata(y: list[list[str]]) -> list[str]:
    """One stratum a row: its rarest frame (ties by name), or "none"."""
    counts = Counter(f for fs in y for f in fs)
    return [min(fs, key=lambda f: (counts[f], f)) if fs else "none" for fs in y]


def kfold(y: list[list[str]], k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays; strata too small for k folds are spread at random."""
    from sklearn.model_selection import KFold, StratifiedKFold

    k = max(2, min(k, len(y)))
    s = strata(y)
    counts = Counter(s)
    s = [x if counts[x] >= k else "_rare" for x in s]
    idx = np.arange(len(y))
    if min(Counter(s).values()) >= k:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in splitter.split(idx, s)]
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(idx))


def few_shot(
    y: list[list[str]], frames: list[str], k: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """K rows a frame for training (rarest frames pick first), every other row for testing.

    Rows without frames are "none" examples: K of them too when the data has any.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    chosen: set[int] = set()
    counts = Counter(f for fs in y for f in fs)
    wanted = sorted((f for f in frames if counts[f]), key=lambda f: (counts[f], f))
    if any(not fs for fs in y):
        wanted.append("")
    for f in wanted:
        have = sum(1 for i in chosen if (f in y[i] if f else not y[i]))
        for i in order:
            if have >= k:
                break
            if i not in chosen and (f in y[i] if f else not y[i]):
                chosen.add(int(i))
                have += 1
    train = np.array(sorted(chosen), dtype=int)
    test = np.array([i for i in range(len(y)) if i not in chosen], dtype=int)
    return train, test
