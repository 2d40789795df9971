"""Fine-tuning the sentence encoder on the labels, on CPU, and blending it with the linear head.

The encoder gets a classification head and is trained end to end with transformers'
Trainer (softmax for one frame a row, one sigmoid a frame otherwise). The codebook's
descriptions and examples join the labelled rows. We measured this against SetFit
(contrastive pairs, then a logistic head) on FrAC 5-fold: see the README.

The tuned encoder and the linear head over the frozen embeddings make different
mistakes, so a prediction is the plain average of their probabilities (the linear
head's recentred on its own per-frame threshold). Neither alone beats a logistic
regression by much on real labels; their average does. The tuned model is a
directory: saved beside the store and reloaded by path; the head lives in the store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framewatch.analysis.embedding.select import model_path, resolve_device
from framewatch.analysis.embedding.stage import article_input
from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.label_files import LabelledText
from framewatch.analysis.framing.linear import FrameClassifier, sets_from_proba
from framewatch.config import AnalysisSettings
from framewatch.errors import InputError

EPOCHS = 8
LEARNING_RATE = 1e-4  # a small encoder (6 layers) with a fresh head learns slowly at 2e-5
BATCH = 16
MAX_TOKENS = 256  # the encoder's window; articles give their title and lead
META = "framewatch.json"
KIND = "classification-head"  # models tuned before this (SetFit) must be trained again


@dataclass
class FineTuned:
    """A tuned encoder with a classification head, and the frames its outputs stand for."""

    model: object  # a transformers AutoModelForSequenceClassification
    tokenizer: object
    frames: list[str]
    multi_label: bool

    def predict_proba_texts(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), len(self.frames)))
        self.model.eval()
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                enc = self.tokenizer(texts[i : i + batch_size], padding=True, truncation=True,
                                     max_length=MAX_TOKENS, return_tensors="pt").to(self.model.device)  # fmt: skip
                logits = self.model(**enc).logits.float()
                p = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
                out[i : i + batch_size] = p.cpu().numpy()
        return out

    def predict_proba_docs(self, docs: list[tuple[str | None, str | None]]) -> np.ndarray:
        return self.predict_proba_texts([article_input(t, x) for t, x in docs])

    def blended_sets(
        self, docs: list[tuple[str | None, str | None]], head: FrameClassifier, X: np.ndarray,
        frames: list[str],
    ) -> list[list[str]]:  # fmt: skip
        """Frame sets from this model averaged with the linear head (``X``: its features)."""
        p = blend(self.predict_proba_docs(docs), self.frames, head.predict_proba(X), head, frames)
        return sets_from_proba(p, frames, self.multi_label, None, head.at_least_one)

    def save(self, path: Path) -> None:
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))
        meta = {"kind": KIND, "frames": self.frames, "multi_label": self.multi_label}
        (path / META).write_text(json.dumps(meta), encoding="utf-8")


def blend(
    tuned: np.ndarray, tuned_frames: list[str], linear: np.ndarray, clf: FrameClassifier,
    frames: list[str],
) -> np.ndarray:  # fmt: skip
    """The average of the two models' probabilities over ``frames``.

    Multi-label: the linear head's probabilities are shifted so its own threshold sits
    at 0.5, the tuned model's cut-off, and 0.5 is the cut-off of the average.
    """
    out = np.zeros((len(tuned), len(frames)))
    col = {f: j for j, f in enumerate(frames)}
    for j, f in enumerate(tuned_frames):
        out[:, col[f]] += 0.5 * tuned[:, j]
    thr = clf.thresholds if clf.multi_label and clf.thresholds is not None else None
    for j, f in enumerate(clf.frames):
        p = linear[:, j] if thr is None else np.clip(linear[:, j] - thr[j] + 0.5, 0.0, 1.0)
        out[:, col[f]] += 0.5 * p
    return out


def _transformers():
    try:
        import accelerate  # noqa: F401 - the Trainer needs it
        import transformers
    except ImportError as exc:
        raise InputError(
            "fine-tuning needs transformers and accelerate: pip install 'framewatch[finetune]'"
        ) from exc
    return transformers


def load_finetuned(path: Path, device: str = "auto") -> FineTuned:
    transformers = _transformers()
    if not (path / META).exists():
        raise InputError(
            f"no fine-tuned framing model at {path} (moved or deleted?): "
            "run `framewatch train --method finetune` again"
        )
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    if meta.get("kind") != KIND:
        raise InputError(
            f"the fine-tuned framing model at {path} is of an older kind: "
            "run `framewatch train --method finetune` again"
        )
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(path))
    model.to(resolve_device(device))
    tok = transformers.AutoTokenizer.from_pretrained(str(path))
    return FineTuned(model, tok, meta["frames"], meta["multi_label"])


def _progress_callback(on_progress: Callable[[int, int], None]):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            on_progress(state.global_step, state.max_steps)

    return Progress()


class _Rows:
    """Tokenised rows for the Trainer; the collator pads each batch."""

    def __init__(self, enc: dict, labels: list):
        self.enc, self.labels = enc, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {**{k: v[i] for k, v in self.enc.items()}, "labels": self.labels[i]}


def training_rows(
    rows: list[LabelledText], cb: Codebook
) -> tuple[list[str], list[list[str]], list[str]]:
    """(texts, frame sets, frames): the labelled rows plus the codebook's own sentences."""
    frames = [f for f in cb.frame_ids if any(f in r.frames for r in rows)]
    texts = [article_input(r.title, r.text) for r in rows]
    labels = [[f for f in r.frames if f in frames] for r in rows]
    for f in cb.frames:
        if f.id in frames:
            for t in (f.description, *f.all_examples):
                texts.append(t)
                labels.append([f.id])
    return texts, labels, frames


