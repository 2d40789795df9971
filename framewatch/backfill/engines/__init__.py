"""Backfill engines behind one small interface; ``select_engine`` picks one by name.

The Ray engine's module is imported only when asked for: the core install has no Ray.
"""

from __future__ import annotations

from framewatch.backfill.engines.base import Engine, EngineUnavailable, PlanStalled

ENGINES = ("local", "ray")


def check_engine(name: str) -> None:
    """Fail before any work when the engine is unknown or its library is missing."""
    import importlib.util

    if name not in ENGINES:
        raise EngineUnavailable(f"unknown engine {name!r} (use {' or '.join(ENGINES)})")
    if name == "ray":
        try:
            missing = importlib.util.find_spec("ray") is None
        except ValueError:  # a module set to None in sys.modules
            missing = True
        if missing:
            from framewatch.backfill.engines._ray import MISSING

            raise EngineUnavailable(MISSING)


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


__all__ = [
    "ENGINES",
    "Engine",
    "EngineUnavailable",
    "PlanStalled",
    "check_engine",
    "select_engine",
]
