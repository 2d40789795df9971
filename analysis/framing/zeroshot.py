"""Zero-shot framing: score every sentence against every frame, aggregate per article.

A sentence's raw score for a frame is its cosine similarity to the frame's nearest
prototype (the description or an example). Some frames sit closer to all text than
others, so each is calibrated against how it scores on sentences that frame nothing
(a shipped background set): the calibrated score is the raw score minus that
baseline. (Dividing by the baseline's spread as well, a z-score, over-rewarded
frames with a narrow baseline: 24/35 against 32/35 on the sample corpus.) A sentence counts for its best frame
when that score clears the threshold, otherwise for "none". An article's share of a
frame is the weighted fraction of its sentences that count for it.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.sentences import sentences

TITLE_WEIGHT = 2.0
EVIDENCE_PER_FRAME = 2
MIN_WORDS, MAX_CHARS = 4, 600
MIN_CHARS = 8  # a sentence of Chinese or Japanese has no spaces to count words by
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Sentences worth scoring: long enough to frame anything (``MIN_WORDS``, or for
    scripts written without spaces, ``MIN_CHARS``), cut at ``MAX_CHARS``."""
    return [s[:MAX_CHARS] for s in sentences(text, language) if _long_enough(s)]


def _long_enough(s: str) -> bool:
    return len(s.split()) >= MIN_WORDS or len(_SPACELESS.findall(s)) >= MIN_CHARS


def article_sentences(title: str | None, text: str | None) -> tuple[list[str], list[float]]:
    """The sentences to score, with the title weighted as a reader weighs a headline."""
    title = " ".join((title or "").split())
    body = split_sentences(text or "")
    if body and title and body[0].startswith(title):
        body = body[1:]  # extraction often repeats the headline as the first line
    sents = ([title] if title else []) + body
    weights = ([TITLE_WEIGHT] if title else []) + [1.0] * len(body)
    return sents, weights


class SentenceEncoder:
    """Embeds sentences in large batches and remembers them (boilerplate repeats)."""

    def __init__(self, model, batch_size: int = 128, cache_size: int = 200_000):
        self.model = model
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0
        self._siblings: dict[str, SentenceEncoder | None] = {}

    def at_precision(self, precision: str) -> SentenceEncoder | None:
        """The same model in another precision, one encoder (and cache) per precision, so
        every codebook framed with it shares the sentences already embedded."""
        if precision not in self._siblings:
            model = self.model.at_precision(precision)
            self._siblings[precision] = (
                self if model is self.model
                else None if model is None
                else SentenceEncoder(model, self.batch_size, self.cache_size)
            )  # fmt: skip
        return self._siblings[precision]

    def encode(self, sentences: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        self.misses += len(todo)
        self.hits += len(sentences) - len(todo)
        if todo:
            vecs = self.model.embed(todo, self.batch_size)
            for s, v in zip(todo, vecs, strict=True):
                self._cache[s] = v
        out = (
            np.stack([self._cache[s] for s in sentences])
            if sentences
            else np.zeros((0, 1), np.float32)
        )
        for s in sentences:
            self._cache.move_to_end(s)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return out


def background_sentences() -> list[str]:
    text = (
        resources.files("framewatch.analysis.framing") / "data" / "background_sentences.txt"
    ).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass
class ArticleFraming:
    shares: dict[str, float]  # frame -> share, without "none"
    none_share: float
    primary: str | None
    confidence: float
    scores: dict[str, float]  # frame -> strongest calibrated sentence score
    evidence: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    sentences: int = 0
    profile: np.ndarray | None = None  # features for the supervised classifier


class ZeroShotFramer:
    """Frames articles against one codebook with one sentence encoder."""

    def __init__(self, codebook: Codebook, encoder: SentenceEncoder, threshold: float):
        self.codebook = codebook
        self.encoder = encoder
        self.threshold = threshold * getattr(encoder.model, "similarity_scale", 1.0)
        protos, owner = [], []
        for j, f in enumerate(codebook.frames):
            for p in (f.description, *f.all_examples):
                protos.append(p)
                owner.append(j)
        self._protos = encoder.encode(protos)
        self._owner = np.array(owner)
        self._baseline = self._raw(encoder.encode(background_sentences())).mean(axis=0)

    @property
    def frame_ids(self) -> list[str]:
        return self.codebook.frame_ids

    def _raw(self, vecs: np.ndarray) -> np.ndarray:
        sims = vecs @ self._protos.T  # sentences x prototypes
        out = np.empty((len(vecs), len(self.codebook.frames)), dtype=np.float32)
        for j in range(len(self.codebook.frames)):
            cols = sims[:, self._owner == j]
            out[:, j] = cols.max(axis=1)
        return out

    def sentence_scores(self, vecs: np.ndarray) -> np.ndarray:
        """Calibrated scores: similarity above the frame's no-frame baseline."""
        return self._raw(vecs) - self._baseline

    def frame_articles(self, articles: list[tuple[str | None, str | None]]) -> list[ArticleFraming]:
        """Frame a batch of (title, text); all sentences are embedded in one go."""
        per = [article_sentences(t, x) for t, x in articles]
        flat = [s for sents, _ in per for s in sents]
        z_all = self.sentence_scores(self.encoder.encode(flat)) if flat else np.zeros((0, 0))
        out, pos = [], 0
        for sents, weights in per:
            z = z_all[pos : pos + len(sents)]
            pos += len(sents)
            out.append(self._aggregate(sents, np.array(weights), z))
        return out

    def _aggregate(self, sents: list[str], w: np.ndarray, z: np.ndarray) -> ArticleFraming:
        ids = self.frame_ids
        n_frames = len(ids)
        if len(sents) == 0:
            zero = dict.fromkeys(ids, 0.0)
            return ArticleFraming(zero, 1.0, None, 0.0, dict(zero), {}, 0, np.zeros(2 * n_frames))
        best = z.argmax(axis=1)
        framed = z.max(axis=1) >= self.threshold
        total = w.sum()
        mass = np.zeros(n_frames)
        for i in np.flatnonzero(framed):
            mass[best[i]] += w[i]
        shares = mass / total
        none_share = 1.0 - shares.sum()
        primary = ids[int(shares.argmax())] if shares.sum() > 0 else None
        confidence = float(shares.max() / shares.sum()) if shares.sum() > 0 else 0.0
        evidence: dict[str, list[tuple[str, float]]] = {}
        for j, fid in enumerate(ids):
            rows = [i for i in np.flatnonzero(framed) if best[i] == j]
            rows.sort(key=lambda i: -z[i, j])
            if rows:
                evidence[fid] = [(sents[i], float(z[i, j])) for i in rows[:EVIDENCE_PER_FRAME]]
        top = z.max(axis=0)
        profile = np.concatenate([shares, np.clip(top, -1, 1)])
        return ArticleFraming(
            shares={fid: float(shares[j]) for j, fid in enumerate(ids)},
            none_share=float(max(none_share, 0.0)), primary=primary, confidence=confidence,
            scores={fid: float(top[j]) for j, fid in enumerate(ids)}, evidence=evidence,
            sentences=len(sents), profile=profile,
        )  # fmt: skip