def finetune(
    rows: list[LabelledText], cb: Codebook, settings: AnalysisSettings, multi_label: bool,
    seed: int = 0, max_steps: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> FineTuned:  # fmt: skip
    """Tune the settings' embedding model, with a classification head, on the rows.

    EPOCHS passes over the data, capped at ``max_steps`` batches (the settings'
    ``finetune_steps``) so a large label set still tunes in minutes.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers = _transformers()
    import torch

    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    texts, labels, frames = training_rows(rows, cb)
    if len(frames) < 2:
        raise InputError("fine-tuning needs labels for at least two frames")
    if multi_label:
        y = [[float(f in fs) for f in frames] for fs in labels]
    else:
        y = [frames.index(fs[0]) for fs in labels]
    base = model_path(settings.model)
    tok = transformers.AutoTokenizer.from_pretrained(base)
    torch.manual_seed(seed)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(frames),
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )  # fmt: skip
    enc = tok(texts, truncation=True, max_length=MAX_TOKENS)
    steps = EPOCHS * math.ceil(len(texts) / BATCH)
    if max_steps:
        steps = min(steps, max_steps)
    scratch = tempfile.mkdtemp(prefix="framewatch-finetune-")  # the trainer wants a folder
    args = transformers.TrainingArguments(
        output_dir=scratch, max_steps=steps, learning_rate=LEARNING_RATE,
        per_device_train_batch_size=BATCH, warmup_steps=0.1, weight_decay=0.01, seed=seed,
        save_strategy="no", report_to="none", logging_strategy="no", disable_tqdm=True,
        use_cpu=resolve_device(settings.device) == "cpu", dataloader_pin_memory=False,
    )  # fmt: skip
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=_Rows(dict(enc), y),
        data_collator=transformers.DataCollatorWithPadding(tok),
        callbacks=[_progress_callback(on_progress)] if on_progress else None,
    )  # fmt: skip
    try:
        # The Trainer prints its metrics: they belong on stderr, never in `--json` output.
        with contextlib.redirect_stdout(sys.stderr):
            trainer.train()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    model.eval()
    return FineTuned(model, tok, frames, multi_label)
