"""A backfill from start to end: plan, analyse on an engine, load in order, cluster.

The driver (this process) owns the store. Partitions are analysed anywhere, in any
order, but loaded strictly in plan order as soon as each is ready, so article ids
follow the input exactly as ``import`` would number them. Clustering then runs once
on the driver, in publication order, through the same story stage ``analyze`` uses.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from framewatch.analysis.embedding.static_models import with_home
from framewatch.analysis.framing.framers import prepare_static
from framewatch.analysis.framing.stage import FramingJob
from framewatch.backfill.engines import check_engine, select_engine
from framewatch.backfill.load import REMEMBERED, Loader
from framewatch.backfill.meter import meter
from framewatch.backfill.plan import Plan, make_plan
from framewatch.backfill.worker import WorkSpec
from framewatch.config import Settings
from framewatch.pipeline.runs import RunRecord
from framewatch.store import Store

PARTITION_SIZE = 500


@dataclass
class BackfillOptions:
    engine: str = "local"
    workers: int | None = None
    address: str | None = None
    partition_size: int = PARTITION_SIZE
    stall_s: float | None = None
    keep_work: bool = False
    encoding: str | None = None  # of the JSONL and CSV inputs, when not UTF-8


@dataclass
class BackfillReport:
    planned: int = 0
    analysed: int = 0  # articles analysed by the engine in this run
    engine_cpu_s: float = 0.0  # CPU the workers report (model loading included)
    engine_wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what `import` would note, per file


def work_folder(db: Path) -> Path:
    """Beside the store: on a cluster, put the store on storage every node can read."""
    return db.parent / f"{db.name}.backfill"


def backfill(
    store: Store, settings: Settings, inputs: list[str], work_root: Path,
    opts: BackfillOptions, rec: RunRecord,
) -> BackfillReport:  # fmt: skip
    """Run (or resume) the backfill of ``inputs``; counts and problems go into ``rec``."""
    from framewatch.pipeline.stages import search_stage, stories_stage

    check_engine(opts.engine)
    a = settings.analysis
    jobs = [FramingJob(store, a, cid) for cid in a.codebooks]
    fingerprint = {
        "model": a.model, "max_tokens": a.embed_max_tokens, "min_words": settings.crawl.min_words,
        "codebooks": [(j.cb.id, j.cb.hash, j.version) for j in jobs],
    }  # fmt: skip
    plan = make_plan(store, inputs, work_root, fingerprint, opts.partition_size, opts.encoding)
    report = BackfillReport(
        planned=plan.articles, problems=list(plan.problems), notes=list(plan.notes)
    )
    loader = Loader(store, a.model, jobs)
    pending = plan.to_load()
    unloaded = set(pending)
    todo = [i for i in plan.to_analyse() if i in unloaded]
    a = with_home(a, store.path)  # a static model (fast framing) lives beside the store
    if todo:  # ... built once here, not by each worker
        prepare_static(a)
    spec = WorkSpec(
        str(plan.folder.resolve()), a, tuple(j.cb for j in jobs), settings.crawl.min_words
    )

    def load_ready() -> None:
        while pending and plan.output(pending[0]).exists():
            i = pending.pop(0)
            loader.load(pq.read_table(plan.output(i)))
            plan.loaded(i).touch()

    _remember_loaded(plan, loader)
    load_ready()  # partitions analysed by a run that was killed before loading them
    if todo:
        with meter("backfill", plan.rows_in(todo)) as bar:

            def done(r: dict) -> None:
                report.analysed += r["articles"]
                report.engine_cpu_s += r["cpu_s"]
                bar.advance(pq.ParquetFile(plan.input(r["part"])).metadata.num_rows)
                load_ready()

            started = time.monotonic()
            with select_engine(opts.engine, opts.workers, opts.address, opts.stall_s) as engine:
                engine.run(spec, todo, done)
            report.engine_wall_s = time.monotonic() - started
    load_ready()
    if pending:  # an engine that returned without finishing: never cluster half a plan
        raise RuntimeError(f"{len(pending)} partition(s) were not analysed; run backfill again")
    c = loader.counts
    report.problems += c.problems
    rec.counts.update({
        "articles_planned": plan.articles, "articles_new": c.new, "already_stored": plan.known + c.repeats,
        "exact_copies": c.copies, "articles_embedded": c.embedded, "articles_framed": c.framed,
        "problems": len(report.problems),
    })  # fmt: skip
    rec.errors.extend(report.problems)
    stories_stage(store, settings, rec)
    search_stage(store, settings, rec)
    if not opts.keep_work:
        shutil.rmtree(plan.folder, ignore_errors=True)
        if work_root.exists() and not any(work_root.iterdir()):
            work_root.rmdir()
    return report


def _remember_loaded(plan: Plan, loader: Loader) -> None:
    """A resumed run: what the addresses of partitions loaded before have given (a full
    article or a stub), so their later captures are dropped, or replace a stub, as in an
    unbroken run."""
    for i in range(plan.partitions):
        if plan.loaded(i).exists():
            names = pq.ParquetFile(plan.output(i)).schema_arrow.names
            cols = [c for c in REMEMBERED if c in names]
            loader.remember(pq.read_table(plan.output(i), columns=cols))
