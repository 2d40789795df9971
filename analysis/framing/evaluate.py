"""Scoring a framing method on labelled texts, beside two baselines in the same split.

A figure alone does not say whether a method is any good, so every run also
scores the majority class and a plain logistic regression on the model's frozen
embeddings over the same training and test rows, and gives 95% bootstrap intervals
for the headline figures. Splits: a separate training file, seeded stratified
k-fold, or K labelled examples a frame (few-shot) with every other row for testing.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from framewatch.analysis.embedding.select import embedder_for
from framewatch.analysis.embedding.stage import article_input
from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.framers import make_framer
from framewatch.analysis.framing.label_files import LabelledText
from framewatch.analysis.framing.label_splits import few_shot, kfold
from framewatch.analysis.framing.linear import features, fit, is_multi_label, scores
from framewatch.analysis.framing.zeroshot import ArticleFraming, SentenceEncoder, ZeroShotFramer
from framewatch.config import AnalysisSettings
from framewatch.errors import InputError

METHODS = ("zero-shot", "linear", "finetune")
DEFAULT_SUPERVISED = "linear"
BOOTSTRAP = 1000
HEADLINE = ("accuracy", "micro_f1", "macro_f1")
ZERO_SHOT_MIN_SHARE = 0.2  # multi-label zero-shot: a frame needs this share of the framed text


def method_name(method: str) -> str:
    """`supervised` is the default supervised method; anything else must be known."""
    m = DEFAULT_SUPERVISED if method == "supervised" else method
    if m not in METHODS:
        raise InputError(f"unknown method {method!r} ({', '.join(METHODS)} or supervised)")
    return m


@dataclass
class Prepared:
    """What every method and baseline needs of the rows, computed once."""

    rows: list[LabelledText]
    emb: np.ndarray  # article embeddings (title + lead)
    framings: list[ArticleFraming]  # zero-shot framing, sentence by sentence
    X: np.ndarray  # embedding + zero-shot profile

    @property
    def gold(self) -> list[list[str]]:
        return [r.frames for r in self.rows]


def prepare(rows: list[LabelledText], framer: ZeroShotFramer, model) -> Prepared:
    framings = framer.frame_articles([(r.title or None, r.text) for r in rows])
    emb = model.embed([article_input(r.title, r.text) for r in rows])
    X = features(emb, np.stack([f.profile for f in framings])) if rows else np.zeros((0, 0))
    return Prepared(rows, emb, framings, X)


def codebook_rows(cb: Codebook) -> list[LabelledText]:
    """The codebook's own words as labelled examples: each description and example."""
    return [
        LabelledText("", t, [f.id]) for f in cb.frames for t in (f.description, *f.all_examples)
    ]


def zero_shot_sets(framings: list[ArticleFraming], multi_label: bool) -> list[list[str]]:
    """Single-label: the primary frame. Multi-label: each frame holding a fair share of the
    framed sentences (several or none)."""
    out = []
    for f in framings:
        if not multi_label:
            out.append([f.primary] if f.primary else [])
            continue
        framed = sum(f.shares.values())
        chosen = sorted((s, fid) for fid, s in f.shares.items()
                        if framed > 0 and s / framed >= ZERO_SHOT_MIN_SHARE)  # fmt: skip
        out.append([fid for _, fid in reversed(chosen)])
    return out


