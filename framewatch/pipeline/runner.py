"""A pipeline run: fetch due feeds, analysing as articles arrive, then finish the analysis."""

from __future__ import annotations

from collections.abc import Callable

from framewatch.config import Settings
from framewatch.pipeline.runs import RunRecord
from framewatch.store import Store

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
            from framewatch.pipeline.stages import analyze_alongside

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
    from framewatch.pipeline.stages import STAGES

    return STAGES


def run_all(
    store: Store, settings: Settings, rec: RunRecord, force: bool = False, models=None
) -> None:
    """Fetch, analysing as articles arrive, then finish the analysis in big batches.

    The model lives in one worker process for the whole run (see model_worker.py); a
    long-lived caller (serve) passes its own ModelWorker so the model loads only once.
    """
    from framewatch.analysis.embedding.static_models import with_home
    from framewatch.pipeline.model_worker import ModelWorker

    if models is None:
        with ModelWorker(with_home(settings.analysis, store.path)) as own:
            run_all(store, settings, rec, force, own)
        return
    fetch_stage(store, settings, rec, force=force, models=models)
    for _name, stage in analysis_stages():
        stage(store, settings, rec, models)
