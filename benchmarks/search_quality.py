"""Search against references: word queries against a regex, meaning against AllSides' stories.

``python -m benchmarks.search_quality STORE`` on a store holding
../shared/dev-data/allsides_neus_stories (and, for the German and Arabic queries, the
German and Arabic articles of semeval22_pairs), indexed and embedded (`framewatch import`,
`framewatch analyze`):

* every query of ``QUERIES`` gives exactly the articles that a plain regex over the same
  texts gives (whole words, case and accents folded by ``unicodedata``, written here
  independently of the index and of the query parser);
* each AllSides story's title (``story_title``), searched by meaning, finds the story's
  articles among its first 20 results (recall@20).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

# Letters NFKD keeps whole, and Arabic/Persian spelling variants, as the README states them.
_SAME = {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "þ": "th",
         "æ": "ae", "œ": "oe", "ى": "ي", "ی": "ي", "ة": "ه", "ۀ": "ه", "ک": "ك", "ـ": ""}  # fmt: skip


def _fold(text: str) -> str:
    kept = "".join(
        c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c)[0] != "M"
        and unicodedata.category(c) != "Cf"
    )  # fmt: skip
    return unicodedata.normalize("NFC", "".join(_SAME.get(c, c) for c in kept.casefold()))


_ARABIC_WORD = re.compile(r"[\u0621-\u064a]{2,}")
_ATTACHED = "(?:ال|وال|بال|فال|كال|لل)"  # the article and prepositions written onto a noun


def _rx(words: str) -> re.Pattern:
    parts = [re.escape(_fold(w)) for w in words.split()]
    if len(parts) == 1 and _ARABIC_WORD.fullmatch(parts[0]):  # one Arabic word: its attached forms
        word = parts[0]
        if word.startswith("ال") and len(word) > 3:
            return re.compile(r"(?<!\w)" + _ATTACHED + word[2:] + r"(?!\w)")
        return re.compile(r"(?<!\w)" + _ATTACHED + "?" + word + r"(?!\w)")
    return re.compile(r"(?<!\w)" + r"\W+".join(parts) + r"(?!\w)")


def has(words: str) -> Callable[[str], bool]:
    """A word, or a phrase (words in order, separated by anything but word characters)."""
    rx = _rx(words)
    return lambda t: rx.search(t) is not None


H = has
# (query, the same thing as a predicate over the folded "title\ntext")
QUERIES: list[tuple[str, Callable[[str], bool]]] = [
    ("vaccine", H("vaccine")),
    ("Vaccine OR vaccines", lambda t: H("vaccine")(t) or H("vaccines")(t)),
    ("biden AND infrastructure", lambda t: H("biden")(t) and H("infrastructure")(t)),
    ('"white house"', H("white house")),
    ('"supreme court" AND abortion', lambda t: H("supreme court")(t) and H("abortion")(t)),
    ("border NOT biden", lambda t: H("border")(t) and not H("biden")(t)),
    ("(israel OR gaza) AND hamas", lambda t: (H("israel")(t) or H("gaza")(t)) and H("hamas")(t)),
    ("covid AND (mask OR masks) NOT school", lambda t: H("covid")(t) and (H("mask")(t) or H("masks")(t)) and not H("school")(t)),
    ('"voting rights" OR "voter fraud"', lambda t: H("voting rights")(t) or H("voter fraud")(t)),
    ("trump AND NOT (facebook OR twitter)", lambda t: H("trump")(t) and not (H("facebook")(t) or H("twitter")(t))),
    ("war", H("war")),
    ("police reform", lambda t: H("police")(t) and H("reform")(t)),
    ('"capitol riot" OR "january 6"', lambda t: H("capitol riot")(t) or H("january 6")(t)),
    ("china AND (trade OR military OR taiwan)", lambda t: H("china")(t) and (H("trade")(t) or H("military")(t) or H("taiwan")(t))),
    ("NOT (the OR a)", lambda t: not (H("the")(t) or H("a")(t))),
    ('inflation OR "gas prices" OR "consumer prices"', lambda t: H("inflation")(t) or H("gas prices")(t) or H("consumer prices")(t)),
    ("Cuomo AND (harassment OR governor)", lambda t: H("cuomo")(t) and (H("harassment")(t) or H("governor")(t))),
    ("climate NOT (biden OR democrats) OR wildfire", lambda t: (H("climate")(t) and not (H("biden")(t) or H("democrats")(t))) or H("wildfire")(t)),
    ("covid-19 AND vaccine", lambda t: H("covid 19")(t) and H("vaccine")(t)),
    ('"u.s." AND olympics', lambda t: H("u s")(t) and H("olympics")(t)),
    # German (umlauts folded: "Ärzte" finds "Arzte" and "ÄRZTE") and Arabic.
    ("Impfstoff OR Ärzte NOT Trump", lambda t: (H("impfstoff")(t) or H("ärzte")(t)) and not H("trump")(t)),
    ("فيروس OR كورونا", lambda t: H("فيروس")(t) or H("كورونا")(t)),
]  # fmt: skip


def word_queries(con, db: Path) -> list[dict]:
    from framewatch.analysis.search.engine import run_search

    texts = {
        i: _fold(f"{title or ''}\n{text or ''}")
        for i, title, text in con.execute("SELECT id, title, text FROM articles").fetchall()
    }
    out = []
    for query, pred in QUERIES:
        got = set(run_search(con, db, query).ids.tolist())
        want = {i for i, t in texts.items() if pred(t)}
        out.append({"query": query, "matches": len(got), "reference": len(want),
                    "identical": got == want, "only_search": sorted(got - want)[:5],
                    "only_reference": sorted(want - got)[:5]})  # fmt: skip
    return out


def semantic_recall(con, db: Path, model: str, embed, k: int = 20) -> dict:
    """Each story title as ~"title": the share of the story's articles in the first k."""
    from framewatch.analysis.search.engine import Searcher

    rows = con.execute(
        "SELECT id, canonical_url FROM articles WHERE extraction = 'imported'"
    ).fetchall()
    by_url = {u: i for i, u in rows}
    stories: dict[str, tuple[str, list[int]]] = {}
    path = Path(
        "../shared/dev-data/allsides_neus_stories/stories.jsonl"
    )  # relative to the repository
    from framewatch.articles import canonical_url

    for line in path.open(encoding="utf-8"):
        r = json.loads(line)
        aid = by_url.get(canonical_url(r["url"])) if r.get("url") else None
        if aid is None:
            continue
        title, ids = stories.setdefault(r["story"], (r["story_title"], []))
        ids.append(aid)
    searcher = Searcher(con, db, model=model, embed=embed, cutoff=-1.0)
    found = total = 0
    full = 0
    for title, ids in stories.values():
        top = set(searcher.run(f'~"{title.replace(chr(34), " ")}"').ids[:k].tolist())
        hit = len(top & set(ids))
        found += hit
        total += len(ids)
        full += hit == len(ids)
    cut = Searcher(con, db, model=model, embed=embed)  # the default cut-off
    kept = sum(
        len(set(cut.run(f'~"{t.replace(chr(34), " ")}"').ids[:k].tolist()) & set(ids))
        for t, ids in stories.values()
    )
    return {"stories": len(stories), "articles": total, f"recall@{k}": round(found / total, 4),
            f"recall@{k}_at_cutoff": round(kept / total, 4),
            "stories_fully_found": full}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.search_quality")
    ap.add_argument("store", type=Path)
    ap.add_argument("--no-semantic", action="store_true")
    args = ap.parse_args(argv)
    from framewatch.config import load_settings
    from framewatch.store import connect

    con = connect(args.store)
    words = word_queries(con, args.store)
    for w in words:
        print(
            ("OK  " if w["identical"] else "DIFF")
            + f" {w['matches']:4d} / {w['reference']:4d}  {w['query']}"
        )
    result: dict = {"word_queries": words,
                    "identical": sum(w["identical"] for w in words), "queries": len(words)}  # fmt: skip
    if not args.no_semantic:
        from framewatch.analysis.embedding.select import embedder_for

        a = load_settings(None).analysis
        result["semantic"] = semantic_recall(
            con, args.store, a.model, lambda texts: embedder_for(a).embed_queries(texts)
        )
        print(json.dumps(result["semantic"]))
    print(f"{result['identical']} of {result['queries']} word queries identical to the regex")
    return 0 if result["identical"] == result["queries"] else 1


if __name__ == "__main__":
    sys.exit(main())
