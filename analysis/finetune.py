"""Fine-tuning the sentence encoder on the labels with SetFit, on CPU.

SetFit trains the encoder contrastively on pairs of labelled texts (same frame or
not), then fits a logistic-regression head on the tuned embeddings. The codebook's
descriptions and examples join the labelled rows. The number of training steps is
capped so 1,000 short texts tune in minutes on two cores (see benchmarks/).
The tuned model is a directory: it is saved beside the store and reloaded by path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from framewatch.analysis.codebooks import Codebook
from framewatch.analysis.embed import article_input, resolve_device, resolve_model
from framewatch.analysis.label_files import LabelledText
from framewatch.analysis.supervised import sets_from_proba

from framewatch.config import AnalysisSettings
from framewatch.errors import InputError

MAX_STEPS = 300  # contrastive steps of BATCH pairs: about 4 minutes for any label count on 2 cores
BATCH = 16
META = "framewatch.json"


@dataclass
class FineTuned:
    """A SetFit model and the frames its outputs stand for."""

    model: object  # setfit.SetFitModel
    frames: list[str]
    multi_label: bool

    def predict_proba_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.frames)))
        p = self.model.predict_proba(texts, batch_size=64, as_numpy=True)
        return np.asarray(p, dtype=np.float64).reshape(len(texts), len(self.frames))

    def predict_proba_docs(self, docs: list[tuple[str | None, str | None]]) -> np.ndarray:
        return self.predict_proba_texts([article_input(t, x) for t, x in docs])

    def predict_sets(self, rows: list[LabelledText]) -> list[list[str]]:
        p = self.predict_proba_docs([(r.title, r.text) for r in rows])
        return sets_from_proba(p, self.frames, self.multi_label, None)

    def save(self, path: Path) -> None:
        self.model.save_pretrained(str(path))
        meta = {"frames": self.frames, "multi_label": self.multi_label}
        (path / META).write_text(json.dumps(meta), encoding="utf-8")


def _setfit():
    try:
        import setfit
    except ImportError as exc:
        raise InputError(
            "fine-tuning needs the setfit package: pip install 'framewatch[finetune]'"
        ) from exc
    return setfit


def load_finetuned(path: Path, device: str = "auto") -> FineTuned:
    setfit = _setfit()
    if not (path / META).exists():
        raise InputError(
            f"no fine-tuned framing model at {path} (moved or deleted?): "
            "run `framewatch train --method finetune` again"
        )
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    model = setfit.SetFitModel.from_pretrained(str(path), device=resolve_device(device))
    return FineTuned(model, meta["frames"], meta["multi_label"])


def _progress_callback(on_progress: Callable[[int, int], None]):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            on_progress(state.global_step, state.max_steps)

    return Progress()


def finetune(
    rows: list[LabelledText], cb: Codebook, settings: AnalysisSettings, multi_label: bool,
    seed: int = 0, max_steps: int = MAX_STEPS,
    on_progress: Callable[[int, int], None] | None = None,
) -> FineTuned:  # fmt: skip
    """Tune the settings' embedding model on the rows plus the codebook's own sentences."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    setfit = _setfit()
    from datasets import Dataset
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    logging.getLogger("setfit").setLevel(logging.ERROR)  # framewatch reports progress itself
    frames = [f for f in cb.frame_ids if any(f in r.frames for r in rows)]
    texts = [article_input(r.title, r.text) for r in rows]
    labels = [[f for f in r.frames if f in frames] for r in rows]
    for f in cb.frames:
        if f.id in frames:
            for t in (f.description, *f.examples):
                texts.append(t)
                labels.append([f.id])
    if multi_label:
        y = [[int(f in fs) for f in frames] for fs in labels]
    else:
        y = [frames.index(fs[0]) for fs in labels]
    model = setfit.SetFitModel.from_pretrained(
        resolve_model(settings.model),
        multi_target_strategy="one-vs-rest" if multi_label else None,
        device=resolve_device(settings.device),
        head_params={"max_iter": 2000, "class_weight": "balanced"},
    )
    model.model_body.max_seq_length = min(settings.embed_max_tokens, 256)
    scratch = tempfile.mkdtemp(prefix="framewatch-setfit-")  # the trainer wants a folder
    args = setfit.TrainingArguments(
        output_dir=scratch, save_strategy="no", batch_size=BATCH, num_epochs=1, max_steps=max_steps, seed=seed,
        show_progress_bar=False, report_to="none", end_to_end=False, logging_strategy="no",
    )  # fmt: skip
    callbacks = [_progress_callback(on_progress)] if on_progress else None
    trainer = setfit.Trainer(model=model, args=args, callbacks=callbacks,
                      train_dataset=Dataset.from_dict({"text": texts, "label": y}))  # fmt: skip
    try:
        # SetFit prints its training metrics: they belong on stderr, never in `--json` output.
        with contextlib.redirect_stdout(sys.stderr):
            trainer.train()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return FineTuned(model, frames, multi_label)
