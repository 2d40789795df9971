"""model2vec static models: a vector per token, averaged; no transformer at run time."""

from __future__ import annotations

import numpy as np

from framewatch.analysis.embedding.base import Embedder
from framewatch.config import ConfigError

PREFIX = "static:"


class StaticEmbedder(Embedder):
    """A static model folder (``static:PATH``), e.g. one distilled by static_models."""

    default_batch_size = 1024

    def __init__(self, name: str):
        from model2vec import StaticModel

        path = name.removeprefix(PREFIX)
        try:
            self.model = StaticModel.from_pretrained(path)
        except Exception as exc:  # a folder that is not a model2vec model
            raise ConfigError(f"cannot load static model {path!r}: {exc}") from exc
        self.name = name

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        v = self.model.encode(texts, batch_size=batch_size, show_progress_bar=False)
        v = np.asarray(v, dtype=np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.maximum(norms, 1e-12)
