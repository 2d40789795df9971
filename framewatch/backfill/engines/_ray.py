"""The Ray engine: Ray Data ``map_batches`` over a fixed pool of model actors.

Each actor is a ``PartitionWorker``: it loads the model once and analyses one
partition per call, reading ``in/`` and writing ``out/`` in the work folder, so only
partition numbers travel through Ray's object store. Actors are sized from the
cluster's resources: on a small cluster an actor reserving a whole CPU each can leave
nothing for Ray Data's own tasks, and the plan waits forever; here each actor asks for
its share of the CPUs left after one for the driver's tasks, and for a GPU (or a share
of one) when the cluster has any.
"""

from __future__ import annotations

import logging
import os

from framewatch.backfill.engines.base import Engine, EngineUnavailable, OnDone, PlanStalled
from framewatch.backfill.worker import PartitionWorker, WorkSpec

MISSING = "--engine ray needs Ray: pip install 'framewatch[scale]'"
log = logging.getLogger(__name__)


class _Actor:
    """The Ray Data callable class: one partition number in, its summary out."""

    def __init__(self, spec: WorkSpec):
        self.worker = PartitionWorker(spec)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        done = [self.worker(int(i)) for i in batch["part"]]
        return {k: np.array([d[k] for d in done]) for k in ("part", "articles", "cpu_s")}


def actor_resources(cluster: dict, workers: int) -> tuple[float, float]:
    """(CPUs, GPUs) per actor so that ``workers`` actors fit with room for Ray Data's tasks."""
    cpus = float(cluster.get("CPU", 0))
    gpus = float(cluster.get("GPU", 0))
    if cpus <= 0:
        raise PlanStalled("the Ray cluster has no CPUs: no actor could ever start")
    spare = max(cpus - 1.0, cpus / 2)  # one CPU (half of a tiny cluster) for the read tasks
    per_cpu = min(1.0, spare / workers)
    per_gpu = min(1.0, gpus / workers) if gpus else 0.0
    return round(per_cpu, 3), round(per_gpu, 3)


class RayEngine(Engine):
    name = "ray"

    def __init__(self, workers: int | None, address: str | None = None, **kw):
        try:
            import ray
            import ray.data  # noqa: F401
        except ImportError:
            raise EngineUnavailable(MISSING) from None
        self.ray = ray
        env = {
            k: os.environ[k] for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k in os.environ
        }
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        ray.init(
            address=address, include_dashboard=False, log_to_driver=False,
            logging_level=logging.ERROR, runtime_env={"env_vars": env},
            ignore_reinit_error=True,
        )  # fmt: skip
        resources = ray.cluster_resources()
        if workers is None:  # a GPU per actor where there are GPUs, else a CPU per actor
            workers = int(resources.get("GPU", 0)) or max(1, int(resources.get("CPU", 1)) - 1)
        super().__init__(workers, **kw)
        self.cpus, self.gpus = actor_resources(resources, self.workers)

    def run(self, spec: WorkSpec, parts: list[int], on_done: OnDone) -> None:
        if not parts:
            return
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # framewatch shows its own
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        threads = max(1, int(self.cpus))
        spec = WorkSpec(spec.folder, spec.settings, spec.codebooks, spec.min_words, threads)
        ds = ray.data.from_items([{"part": i} for i in parts], override_num_blocks=len(parts))
        ds = ds.map_batches(
            _Actor, fn_constructor_kwargs={"spec": spec}, batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(parts))),
            num_cpus=self.cpus, num_gpus=self.gpus or None,
        )  # fmt: skip

        def results():
            for row in ds.iter_rows():
                yield {k: row[k].item() if hasattr(row[k], "item") else row[k] for k in row}

        hint = (
            f"{self.workers} actors asking for {self.cpus} CPU and {self.gpus} GPU each; "
            f"the cluster has {self.ray.cluster_resources()} (try fewer --workers)"
        )
        self.watched(results, on_done, hint)

    def close(self) -> None:
        # Disconnects from a cluster given by --address; stops the one ray.init started.
        self.ray.shutdown()
