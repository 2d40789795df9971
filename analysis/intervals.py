"""The interval every share framewatch shows carries: comparisons, digests and search alike.

Below both ``compare`` and ``search`` so that a share of attention and a share of a
story's coverage are bounded the same way.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

LEVEL = 0.90  # every interval framewatch shows is a 90% interval


def jeffreys_interval(x: float, n: float) -> tuple[float, float]:
    """90% Jeffreys interval of a proportion x/n (0 and 1 at the edges, as Brown et al. advise).

    ``x`` may be fractional: a group's articles each count their share of a frame.
    """
    lo, hi = jeffreys_intervals(np.array([x], float), np.array([n], float))
    return float(lo[0]), float(hi[0])


def jeffreys_intervals(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`jeffreys_interval` over arrays at once (a story's groups and frames): one
    call into scipy instead of one per share, which dominated the splits' time."""
    x, n = np.broadcast_arrays(np.asarray(x, float), np.asarray(n, float))
    a = (1 - LEVEL) / 2
    valid = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(valid & (x > 0), beta.ppf(a, x + 0.5, n - x + 0.5), 0.0)
        hi = np.where(valid & (x < n), beta.ppf(1 - a, x + 0.5, n - x + 0.5), 1.0)
    return lo, hi
