"""Which shipped codebook fits a store: frame a sample with each and see which discriminates.

The technology-and-geopolitics codebook reads general news as mostly "threat": a
codebook whose one frame takes most of the articles tells a reader nothing. So a
seeded sample of the store's articles is framed zero-shot with every shipped codebook;
a codebook fits when no single frame is the primary frame of more than ``max_top``
of the framed articles, and among those that fit the one that frames the larger part
of the sentences (less "none") is suggested. When none fits, the least lopsided one is.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from framewatch.analysis.framing.codebook import builtin_codebooks
from framewatch.analysis.framing.zeroshot import ZeroShotFramer

MAX_TOP = 0.5  # a codebook whose top frame is primary for more than half the articles is lopsided


@dataclass
class CodebookFit:
    codebook: str
    name: str
    articles: int  # articles framed (with at least one framed sentence)
    top_frame: str | None
    top_share: float  # the top frame's part of those articles' primary frames
    evenness: float  # entropy of primary frames / log(number of frames): 1 = even
    framed_share: float  # mean part of an article's sentences that carry a frame
    fits: bool


@dataclass
class Suggestion:
    codebook: str
    sample: int
    fits: list[CodebookFit]


def sample_articles(con, size: int, seed: int) -> list[tuple[str | None, str | None]]:
    """A seeded sample of (title, text): the same store gives the same sample."""
    return con.execute(
        "SELECT title, text FROM articles ORDER BY hash(id, ?), id LIMIT ?", [seed, size]
    ).fetchall()


def measure(framer: ZeroShotFramer, docs: list[tuple], max_top: float = MAX_TOP) -> CodebookFit:
    """How one codebook frames the sample."""
    results = framer.frame_articles(docs)
    primaries = Counter(r.primary for r in results if r.primary)
    framed = sum(primaries.values())
    top, top_n = primaries.most_common(1)[0] if primaries else (None, 0)
    k = len(framer.frame_ids)
    entropy = -sum(n / framed * math.log(n / framed) for n in primaries.values()) if framed else 0.0
    top_share = top_n / framed if framed else 1.0
    cb = framer.codebook
    return CodebookFit(
        cb.id, cb.name, framed, top, round(top_share, 3),
        round(entropy / math.log(k), 3) if k > 1 else 0.0,
        round(sum(1 - r.none_share for r in results) / max(len(results), 1), 3),
        framed > 0 and top_share <= max_top,
    )  # fmt: skip


def suggest_codebook(
    con, encoder, threshold: float, size: int = 200, seed: int = 23, max_top: float = MAX_TOP
) -> Suggestion:
    """Frame a sample with every shipped codebook; the best fitting one first."""
    docs = sample_articles(con, size, seed)
    if not docs:
        raise ValueError("the store has no articles to sample yet")
    fits = [
        measure(ZeroShotFramer(cb, encoder, threshold), docs, max_top)
        for _, cb in sorted(builtin_codebooks().items())
    ]
    fits.sort(key=lambda f: (not f.fits, -f.framed_share if f.fits else f.top_share, f.codebook))
    return Suggestion(fits[0].codebook, len(docs), fits)
