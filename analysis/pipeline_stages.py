"""The analysis stages that ``framewatch run`` executes after fetching, in order."""

from __future__ import annotations

from framewatch.config import Settings
from framewatch.pipeline import RunRecord
from framewatch.progress import progress_for
from framewatch.store import Store


def embed_stage(store: Store, settings: Settings, rec: RunRecord) -> None:
    from framewatch.analysis.embed import embed_pending

    a = settings.analysis
    pending = store.execute(
        "SELECT count(*) FROM articles a WHERE NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.article_id = a.id AND e.model = ?)",
        [a.model],
    ).fetchone()[0]
    with progress_for("embedding articles") as bar:
        bar.start(pending)
        rec.counts["articles_embedded"] = embed_pending(
            store, a.model, a.batch_size, a.embed_max_tokens, on_progress=lambda n: bar.advance(n=n)
        )


def stories_stage(store: Store, settings: Settings, rec: RunRecord) -> None:
    from framewatch.analysis.stories import assign_stories

    with progress_for("clustering stories") as bar:
        assigned, created = assign_stories(
            store,
            settings.analysis,
            settings.analysis.model,
            on_progress=lambda n: bar.advance(n=n),
        )
    rec.counts["articles_clustered"] = assigned
    rec.counts["stories_new"] = created


def framing_stage(store: Store, settings: Settings, rec: RunRecord) -> None:
    from framewatch.analysis.framing_stage import frame_pending

    with progress_for("framing articles") as bar:
        done = frame_pending(store, settings.analysis, on_progress=lambda n: bar.advance(n=n))
    rec.counts["articles_framed"] = sum(done.values())


STAGES = [("embed", embed_stage), ("stories", stories_stage), ("framing", framing_stage)]
