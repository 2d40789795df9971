"""The interval every share framewatch shows carries: comparisons, digests and search alike.

Below both ``compare`` and ``search`` so that a share of attention and a share of a
story's coverage are bounded the same way.
"""

from __future__ import annotations

from scipy.stats import beta

LEVEL = 0.90  # every interval framewatch shows is a 90% interval


def jeffreys_interval(x: float, n: float) -> tuple[float, float]:
    """90% Jeffreys interval of a proportion x/n (0 and 1 at the edges, as Brown et al. advise).

    ``x`` may be fractional: a group's articles each count their share of a frame.
    """
    if n <= 0:
        return 0.0, 1.0
    a = (1 - LEVEL) / 2
    lo = 0.0 if x <= 0 else float(beta.ppf(a, x + 0.5, n - x + 0.5))
    hi = 1.0 if x >= n else float(beta.ppf(1 - a, x + 0.5, n - x + 0.5))
    return lo, hi
