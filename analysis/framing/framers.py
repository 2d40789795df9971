"""Which zero-shot framer runs: ``[analysis] framing = "fast"`` (default) or ``"exact"``."""

from __future__ import annotations

import logging

from framewatch.analysis.embedding.select import load_embedder
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


def is_fast(settings: AnalysisSettings) -> bool:
    """Fast framing is asked for and the model is one that can be distilled."""
    if settings.framing != "fast":
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


def make_framer(cb: Codebook, settings: AnalysisSettings, encoder: SentenceEncoder,
                static: SentenceEncoder | None = None) -> ZeroShotFramer:  # fmt: skip
    """The configured framer for one codebook over the transformer's ``encoder``."""
    if settings.framing == "fast":  # static_encoder says why when it cannot be
        static = static or static_encoder(settings)
        if static is not None:
            from framewatch.analysis.framing.fast import FastFramer

            return FastFramer(cb, encoder, settings.frame_threshold, static)
    return ZeroShotFramer(cb, encoder, settings.frame_threshold)


def version_suffix(settings: AnalysisSettings) -> str:
    """Stored verdicts name the path that made them, so switching paths re-frames."""
    return ":fast" if is_fast(settings) else ""
