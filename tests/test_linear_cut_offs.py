"""The linear head's multi-label decision: which cut-offs, and whether a row may get no frame."""

from __future__ import annotations

import numpy as np

from framewatch.analysis.framing.label_splits import kfold
from framewatch.analysis.framing.linear import _best_thresholds, _thresholds, fit


def _held_out(
    seed: int, rare_scale: tuple[float, float], n_rare: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Held-out probabilities of a common frame (60 of 120 rows) and a rarer one."""
    rng = np.random.default_rng(seed)
    n = 120
    Y = np.zeros((n, 2), int)
    Y[:60, 0] = 1
    Y[rng.choice(n, n_rare, replace=False), 1] = 1
    P = np.zeros((n, 2))
    P[:, 0] = np.where(Y[:, 0] == 1, rng.uniform(0.45, 1, n), rng.uniform(0, 0.55, n))
    lo, hi = rare_scale  # the rare frame's negatives reach up to hi; positives start at lo
    P[:, 1] = np.where(Y[:, 1] == 1, rng.uniform(lo, 1, n), rng.uniform(0, hi, n))
    return Y, P


def _folds(Y: np.ndarray):
    return kfold([[f for f, v in zip("ab", row, strict=True) if v] for row in Y], 3, 0)


def test_a_rare_frame_on_the_common_scale_often_shares_the_cut_off_of_the_others():
    """Five positives are too few to fit a cut-off on: where one shared cut-off cuts
    held-out rows better, both frames get it."""
    shared = 0
    for seed in range(10):
        Y, P = _held_out(seed, (0.45, 0.55))
        thr = _thresholds(Y, P, _folds(Y), at_least_one=False)
        shared += bool(thr[0] == thr[1] and not np.array_equal(thr, _best_thresholds(Y, P)))
    assert shared >= 3


def test_frames_scored_on_different_scales_keep_their_own_cut_offs():
    for seed in range(10):
        Y, P = _held_out(seed, (0.8, 0.75), n_rare=20)  # its negatives reach 0.75
        thr = _thresholds(Y, P, _folds(Y), at_least_one=False)
        assert np.array_equal(thr, _best_thresholds(Y, P)) and thr[1] >= 0.75 > thr[0]


def _two_frame_rows(seed: int, n: int = 90):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = [["a"] if x[0] > 0 else ["b"] for x in X]
    for i in range(0, n, 7):  # some rows carry both frames
        y[i] = ["a", "b"]
    return X, y


def test_every_row_gets_a_frame_when_every_training_row_had_one():
    X, y = _two_frame_rows(1)
    clf = fit(X, y, ["a", "b", "c"], n_profile=0, multi_label=True)
    far = np.zeros((1, 4), np.float32)  # on the boundary: neither frame is likely
    far[0, 0] = 0.01
    assert clf.at_least_one
    assert clf.predict_sets(far)[0] and all(clf.predict_sets(X))


def test_a_row_may_get_no_frame_when_training_rows_had_none():
    X, y = _two_frame_rows(1)
    for i in range(1, len(y), 5):
        y[i] = []
    clf = fit(X, y, ["a", "b", "c"], n_profile=0, multi_label=True)
    assert not clf.at_least_one
    assert any(not s for s in clf.predict_sets(X))
