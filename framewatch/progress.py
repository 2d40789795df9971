"""Progress bars in a terminal, quiet log lines otherwise."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

log = logging.getLogger("framewatch")


class _Bar:
    def __init__(self, label: str, progress=None):
        self.label = label
        self.progress = progress
        self.task = None
        self.done = 0
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total
        if self.progress is not None:
            self.task = self.progress.add_task(self.label, total=total)
        else:  # an idle stage (serve polls every few minutes) is not worth a log line
            log.log(logging.INFO if total else logging.DEBUG, "%s: %d to do", self.label, total)

    def sub(self, label: str) -> _Bar:
        """A second line under this bar, for work that runs alongside it."""
        bar = _Bar(label, self.progress)
        if self.progress is not None:
            bar.task = self.progress.add_task(label, total=None)
        return bar

    def advance(self, *_: object, n: int = 1) -> None:
        self.done += n
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=n)


@contextlib.contextmanager
def progress_for(label: str) -> Iterator[_Bar]:
    if not sys.stderr.isatty():
        bar = _Bar(label)
        yield bar
        level = logging.INFO if bar.done or bar.total else logging.DEBUG
        log.log(level, "%s: %d done", label, bar.done)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as p:
        yield _Bar(label, p)
