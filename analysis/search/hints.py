"""Why a query may find less than its writer meant: one line each, shown beside the results.

A query that parses is run as written, but a few slips are common enough to name: an
operator in lower case (``or`` is a word), ``-word`` meant as "without", ``word*`` meant
as a wildcard, ``word^2`` meant as a boost, a restriction
that binds to one alternative of an OR only (``lang:de a OR b``), an outlet or
attribute value that nothing has, dates the wrong way round, and a search by meaning on
articles that have no vector yet. None of them is an error (the query may mean exactly
that); each gets a note, which the CLI prints on stderr and the Search page as a caption.
"""

from __future__ import annotations

import difflib
import re

from framewatch.analysis.search.parser import (
    And,
    Field,
    Meaning,
    Node,
    Not,
    Or,
    describe,
    straight_quotes,
)
from framewatch.language_filter import known_languages
from framewatch.outlets import known_outlets

_LOWER_OPERATOR = re.compile(r"(?<![\w\"])(and|or|not)(?![\w\"])")
_MINUS_WORD = re.compile(r"(?:^|\s)-(\w+)")
_WILDCARD = re.compile(r"\w*\*+\w*")
_BOOST = re.compile(r"(\w+)\^(\d+(?:\.\d+)?)")  # Lucene's boost, word^2


def _nodes(node: Node):
    yield node
    if isinstance(node, Not):
        yield from _nodes(node.item)
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from _nodes(item)


def _outside_quotes(query: str) -> str:
    return re.sub(r'"[^"]*"', " ", straight_quotes(query))


def query_hints(con, query: str, node: Node, model: str | None) -> list[str]:
    """Notes on slips in ``query`` (parsed as ``node``) against this reader's store."""
    notes = []
    bare = _outside_quotes(query)
    ops = sorted({m.group(1) for m in _LOWER_OPERATOR.finditer(bare)})
    if ops and len(bare.split()) > 1:
        shown = ", ".join(f"{o!r}" for o in ops)
        upper = ", ".join(o.upper() for o in ops)
        notes.append(f"{shown} is searched as a word; operators are upper case: {upper}")
    for word in sorted(set(_MINUS_WORD.findall(bare))):
        notes.append(f"-{word} searches for {word!r}; to leave it out, write NOT {word}")
    for word in sorted({w for w in _WILDCARD.findall(bare) if w.strip("*")}):
        notes.append(f"* is no wildcard: words match whole, so {word} searches for"
                     f" {word.replace('*', ' ').strip()!r}; write the forms you want with OR")  # fmt: skip
    for word, n in sorted(set(_BOOST.findall(bare))):
        notes.append(f"^ is no boost: {word}^{n} searches for {word!r} and {n!r}; write {word}"
                     " alone")  # fmt: skip
    if not bare.lstrip().startswith("("):  # "(lang:de a) OR b" was grouped on purpose
        notes += _narrow_alternative(node)
    fields = [n for n in _nodes(node) if isinstance(n, Field)]
    notes += _field_hints(con, fields)
    if model and any(isinstance(n, Meaning) for n in _nodes(node)):
        total, with_vector = con.execute(
            "SELECT (SELECT count(*) FROM articles),"
            " (SELECT count(*) FROM embeddings WHERE model = ?)",
            [model],
        ).fetchall()[0]
        if with_vector < total:
            notes.append(
                f'~"..." sees only articles with a vector from {model}: {total - with_vector}'
                f" of {total} have none yet (framewatch analyze embeds them)"
            )
    return notes


def _narrow_alternative(node: Node) -> list[str]:
    """``lang:de Nordkorea OR "Kim Jong"`` keeps only Nordkorea to German: AND binds tighter
    than OR, so a restriction written first misses the other alternatives. Said of the
    query as a whole only: inside brackets, its writer grouped it."""
    if not (isinstance(node, Or) and isinstance(node.items[0], And)):
        return []
    item, others = node.items[0], node.items[1:]
    lead = next((k for k, i in enumerate(item.items) if not isinstance(i, Field)), 0)
    kept, rest = list(item.items[:lead]), list(item.items[lead:])
    if not kept or any(  # each alternative restricted its own way: meant so
        isinstance(f, Field) for o in others for f in _nodes(o)
    ):
        return []
    fields = " ".join(describe(f) for f in kept)
    first = describe(rest[0]) if len(rest) == 1 else f"({describe(And(tuple(rest)))})"
    alternatives = " OR ".join([first, *(describe(o) for o in others)])
    return [f"{fields} applies to {first} only (AND binds tighter than OR); to keep every "
            f"alternative to it, write {fields} ({alternatives})"]  # fmt: skip


def _field_hints(con, fields: list[Field]) -> list[str]:
    notes = []
    for f in fields:
        if f.name == "outlet":
            names = known_outlets(con)
            if f.value.lower() not in {n.lower() for n in names}:
                notes.append(_unknown(f"no outlet is named {f.value!r}", f.value, names))
        elif f.name == "lang":
            held = known_languages(con)
            if f.value not in held:
                notes.append(_unknown(f"no article is in language {f.value!r}", f.value, held))
        elif f.name not in ("story", "topic", "frame", "from", "to"):
            values = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT value FROM outlet_attributes WHERE lower(attribute) = ?",
                    [f.name],
                ).fetchall()
            ]
            if values and f.value.lower() not in {v.lower() for v in values}:
                notes.append(_unknown(f"no outlet has {f.name} = {f.value!r}", f.value, values))
    starts = [f.value for f in fields if f.name == "from"]
    ends = [f.value for f in fields if f.name == "to"]
    if starts and ends and max(starts) > min(ends):
        notes.append(f"from:{max(starts)} is after to:{min(ends)}: no date is in between")
    return notes


def _unknown(what: str, value: str, known: list[str]) -> str:
    folded = {k.lower(): k for k in sorted(known)}
    # A name holding what was typed first ("Fox News" -> "Fox News (Online News)"): a
    # shortened name is the likelier slip than a misspelt one.
    close = [k for k in sorted(known) if value.lower() in k.lower()]
    fuzzy = difflib.get_close_matches(value.lower(), folded, n=3, cutoff=0.5)
    close += [folded[k] for k in fuzzy if folded[k] not in close]
    if close:
        return f"{what} (did you mean {', '.join(repr(c) for c in close[:3])}?)"
    return f"{what} (known: {', '.join(sorted(known)[:8])}{', ...' if len(known) > 8 else ''})"
