"""The pipeline runner: stages in order, each run recorded in the ``runs`` table."""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from framewatch.config import Settings
from framewatch.store import Store, utcnow


@dataclass
class RunRecord:
    id: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def mark_interrupted(store: Store) -> None:
    """Runs still 'running' when a writer opens the store died: say so."""
    store.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")


@contextlib.contextmanager
def recorded_run(store: Store, command: str) -> Iterator[RunRecord]:
    from framewatch.dashboards.digest import merge_journal

    mark_interrupted(store)
    merge_journal(store)  # digest sends recorded while another process held the store
    rid = store.execute(
        "INSERT INTO runs (command, started_at) VALUES (?, ?) RETURNING id", [command, utcnow()]
    ).fetchone()[0]
    rec = RunRecord(rid)
    status = "ok"
    try:
        yield rec
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        rec.errors.append("".join(traceback.format_exception_only(type(exc), exc)).strip())
        raise
    finally:
        store.execute(
            "UPDATE runs SET finished_at = ?, status = ?, counts = ?, errors = ? WHERE id = ?",
            [utcnow(), status, json.dumps(rec.counts), json.dumps(rec.errors[:200]), rid],
        )
        store.publish_snapshot()


Stage = Callable[..., None]  # (store, settings, rec, models=None)


def fetch_stage(
    store: Store, settings: Settings, rec: RunRecord, force: bool = False, models=None
) -> None:
    """Fetch due sources; given a ModelWorker, embed and frame articles as they arrive."""
    from framewatch.crawler.fetch import fetch_due
    from framewatch.progress import progress_for

    with progress_for("fetching feeds") as bar:
        alongside = None
        if models is not None and models.separate:
            from framewatch.analysis.pipeline_stages import analyze_alongside

            side = bar.sub("framing while fetching")

            def alongside(events):
                return analyze_alongside(
                    store, settings, rec, events, models, lambda n: side.advance(n=n)
                )

        report = fetch_due(
            store, settings, force=force, on_start=bar.start, on_source=bar.advance,
            alongside=alongside,
        )  # fmt: skip
    rec.counts.update(report.counts())
    for s in report.sources:
        rec.errors.extend(f"{s.name}: {e}" for e in s.errors)
    rec.counts["_failed_sources"] = len(report.failed_sources)


def analysis_stages() -> list[tuple[str, Stage]]:
    """Stages after fetching, in order; each is a no-op when nothing is pending."""
    from framewatch.analysis.pipeline_stages import STAGES

    return STAGES


def run_all(store: Store, settings: Settings, rec: RunRecord, force: bool = False) -> None:
    """Fetch, analysing as articles arrive, then finish the analysis in big batches.

    The model lives in one worker process for the whole run (see analysis/model_worker.py).
    """
    from framewatch.analysis.model_worker import ModelWorker

    with ModelWorker(settings.analysis) as models:
        fetch_stage(store, settings, rec, force=force, models=models)
        for _name, stage in analysis_stages():
            stage(store, settings, rec, models)
