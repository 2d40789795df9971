"""How many cores framewatch's model work may use.

The cores this process may run on (a container's or ``taskset``'s CPU set, not the host's
count), capped by ``OMP_NUM_THREADS`` when an operator sets it: framewatch sets torch's
thread count itself, which would otherwise override that variable.
"""

from __future__ import annotations

import os


def available() -> int:
    """At least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    cap = os.environ.get("OMP_NUM_THREADS", "").strip()
    if cap.isdigit() and int(cap) > 0:
        n = min(n, int(cap))
    return max(1, n)
