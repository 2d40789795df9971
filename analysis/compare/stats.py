"""The statistics behind comparisons that hold up: shrinkage, intervals, tests, FDR.

Groups of outlets are small (a story often has one article from a side), so a raw
frame distribution or divergence says little on its own. Everything here is
deterministic: random draws come from a generator seeded by the caller (a story id and
the configured seed), and comparisons of statistics allow for float noise, so ties and
rounding never decide a result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
from scipy.special import xlogy
from scipy.stats import hypergeom

from framewatch.analysis.intervals import LEVEL

_TOL = 1e-9  # statistics closer than this count as equal (ties go against discovery)


def entropy_bits(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits along the last axis (0 log 0 = 0)."""
    return -xlogy(p, p).sum(axis=-1) / math.log(2)


def js_bits(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits along the last axis, broadcasting the rest."""
    return np.clip(entropy_bits((p + q) / 2) - (entropy_bits(p) + entropy_bits(q)) / 2, 0, 1)


def shrink(mass: np.ndarray, n: np.ndarray, overall: np.ndarray, prior: float) -> np.ndarray:
    """Group distributions pulled towards the story's overall one by ``prior`` articles.

    ``mass`` (..., groups, frames) sums each group's article shares; ``n`` (..., groups)
    counts its articles. The result is the mean of a Dirichlet posterior whose prior is
    the story's framing worth ``prior`` articles: a group of one article moves two thirds
    of the way to the story's framing with the default of 2, a group of 20 barely moves.
    """
    total = mass.sum(axis=-1, keepdims=True)
    own = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
    w = n[..., None]
    return (w * own + prior * overall) / (w + prior)


def max_pair_divergence(dists: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Largest pairwise JS divergence among groups (..., groups, frames), and the pairs."""
    pairs = list(itertools.combinations(range(dists.shape[-2]), 2))
    d = np.stack([js_bits(dists[..., a, :], dists[..., b, :]) for a, b in pairs], axis=-1)
    return d.max(axis=-1), pairs


def labelings(sizes: Sequence[int], limit: int) -> Iterator[tuple[int, ...]] | None:
    """Every distinct assignment of group labels with these sizes, or None if too many."""
    n = sum(sizes)
    count = math.factorial(n)
    for s in sizes:
        count //= math.factorial(s)
    if count > limit:
        return None

    def rec(left: list[int], k: int) -> Iterator[tuple[int, ...]]:
        if k == 0:
            yield ()
            return
        for g, c in enumerate(left):
            if c:
                left[g] -= 1
                for rest in rec(left, k - 1):
                    yield (g, *rest)
                left[g] += 1

    return rec(list(sizes), n)


def permutation_p(
    outlet_mass: np.ndarray, outlet_articles: np.ndarray, labels: np.ndarray, prior: float,
    rng: np.random.Generator, draws: int,
) -> tuple[float, float]:  # fmt: skip
    """Observed statistic and p-value of a test that shuffles group labels across outlets.

    The statistic is the largest shrunk divergence between two groups. Outlets are the
    unit: an outlet's articles keep one label together, so one prolific outlet cannot
    make a split out of its house style. Exact over every distinct relabelling when
    there are at most ``draws`` of them, else ``draws`` seeded random ones (p counts the
    observed labelling, so it is never 0).
    """
    groups = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=groups)
    overall = outlet_mass.sum(axis=0)
    overall = overall / overall.sum()
    exact = labelings(sizes.tolist(), draws)
    if exact is not None:
        perms = np.array(list(exact), dtype=int)
    else:
        # Row by row, the same draws as ``draws`` calls of ``rng.permutation``, at once.
        perms = rng.permuted(np.tile(labels, (draws, 1)), axis=1).astype(int)
        perms = np.vstack([labels[None, :], perms])
    onehot = (perms[:, None, :] == np.arange(groups)[None, :, None]).astype(float)
    mass = onehot @ outlet_mass  # (perms, groups, frames)
    n = onehot @ outlet_articles  # (perms, groups)
    stat, _ = max_pair_divergence(shrink(mass, n, overall, prior))
    obs_onehot = (labels[None, :] == np.arange(groups)[:, None]).astype(float)
    observed, _ = max_pair_divergence(
        shrink(obs_onehot @ outlet_mass, obs_onehot @ outlet_articles, overall, prior)
    )
    hits = int((stat >= observed - _TOL).sum())
    return float(observed), hits / len(perms)


def divergence_interval(
    mass: np.ndarray, n: np.ndarray, overall: np.ndarray, prior: float,
    rng: np.random.Generator, draws: int = 2000,
) -> np.ndarray:  # fmt: skip
    """90% interval of the largest pairwise divergence between groups, as (2,) bounds,
    around the divergence of the shrunk distributions (the figure shown and ranked).

    Each group's framing is a Dirichlet posterior: its articles' shares counted as
    observations, plus the story's framing worth ``prior`` articles (so its mean is the
    shrunk distribution). Frames the story never used are left out (0 everywhere).
    Divergences of posterior draws sit above the divergence of the means (noise alone
    makes two draws differ: a divergence cannot fall below 0), so their quantiles would
    leave the shown figure outside its own interval. The interval is their spread
    instead, measured from their median and laid around the shown figure, within [0, 1].
    """
    used = overall > 0
    total = mass.sum(axis=-1, keepdims=True)
    own = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
    alpha = n[:, None] * own[:, used] + prior * overall[used]
    if used.sum() < 2:
        return np.zeros(2)
    samples = np.stack([rng.dirichlet(a, size=draws) for a in alpha], axis=1)
    div, _ = max_pair_divergence(samples)
    lo, mid, hi = np.quantile(div, [(1 - LEVEL) / 2, 0.5, 1 - (1 - LEVEL) / 2])
    shown, _ = max_pair_divergence(shrink(mass[:, used], n, overall[used], prior))
    return np.clip([shown - (mid - lo), shown + (hi - mid)], 0.0, 1.0)


def fewer_outlets_p(covering_in: int, covering: int, active_in: int, active: int) -> float:
    """P(at most ``covering_in`` of the story's outlets have the value) if labels were random.

    Of the ``active`` outlets writing around the story, ``active_in`` have the value;
    ``covering`` of them covered it. Shuffling labels across those outlets makes the
    number with the value among the covering ones hypergeometric: this is that test,
    exact, with no assumption about how often each outlet writes.
    """
    return float(hypergeom.cdf(covering_in, active, active_in, covering))


def bh_adjust(p: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    Written out (scipy's ``false_discovery_control`` needs scipy 1.11; we allow 1.10);
    the tests check it against scipy's.
    """
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q
