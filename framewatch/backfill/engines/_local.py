"""The local engine: the plan in this process, or in a pool of processes on this machine.

No extra dependency. One worker analyses partitions here, one after another (the
single-process path the benchmark compares the cluster with); more start that many
processes, each loading the model once.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from framewatch import cores
from framewatch.backfill.engines.base import Engine, OnDone
from framewatch.backfill.worker import PartitionWorker, WorkSpec

_worker: PartitionWorker | None = None  # inside a pool process


def _start(spec: WorkSpec) -> None:
    global _worker
    _worker = PartitionWorker(spec)


def _analyse(index: int) -> dict:
    assert _worker is not None
    return _worker(index)


class LocalEngine(Engine):
    name = "local"

    def run(self, spec: WorkSpec, parts: list[int], on_done: OnDone) -> None:
        if not parts:
            return
        if self.workers == 1:
            self.watched(lambda: self._here(spec, parts), on_done, "is the machine out of memory?")
            return
        threads = max(1, cores.available() // self.workers)
        spec = WorkSpec(spec.folder, spec.settings, spec.codebooks, spec.min_words, threads)
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(parts)), mp_context=mp.get_context("spawn"),
            initializer=_start, initargs=(spec,),
        ) as pool:  # fmt: skip
            futures = [pool.submit(_analyse, i) for i in parts]

            def results() -> Iterator[dict]:
                for f in as_completed(futures):
                    yield f.result()

            try:
                self.watched(results, on_done, "is the machine out of memory?")
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    @staticmethod
    def _here(spec: WorkSpec, parts: list[int]) -> Iterator[dict]:
        worker = PartitionWorker(spec)
        for i in parts:
            yield worker(i)
