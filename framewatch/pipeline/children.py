"""Child processes that end with their parent, however it ends.

A service is stopped with SIGTERM, but also killed (SIGKILL, the OOM killer), and a
killed parent runs no clean-up: its dashboard and its model process would live on,
holding a port and a model's memory. Linux ends them itself when asked beforehand
(PR_SET_PDEATHSIG); elsewhere this does nothing and SIGTERM's clean-up is all there is.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None) -> None:
    """Call in the child: SIGTERM arrives when the parent dies. With ``parent_pid``, a
    parent that died before this call ends the child at once."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)
