"""The model in a process of its own, so that analysis can run while feeds are fetched.

A thread would share the interpreter lock with the fetcher: on two cores the
model's Python overhead starved the event loop and extraction, and fetching took
3.6x longer. A process has its own lock and its own core. Only text goes in;
vectors and framings come back. The store stays in the parent: the worker never
writes, so a crashed or killed worker loses no data, and whatever it had not
finished is still pending for the next stage or run.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from framewatch import cores
from framewatch.analysis.framing.codebook import Codebook
from framewatch.analysis.framing.zeroshot import ArticleFraming
from framewatch.config import AnalysisSettings

log = logging.getLogger(__name__)
_state: dict = {}  # inside the worker: its settings, sentence encoder and framers


def _start(settings: AnalysisSettings, in_worker: bool = False) -> None:
    if in_worker:  # Ctrl-C is the parent's to handle: it stops the run and this process
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # A parent killed outright (SIGKILL) cannot stop us: end with it, not hold the model.
        from framewatch.pipeline.children import die_with_parent

        die_with_parent(mp.parent_process().pid if mp.parent_process() else None)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _state.clear()
    _state["settings"] = settings


def _use_threads(n: int) -> None:
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _embed(rows: list[tuple], threads: int) -> np.ndarray:
    from framewatch.analysis.embedding.select import embedder_for
    from framewatch.analysis.embedding.stage import embed_rows

    _use_threads(threads)
    s = _state["settings"]
    return embed_rows(embedder_for(s), rows, s.batch_size)


def _framer(cb: Codebook):
    from framewatch.analysis.framing.framers import make_framer
    from framewatch.analysis.framing.stage import sentence_encoder

    s = _state["settings"]
    if "encoder" not in _state:  # one sentence cache for every codebook
        _state["encoder"] = sentence_encoder(s)
    key = ("framer", cb.id, cb.hash)
    if key not in _state:
        _state[key] = make_framer(cb, s, _state["encoder"])
    return _state[key]


def _frame(cb: Codebook, docs: list[tuple], threads: int) -> list[ArticleFraming]:
    _use_threads(threads)
    return _framer(cb).frame_articles(docs)


def _pid(threads: int) -> int:
    return os.getpid()


def _warm_up(codebooks: list[Codebook], threads: int) -> None:
    _use_threads(threads)
    for cb in codebooks:
        _framer(cb)


class ModelWorker:
    """One worker process holding the model; started on first use, so idle runs pay nothing.

    ``threads`` is how many cores the model may use: all but one while the fetcher
    needs one, all of them after.
    """

    def __init__(self, settings: AnalysisSettings):
        self.settings = settings
        self.cores = cores.available()
        self.threads = self.cores
        self._pool: ProcessPoolExecutor | None = None

    @property
    def separate(self) -> bool:
        """False inside a daemonic process (a multiprocessing.Pool worker), which may
        not start one: the work then runs here, one stage after another."""
        return not mp.current_process().daemon

    def _submit(self, fn, *args) -> Future:
        if not self.separate:
            done: Future = Future()
            if _state.get("settings") != self.settings:
                _start(self.settings)
            try:
                done.set_result(fn(*args, self.threads))
            except Exception as exc:
                done.set_exception(exc)
            return done
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=mp.get_context("spawn"),
                initializer=_start, initargs=(self.settings, True),
            )  # fmt: skip
        return self._pool.submit(fn, *args, self.threads)

    def share_cores(self, sharing: bool) -> None:
        self.threads = max(1, self.cores - 1) if sharing else self.cores

    def _call(self, fn, *args):
        """Wait for ``fn``; a worker that died (the OOM killer's favourite) is restarted once."""
        try:
            return self._submit(fn, *args).result()
        except BrokenProcessPool:
            log.warning("the model process died; starting a new one")
            self.close()
        try:
            return self._submit(fn, *args).result()
        except BrokenProcessPool as exc:
            raise RuntimeError(
                "the model process died twice (out of memory?); see analysis.batch_size"
            ) from exc

    def warm_up(self, codebooks: list[Codebook]) -> Future:
        """Start the process and load the model and framers before the first batch."""
        return self._submit(_warm_up, codebooks)

    def submit_embed(self, rows: list[tuple]) -> Future:
        return self._submit(_embed, rows)

    def submit_frame(self, cb: Codebook, docs: list[tuple]) -> Future:
        return self._submit(_frame, cb, docs)

    def embed(self, rows: list[tuple]) -> np.ndarray:
        """Article vectors for (id, title, text) rows."""
        return self._call(_embed, rows)

    def frame(self, cb: Codebook, docs: list[tuple]) -> list[ArticleFraming]:
        """One ArticleFraming per (title, text)."""
        return self._call(_frame, cb, docs)

    def pid(self) -> int:
        return self._call(_pid)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)  # a dead worker returns at once
            self._pool = None

    def __enter__(self) -> ModelWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
