"""A progress bar for long backfills: articles done, rate and time left.

In a terminal a rich bar; otherwise (logs, cron, a cluster job) one log line per
finished partition with the same figures.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

log = logging.getLogger("framewatch")


class Meter:
    def __init__(self, label: str, total: int):
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int) -> None:
        self.done += n
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        log.info(
            "%s: %d/%d articles, %.1f/s, %.0f s left", self.label, self.done, self.total, rate, left
        )


class _RichMeter(Meter):
    def __init__(self, label: str, total: int, progress):
        super().__init__(label, total)
        self.progress = progress
        self.task = progress.add_task(label, total=total, rate="")

    def advance(self, n: int) -> None:
        self.done += n
        self.progress.update(self.task, advance=n, rate=f"{self.rate():.1f} articles/s")


@contextlib.contextmanager
def meter(label: str, total: int) -> Iterator[Meter]:
    if not sys.stderr.isatty():
        yield Meter(label, total)
        return
    from rich import progress as rp

    with rp.Progress(
        "[progress.description]{task.description}", rp.BarColumn(), rp.MofNCompleteColumn(),
        rp.TextColumn("{task.fields[rate]}"), rp.TimeElapsedColumn(), rp.TextColumn("ETA"),
        rp.TimeRemainingColumn(), transient=True,
    ) as p:  # fmt: skip
        yield _RichMeter(label, total, p)
