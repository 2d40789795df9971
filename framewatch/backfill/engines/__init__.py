"""Backfill engines behind one small interface; ``select_engine`` picks one by name.

The Ray engine's module is imported only when asked for: the core install has no Ray.
"""

from __future__ import annotations

from framewatch.backfill.engines.base import Engine, EngineUnavailable, PlanStalled

ENGINES = ("local", "ray")


def select_engine(
    name: str, workers: int | None = None, address: str | None = None, stall_s: float | None = None
) -> Engine:
    kw = {} if stall_s is None else {"stall_s": stall_s}
    if name == "local":
        if address:
            raise EngineUnavailable("--address is for --engine ray")
        from framewatch.backfill.engines._local import LocalEngine

        return LocalEngine(workers or 1, **kw)
    if name == "ray":
        from framewatch.backfill.engines._ray import RayEngine

        return RayEngine(workers, address, **kw)
    raise EngineUnavailable(f"unknown engine {name!r} (use {' or '.join(ENGINES)})")


__all__ = ["ENGINES", "Engine", "EngineUnavailable", "PlanStalled", "select_engine"]