class Evaluation:
    """One labelled set, one codebook: methods and baselines share the prepared rows."""

    def __init__(self, rows: list[LabelledText], cb: Codebook, settings: AnalysisSettings,
                 train_rows: list[LabelledText] | None = None, seed: int = 0,
                 on_progress=None):  # fmt: skip
        self.cb, self.settings, self.seed = cb, settings, seed
        self.model = embedder_for(settings)
        self.framer = make_framer(
            cb, settings, SentenceEncoder(self.model, batch_size=max(settings.batch_size, 128))
        )
        self.n_eval = len(rows)
        self.data = prepare(rows + (train_rows or []), self.framer, self.model)
        self.prior = prepare(codebook_rows(cb), self.framer, self.model)
        self.multi = is_multi_label(self.data.gold)
        self.on_progress = on_progress

    # -- splits ---------------------------------------------------------------------
    def splits(self, cv: int | None, k_shot: int | None, has_train: bool):
        n, gold = self.n_eval, self.data.gold[: self.n_eval]
        if has_train:
            return [(np.arange(n, len(self.data.rows)), np.arange(n))], "train file"
        if k_shot:
            tr, te = few_shot(gold, self.cb.frame_ids, k_shot, self.seed)
            if not len(te):
                raise InputError(f"--few-shot {k_shot} leaves no rows to test on")
            return [(tr, te)], f"few-shot {k_shot} a frame"
        folds = cv or 5
        return kfold(gold, folds, self.seed), f"{min(folds, n)}-fold"

    # -- predictors: (train indices, test indices) -> predicted frame sets ------------
    def predict(self, method: str, tr: np.ndarray, te: np.ndarray) -> list[list[str]]:
        gold = self.data.gold
        if method == "zero-shot":
            return zero_shot_sets([self.data.framings[i] for i in te], self.multi)
        if method in ("linear", "finetune"):
            clf = fit(self.data.X[tr], [gold[i] for i in tr], self.cb.frame_ids,
                      prior=(self.prior.X, [r.frames[0] for r in self.prior.rows]),
                      seed=self.seed, multi_label=self.multi)  # fmt: skip
            if method == "linear":
                return clf.predict_sets(self.data.X[te])
            from framewatch.analysis.framing.finetune import finetune

            ft = finetune([self.data.rows[i] for i in tr], self.cb, self.settings,
                          multi_label=self.multi, seed=self.seed, max_steps=self.settings.finetune_steps,
                          on_progress=self.on_progress)  # fmt: skip
            docs = [(self.data.rows[i].title, self.data.rows[i].text) for i in te]
            return ft.blended_sets(docs, clf, self.data.X[te], self.cb.frame_ids)
        if method == "majority":
            return majority(self.data.gold, tr, len(te), self.multi)
        if method == "logistic_regression":
            return plain_logistic(self.data.emb, gold, tr, te, self.cb.frame_ids, self.multi)
        raise InputError(f"unknown method {method!r}")

    def run(self, method: str, cv: int | None = None, k_shot: int | None = None,
            has_train: bool = False, baselines: bool = True) -> dict:  # fmt: skip
        needs_labels = method != "zero-shot" or cv or k_shot or has_train
        splits, protocol = self.splits(cv, k_shot, has_train)
        # plain zero-shot: every row is a test row (the baselines still need a split)
        main_splits = splits if needs_labels else [(np.arange(0), np.arange(self.n_eval))]
        result = self._score(method, main_splits)
        result["protocol"] = protocol if needs_labels else "all rows (no training)"
        if baselines:
            result["baselines"] = {
                b: _headline(self._score(b, splits)) for b in ("majority", "logistic_regression")
            }
            result["baselines"]["protocol"] = protocol
        result["multi_label"] = self.multi
        return result

    def _score(self, method: str, splits) -> dict:
        pred: dict[int, list[str]] = {}
        for tr, te in splits:
            for i, p in zip(te, self.predict(method, tr, te), strict=True):
                pred[int(i)] = p
        idx = sorted(pred)
        gold = [self.data.gold[i] for i in idx]
        preds = [pred[i] for i in idx]
        out = scores(gold, preds, self.cb.frame_ids)
        out["per_language"] = self._per_language(idx, gold, preds)
        out["ci95"] = bootstrap_ci(gold, preds, self.cb.frame_ids, self.seed)
        out["confusion"] = confusion(gold, preds)
        return out

    def _per_language(self, idx: list[int], gold, preds) -> dict[str, dict]:
        """Headline figures of each language's rows (the file's `language` column, else
        detected), beside the overall ones; "?" for rows too short to tell."""
        langs = [self.data.rows[i].language or "?" for i in idx]
        out = {}
        for lang in sorted(set(langs)):
            sel = [k for k, x in enumerate(langs) if x == lang]
            sc = scores([gold[k] for k in sel], [preds[k] for k in sel], self.cb.frame_ids)
            out[lang] = {k: sc[k] for k in ("n", *HEADLINE)}
        return out

    def learning_curve(self, method: str, sizes: list[int], seeds: int = 3) -> list[dict]:
        """Mean headline score of the method and the LR baseline at K labels a frame."""
        key = "micro_f1" if self.multi else "accuracy"
        gold = self.data.gold[: self.n_eval]
        points = []
        for k in sizes:
            row: dict = {"per_frame": k, "metric": key}
            for m in (method, "logistic_regression"):
                vals, n_train = [], 0
                for s in range(seeds):
                    tr, te = few_shot(gold, self.cb.frame_ids, k, self.seed + s)
                    if not len(te):
                        continue
                    n_train = len(tr)
                    p = self.predict(m, tr, te)
                    vals.append(scores([gold[i] for i in te], p, self.cb.frame_ids)[key])
                row[m] = round(float(np.mean(vals)), 4) if vals else None
                row["n_train"] = n_train
            points.append(row)
        return points


def _headline(result: dict) -> dict:
    return {k: result[k] for k in ("n", *HEADLINE, "ci95", "per_frame", "per_language")}


