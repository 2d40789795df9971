"""What a backfill engine is: something that runs ``PartitionWorker`` over partitions.

An engine gets the worker's spec and the partition numbers still to analyse, and calls
back once per finished partition. It owns where the work runs (this process, a process
pool, a Ray cluster) and nothing else: planning, loading and clustering stay with the
driver, so every engine gives the same results.
"""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from framewatch.backfill.worker import WorkSpec
from framewatch.errors import FramewatchError, InputError

OnDone = Callable[[dict], None]  # {"part": i, "articles": n, "cpu_s": seconds}
STALL_S = 900.0  # no partition finished for this long: the plan is stuck, not slow


class EngineUnavailable(InputError):
    """The engine's library is not installed (a usage error: exit 2)."""


class PlanStalled(FramewatchError):
    """No partition finished for too long: resources never came, or a worker hangs."""


class Engine(ABC):
    name: str = ""

    def __init__(self, workers: int, stall_s: float = STALL_S):
        self.workers = max(1, workers)
        self.stall_s = stall_s

    @abstractmethod
    def run(self, spec: WorkSpec, parts: list[int], on_done: OnDone) -> None:
        """Analyse ``parts``; ``on_done`` is called in the caller's thread, in any order."""

    def close(self) -> None:  # noqa: B027 (most engines hold nothing)
        """Release what the engine started (processes, a local cluster)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def watched(self, results: Callable[[], Iterable[dict]], on_done: OnDone, hint: str) -> None:
        """Consume ``results()`` in a thread; fail with ``hint`` if none comes for stall_s.

        The thread is a daemon: a stuck engine cannot keep the command from exiting.
        """
        q: queue.Queue = queue.Queue()
        end = object()

        def pump() -> None:
            try:
                for r in results():
                    q.put(r)
            except BaseException as exc:  # re-raised in the caller's thread
                q.put(exc)
            q.put(end)

        threading.Thread(target=pump, name=f"backfill-{self.name}", daemon=True).start()
        while True:
            try:
                item = q.get(timeout=self.stall_s)
            except queue.Empty:
                raise PlanStalled(
                    f"the {self.name} engine finished no partition in {self.stall_s:g} s; {hint}"
                ) from None
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            on_done(item)
