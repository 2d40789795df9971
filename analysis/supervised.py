"""Supervised framing: a scikit-learn classifier over embeddings once labels exist.

Features are the article's embedding plus its zero-shot frame profile (shares and
strongest sentence scores), both derived from the same embedding model. One
logistic regression per frame (one-vs-rest), so an article may carry several frames.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np

from framewatch.errors import FramewatchError


@dataclass
class FrameClassifier:
    frames: list[str]
    estimator: object  # a fitted sklearn OneVsRestClassifier

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(X)

    def predict_sets(self, X: np.ndarray, cutoff: float = 0.5) -> list[list[str]]:
        """Frames at or above the cutoff, and always the most probable one."""
        proba = self.predict_proba(X)
        out = []
        for row in proba:
            chosen = [self.frames[j] for j in np.flatnonzero(row >= cutoff)]
            top = self.frames[int(row.argmax())]
            out.append([top] + [f for f in chosen if f != top])
        return out

    def dumps(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def loads(blob: bytes) -> FrameClassifier:
        obj = pickle.loads(blob)  # noqa: S301 - our own model, from our own store
        if not isinstance(obj, FrameClassifier):
            raise FramewatchError("stored framing model is not a FrameClassifier")
        return obj


def features(embeddings: np.ndarray, profiles: np.ndarray) -> np.ndarray:
    return np.hstack([embeddings, profiles]).astype(np.float32)


def fit(X: np.ndarray, y: list[list[str]], frames: list[str]) -> FrameClassifier:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=frames)
    Y = mlb.fit_transform(y)
    est = OneVsRestClassifier(LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000))
    est.fit(X, Y)
    return FrameClassifier(list(frames), est)


def scores(gold: list[list[str]], pred: list[list[str]], frames: list[str]) -> dict:
    """Accuracy (top prediction among gold), macro/micro F1, per-frame P/R/F1."""
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
        "accuracy": round(
            float(np.mean([bool(pr) and pr[0] in g for g, pr in zip(gold, pred, strict=True)])), 4
        ),
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


def cross_validate(
    X: np.ndarray, y: list[list[str]], frames: list[str], k: int = 5
) -> tuple[dict, list[list[str]]]:
    """K-fold out-of-fold predictions and their scores."""
    from sklearn.model_selection import KFold

    k = max(2, min(k, len(y)))
    pred: list[list[str]] = [[] for _ in y]
    for train, test in KFold(n_splits=k, shuffle=True, random_state=0).split(X):
        present = sorted({f for i in train for f in y[i]})
        if len(present) < 2:
            continue
        clf = fit(X[train], [y[i] for i in train], [f for f in frames if f in present])
        for i, s in zip(test, clf.predict_sets(X[test]), strict=True):
            pred[i] = s
    return scores(y, pred, frames), pred