def majority(gold: list[list[str]], tr: np.ndarray, n_test: int, multi: bool) -> list[list[str]]:
    """The most common label set of the training rows (ties by name)."""
    counts = Counter(tuple(sorted(gold[i])) for i in tr)
    best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else ()
    return [list(best) for _ in range(n_test)]


def plain_logistic(
    emb: np.ndarray, gold: list[list[str]], tr: np.ndarray, te: np.ndarray, frames: list[str],
    multi: bool,
) -> list[list[str]]:  # fmt: skip
    """The baseline a user would write: scikit-learn's default LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on small fits threads only wait on each other (see linear.fit).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        if not multi:
            y = [gold[i][0] for i in tr]
            if len(set(y)) < 2:
                return [[y[0]] for _ in te]
            clf = LogisticRegression(max_iter=2000).fit(emb[tr], y)
            return [[p] for p in clf.predict(emb[te])]
        mlb = MultiLabelBinarizer(classes=frames)
        Y = mlb.fit_transform([gold[i] for i in tr])
        clf = OneVsRestClassifier(LogisticRegression(max_iter=2000)).fit(emb[tr], Y)
        P = clf.predict(emb[te])
        return [[frames[j] for j in np.flatnonzero(row)] for row in P]


def bootstrap_ci(
    gold: list[list[str]], pred: list[list[str]], frames: list[str], seed: int = 0,
    n: int = BOOTSTRAP,
) -> dict[str, list[float]]:  # fmt: skip
    """95% percentile intervals of accuracy, micro-F1 and macro-F1 over resampled rows."""
    if not gold:
        return {k: [0.0, 0.0] for k in HEADLINE}
    fidx = {f: j for j, f in enumerate(frames)}
    G = np.zeros((len(gold), len(frames)), bool)
    P = np.zeros_like(G)
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        G[i, [fidx[f] for f in g]] = True
        P[i, [fidx[f] for f in p if f in fidx]] = True
    hit = np.array([(p[0] in g) if (g and p) else (not g and not p)
                    for g, p in zip(gold, pred, strict=True)], dtype=float)  # fmt: skip
    rng = np.random.default_rng(seed)
    samples = {k: [] for k in HEADLINE}
    for _ in range(n):
        s = rng.integers(0, len(gold), len(gold))
        g, p = G[s], P[s]
        tp = (g & p).sum(axis=0).astype(float)
        fp = (~g & p).sum(axis=0)
        fn = (g & ~p).sum(axis=0)
        denom = 2 * tp + fp + fn
        used = g.any(axis=0) | p.any(axis=0)
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        samples["accuracy"].append(hit[s].mean())
        samples["micro_f1"].append(2 * tp.sum() / denom.sum() if denom.sum() else 0.0)
        samples["macro_f1"].append(f1[used].mean() if used.any() else 0.0)
    return {k: [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
            for k, v in samples.items()}  # fmt: skip


def confusion(gold: list[list[str]], pred: list[list[str]]) -> dict[str, dict[str, int]]:
    """Single-frame (and no-frame) gold rows against the top predicted frame."""
    counts = Counter(
        (g[0] if g else "none", p[0] if p else "none")
        for g, p in zip(gold, pred, strict=True)
        if len(g) <= 1
    )
    out: dict[str, dict[str, int]] = {}
    for (g, p), n in sorted(counts.items()):
        out.setdefault(g, {})[p] = n
    return out


def eval_framing(
    rows: list[LabelledText], cb: Codebook, settings: AnalysisSettings,
    method: str = "zero-shot", train_rows: list[LabelledText] | None = None,
    cv: int | None = None, few_shot_k: int | None = None, seed: int = 0,
    learning_curve: list[int] | None = None, on_progress=None,
) -> dict:  # fmt: skip
    m = method_name(method)
    ev = Evaluation(rows, cb, settings, train_rows, seed, on_progress)
    result = ev.run(m, cv, few_shot_k, train_rows is not None)
    result["method"] = m
    result["codebook"] = cb.id
    result["seed"] = seed
    if learning_curve:
        result["learning_curve"] = ev.learning_curve(m, learning_curve)
    return result


def plot_learning_curve(points: list[dict], method: str, path) -> None:
    """The learning curve as a PNG: method and LR baseline against labels a frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    xs = [p["per_frame"] for p in points]
    for m, style in ((method, "o-"), ("logistic_regression", "s--")):
        ax.plot(xs, [p[m] for p in points], style, label=m)
    ax.set_xlabel("labelled examples a frame")
    ax.set_ylabel(points[0]["metric"] if points else "score")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
