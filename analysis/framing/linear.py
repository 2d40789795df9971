"""Supervised framing: a regularised linear head over frozen embeddings once labels exist.

Features are the article's embedding plus its zero-shot frame profile (shares and
strongest sentence scores), both from the same embedding model, so the codebook
still speaks when labels are few. The codebook's descriptions and examples join the
training rows as labelled examples of their frame (the prior). Regularisation is
chosen by cross-validation inside the training rows only. Labels with one frame
a row give a multinomial model (the top frame wins); otherwise each frame gets
its own probability and threshold, and an article may get several frames, or none
when some training rows have none (else its likeliest frame).
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass

import numpy as np

from framewatch.errors import FramewatchError

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
# Inner-CV scores this close to the best count as a tie; ties go to the simpler model
# (smaller C, then lighter profile), as a one-standard-error rule does.
TIE = 0.01
# Weight of the zero-shot profile beside the embedding, after standardising: it carries
# the codebook, which helps when the codebook fits the labels and hurts when it does not.
# 10 lets a codebook that already frames well lead (sample corpus 5-fold: 0.886 -> 0.971
# accuracy); inner CV picks 0 on FrAC, where the codebook adds little.
PROFILE_GRID = (0.0, 1.0, 3.0, 10.0)
INNER_FOLDS = 3
PRIOR_WEIGHT = 1.0  # a codebook sentence counts as much as one labelled article


@dataclass
class FrameClassifier:
    frames: list[str]
    estimator: object  # a fitted sklearn Pipeline (scaler + logistic regression)
    multi_label: bool = True
    thresholds: np.ndarray | None = None  # per frame, multi-label only
    C: float = 1.0
    profile_weight: float = 1.0
    # Multi-label: every training row had a frame, so no prediction is left empty.
    at_least_one: bool = False

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _proba(self.estimator, X, len(self.frames))

    def predict_sets(self, X: np.ndarray) -> list[list[str]]:
        """Single-label: the top frame. Multi-label: every frame over its threshold (or none)."""
        return sets_from_proba(self.predict_proba(X), self.frames, self.multi_label,
                               self.thresholds, self.at_least_one)  # fmt: skip

    def dumps(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def loads(blob: bytes) -> FrameClassifier:
        obj = pickle.loads(blob)  # noqa: S301 - our own model, from our own store
        if not isinstance(obj, FrameClassifier):
            raise FramewatchError("stored framing model is not a FrameClassifier")
        return obj


def sets_from_proba(
    proba: np.ndarray, frames: list[str], multi_label: bool, thresholds: np.ndarray | None,
    at_least_one: bool = False,
) -> list[list[str]]:  # fmt: skip
    out = []
    for row in proba:
        order = np.argsort(-row, kind="stable")
        if not multi_label:
            out.append([frames[int(order[0])]])
            continue
        thr = thresholds if thresholds is not None else np.full(len(frames), 0.5)
        chosen = [frames[int(j)] for j in order if row[j] >= thr[j]]
        out.append(chosen or ([frames[int(order[0])]] if at_least_one and len(row) else []))
    return out


def features(embeddings: np.ndarray, profiles: np.ndarray) -> np.ndarray:
    return np.hstack([embeddings, profiles]).astype(np.float32)


def is_multi_label(y: list[list[str]]) -> bool:
    return any(len(fs) != 1 for fs in y)


def _proba(est, X: np.ndarray, n_frames: int) -> np.ndarray:
    p = est.predict_proba(X)
    return np.asarray(p, dtype=np.float64).reshape(len(X), n_frames)


class ProfileWeight:
    """Scales the last ``n`` feature columns (the zero-shot profile) by ``weight``."""

    def __init__(self, n: int = 0, weight: float = 1.0):
        self.n, self.weight = n, weight

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = np.array(X, dtype=np.float64, copy=True)
        if self.n:
            X[:, -self.n :] *= self.weight
        return X

    def get_params(self, deep=True):
        return {"n": self.n, "weight": self.weight}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self


def _estimator(C: float, multi_label: bool, n_profile: int = 0, weight: float = 1.0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lr = LogisticRegression(C=C, max_iter=1000, class_weight="balanced" if multi_label else None)
    return make_pipeline(StandardScaler(), ProfileWeight(n_profile, weight),
                         OneVsRestClassifier(lr) if multi_label else lr)  # fmt: skip


def _fit_one(X, Y, w, C, multi_label, n_profile, weight):
    est = _estimator(C, multi_label, n_profile, weight)
    target = Y if multi_label else Y.argmax(axis=1)
    last = est.steps[-1][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if multi_label:
            est.fit(X, target)  # OneVsRest does not route sample weights
        else:
            est.fit(X, target, **{f"{last}__sample_weight": w})
    return est


def _full_proba(est, X, frames_idx, n_frames):
    """Probabilities over all frames, zero for frames the estimator never saw."""
    p = _proba(est, X, len(frames_idx))
    out = np.zeros((len(X), n_frames))
    out[:, frames_idx] = p
    return out


THRESHOLD_GRID = np.round(np.arange(0.1, 0.91, 0.05), 2)


def _best_thresholds(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Per frame, the cut-off that maximises that frame's F1 on held-out probabilities."""
    thr = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        if Y[:, j].any():
            thr[j] = _best_cut(Y[:, j], P[:, j])
    return thr


