"""A realistic synthetic corpus for benchmarks, grown from the sample corpus.

Every variant's content sentences are unique (so no cache can cheat on them);
outlet boilerplate repeats across an outlet's articles, as it does in real feeds.
"""

from __future__ import annotations

import random
from dataclasses import replace

from framewatch.sample_site import SampleArticle, load_corpus

BOILERPLATE = [
    "Sign up for our morning briefing to get the day's top stories in your inbox.",
    "Follow us on social media for the latest updates on this story.",
    "This article has been updated with additional reporting.",
    "Our journalism relies on readers like you; subscribe to support it.",
    "Have a news tip? Contact our newsroom securely.",
    "Read more of our coverage in the technology section.",
]


def variants(n: int, seed: int = 7) -> list[SampleArticle]:
    base = load_corpus()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = base[i % len(base)]
        paras = []
        for p in a.paragraphs:
            sentences = [s for s in p.split(". ") if s]
            # A unique detail per variant keeps content sentences unique.
            sentences[-1] = sentences[-1].rstrip(".") + f", according to report {i}."
            paras.append(". ".join(sentences))
        rng.shuffle(paras[1:]) if len(paras) > 2 else None
        extra = rng.sample(BOILERPLATE, 3)
        body = "\n\n".join(paras + extra)
        out.append(replace(a, title=f"{a.title} ({i})", body=body, slug=f"{a.slug}-{i}"))
    return out


def long_articles(n: int, seed: int = 11, sentences: int = 27) -> list[SampleArticle]:
    """Real-length articles (about 650 words, 27 sentences, like the climate articles):
    one sample article followed by sentences of others from its story, each sentence
    made unique so the sentence cache cannot help."""
    base = load_corpus()
    rng = random.Random(seed)
    pool = [
        (a.story, s.strip())
        for a in base
        for s in a.text.replace("\n", " ").split(". ")
        if len(s.split()) >= 6
    ]
    out = []
    for i in range(n):
        a = base[i % len(base)]
        same = [s for st, s in pool if st == a.story]
        others = [s for st, s in pool if st != a.story]
        picked = rng.sample(same, min(len(same), sentences // 2))
        picked += rng.sample(others, sentences - len(picked))
        body = " ".join(
            f"{s.rstrip('.')}, in the account of desk {i}-{j}." for j, s in enumerate(picked)
        )
        out.append(replace(a, title=f"{a.title} ({i})", body=body, slug=f"{a.slug}-long-{i}"))
    return out


def short_labelled(n: int, seed: int = 13) -> list[tuple[str, str]]:
    """n unique short texts (a sentence of a sample article) with that article's frame."""
    base = load_corpus()
    pool = [
        (s.strip(), a.frame)
        for a in base
        for s in a.text.replace("\n", " ").split(". ")
        if len(s.split()) >= 6
    ]
    rng = random.Random(seed)
    return [(f"{s.rstrip('.')} (note {i}).", f) for i, (s, f) in
            enumerate(rng.choice(pool) for _ in range(n))]  # fmt: skip
