"""Feed health: when a feed is polled next, and what went wrong with it last.

A feed that keeps failing is polled less and less often (exponential backoff, capped),
with jitter so that feeds that failed together (one outage, one bad network minute)
do not all come back in the same second.
"""

from __future__ import annotations

import random
from datetime import timedelta

from framewatch.config import Settings
from framewatch.store import Store, utcnow

MAX_DOUBLINGS = 6  # at most 64 poll intervals between tries (32 hours at 30 minutes)
JITTER = (0.75, 1.25)  # each wait is its nominal length times a factor drawn from here


def failure_backoff(failures: int, interval_min: float, rng: random.Random) -> timedelta:
    """The wait after the ``failures``-th failure in a row: doubling, capped, jittered."""
    nominal = interval_min * 2 ** min(max(failures, 1) - 1, MAX_DOUBLINGS)
    return timedelta(minutes=nominal * rng.uniform(*JITTER))


def _upsert_state(store: Store, source_id: int, **values) -> None:
    cols = ", ".join(values)
    sets = ", ".join(f"{k} = excluded.{k}" for k in values)
    store.execute(
        f"INSERT INTO feed_state (source_id, {cols}) VALUES (?, {', '.join('?' for _ in values)}) "
        f"ON CONFLICT (source_id) DO UPDATE SET {sets}",
        [source_id, *values.values()],
    )


def record_success(
    store: Store, settings: Settings, source_id: int, status: int, error: str | None,
    etag: str | None, lm: str | None,
) -> None:  # fmt: skip
    now = utcnow()
    _upsert_state(
        store, source_id, etag=etag, last_modified=lm, last_polled_at=now, last_success_at=now,
        last_status=status, last_error=error, consecutive_failures=0,
        next_poll_at=now + timedelta(minutes=settings.crawl.poll_interval_min),
    )  # fmt: skip


def record_failure(
    store: Store, settings: Settings, source_id: int, status: int | None, error: str,
    rng: random.Random,
) -> None:  # fmt: skip
    now = utcnow()
    row = store.execute(
        "SELECT consecutive_failures FROM feed_state WHERE source_id = ?", [source_id]
    ).fetchone()
    failures = (row[0] if row else 0) + 1
    wait = failure_backoff(failures, settings.crawl.poll_interval_min, rng)
    _upsert_state(
        store, source_id, last_polled_at=now, last_status=status, last_error=error,
        consecutive_failures=failures, next_poll_at=now + wait,
    )  # fmt: skip


def feed_state_of(store: Store, source_id: int) -> dict:
    cur = store.execute("SELECT * FROM feed_state WHERE source_id = ?", [source_id])
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else {}