def _shared_threshold(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """One cut-off for every frame: the one that maximises micro-F1."""
    return np.full(Y.shape[1], _best_cut(Y.ravel(), P.ravel()))


def _best_cut(y: np.ndarray, p: np.ndarray) -> float:
    best = (0.0, 0.0, 0.5)  # (f1, closeness to 0.5, threshold): ties go to 0.5
    for t in THRESHOLD_GRID:
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        f1 = 2 * tp / (pred.sum() + y.sum()) if tp else 0.0
        best = max(best, (round(f1, 9), -abs(t - 0.5), float(t)))
    return best[2]


def _thresholds(Y: np.ndarray, P: np.ndarray, folds: list, at_least_one: bool) -> np.ndarray:
    """Per-frame cut-offs, or one shared by all frames where that does better.

    A frame with few examples gets a cut-off fitted to a handful of rows, which can
    cost more than it gains. Which of the two is used is decided on rows the cut-offs
    were not set on: each inner fold's rows are cut by thresholds set on the other
    folds' held-out probabilities. Ties keep per-frame cut-offs.
    """
    if len(folds) < 2:
        return _best_thresholds(Y, P)
    own, shared = np.zeros_like(Y), np.zeros_like(Y)
    for tr, te in folds:
        own[te] = _sets_matrix(P[te], _best_thresholds(Y[tr], P[tr]), at_least_one)
        shared[te] = _sets_matrix(P[te], _shared_threshold(Y[tr], P[tr]), at_least_one)
    if _micro_f1(Y, shared) > _micro_f1(Y, own):
        return _shared_threshold(Y, P)
    return _best_thresholds(Y, P)


def _micro_f1(Y: np.ndarray, pred: np.ndarray) -> float:
    """Rounded, so that float noise never decides between two ways of cutting."""
    from sklearn.metrics import f1_score

    return round(float(f1_score(Y, pred, average="micro", zero_division=0)), 9)


def fit(
    X: np.ndarray, y: list[list[str]], frames: list[str],
    prior: tuple[np.ndarray, list[str]] | None = None, seed: int = 0,
    multi_label: bool | None = None, n_profile: int | None = None, blas_threads: int | None = 1,
) -> FrameClassifier:  # fmt: skip
    """Choose C (and thresholds) by inner CV on (X, y), then fit on everything.

    The fits are small (tens to thousands of rows), so BLAS threads mostly wait on each
    other: one thread (``blas_threads``; None: as many as BLAS likes) makes the 61 fits of
    a call several times faster on two cores, with the same result (`make bench`).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _fit(X, y, frames, prior, seed, multi_label, n_profile)


def _fit(X, y, frames, prior, seed, multi_label, n_profile) -> FrameClassifier:
    from framewatch.analysis.framing.label_splits import kfold

    multi = is_multi_label(y) if multi_label is None else multi_label
    n_profile = 2 * len(frames) if n_profile is None else n_profile
    fidx = {f: j for j, f in enumerate(frames)}
    Y = np.zeros((len(y), len(frames)), dtype=int)
    for i, fs in enumerate(y):
        for f in fs:
            if f in fidx:
                Y[i, fidx[f]] = 1
    if prior is not None and len(prior[1]):
        Xp = prior[0]
        Yp = np.zeros((len(prior[1]), len(frames)), dtype=int)
        for i, f in enumerate(prior[1]):
            Yp[i, fidx[f]] = 1
    else:
        Xp, Yp = np.zeros((0, X.shape[1]), np.float32), np.zeros((0, len(frames)), int)

    def train(tr: np.ndarray, C: float, pw: float):
        Xt = np.vstack([X[tr], Xp])
        Yt = np.vstack([Y[tr], Yp])
        w = np.concatenate([np.ones(len(tr)), np.full(len(Xp), PRIOR_WEIGHT)])
        if multi:
            seen = np.flatnonzero(Yt.any(axis=0) & ~Yt.all(axis=0))
        else:
            seen = np.flatnonzero(Yt.any(axis=0))
            keep = Yt[:, seen].any(axis=1)
            Xt, Yt, w = Xt[keep], Yt[keep], w[keep]
        return _fit_one(Xt, Yt[:, seen], w, C, multi, n_profile, pw), seen

    at_least_one = multi and bool(len(Y)) and bool(Y.any(axis=1).all())
    folds = kfold(y, INNER_FOLDS, seed) if len(y) >= 2 * INNER_FOLDS else []
    grid = [(C, pw) for pw in PROFILE_GRID for C in C_GRID] if folds else [(0.1, 1.0)]
    tried = []
    for C, pw in grid:
        oof = np.zeros((len(y), len(frames)))
        for tr, te in folds:
            est, seen = train(tr, C, pw)
            oof[te] = _full_proba(est, X[te], seen, len(frames))
        if multi:
            thr = _best_thresholds(Y, oof)
            score = _micro_f1(Y, _sets_matrix(oof, thr, at_least_one))
        else:
            score = float(np.mean(Y[np.arange(len(y)), oof.argmax(axis=1)]))
        tried.append((float(score), C, pw, oof))
    top = max(t[0] for t in tried)
    _, best_c, best_pw, best_oof = min(
        (t for t in tried if t[0] >= top - TIE), key=lambda t: (t[1], t[2])
    )
    est, seen = train(np.arange(len(y)), best_c, best_pw)
    used = [frames[j] for j in seen]
    thresholds = None
    if multi:
        thresholds = _thresholds(Y, best_oof, folds, at_least_one)[seen]
    return FrameClassifier(used, est, multi, thresholds, best_c, best_pw, at_least_one)


def _sets_matrix(proba: np.ndarray, thr: np.ndarray, at_least_one: bool) -> np.ndarray:
    """0/1 predictions as ``sets_from_proba`` makes them, for scoring held-out rows."""
    pred = (proba >= thr).astype(int)
    if at_least_one:
        empty = ~pred.any(axis=1)
        pred[np.flatnonzero(empty), proba[empty].argmax(axis=1)] = 1
    return pred


def scores(gold: list[list[str]], pred: list[list[str]], frames: list[str]) -> dict:
    """Accuracy (top prediction among gold; an empty gold set needs an empty prediction),
    macro/micro F1, per-frame P/R/F1."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=frames)
    G, P = mlb.fit_transform(gold), mlb.transform(pred)
    p, r, f, support = precision_recall_fscore_support(G, P, zero_division=0)
    # Macro averages over frames that occur in the gold labels or the predictions:
    # a frame nobody used says nothing about the method.
    used = [j for j in range(len(frames)) if G[:, j].any() or P[:, j].any()]
    return {
        "n": len(gold),
        "accuracy": round(accuracy(gold, pred), 4),
        "macro_f1": round(
            float(f1_score(G[:, used], P[:, used], average="macro", zero_division=0)), 4
        )
        if used
        else 0.0,
        "micro_f1": round(float(f1_score(G, P, average="micro", zero_division=0)), 4),
        "per_frame": {
            fr: {
                "precision": round(float(p[j]), 4),
                "recall": round(float(r[j]), 4),
                "f1": round(float(f[j]), 4),
                "support": int(support[j]),
            }  # fmt: skip
            for j, fr in enumerate(frames)
        },
    }


def accuracy(gold: list[list[str]], pred: list[list[str]]) -> float:
    hits = [
        (pr[0] in g) if (g and pr) else (not g and not pr) for g, pr in zip(gold, pred, strict=True)
    ]
    return float(np.mean(hits)) if hits else 0.0
