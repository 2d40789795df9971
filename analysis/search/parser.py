"""The query language, parsed with lark into a small tree.

    war AND (ukraine OR russia) NOT "peace talks"     words, phrases, AND/OR/NOT, ( )
    climate policy                                    side by side: both (AND)
    ~"open-weight AI models"                          meaning, through the stored vectors
    lean:right lang:de outlet:"Fox News" story:309 topic:12 frame:threat
    from:2021-06-01 to:2021-06-30                     restrictions, combinable like words

Operators are upper case (``and`` is a word). NOT binds tightest, then AND (written or
implied by juxtaposition), then OR. A word or phrase matches whole words, case- and
accent-insensitively (see :mod:`text`); a word with inner punctuation (``covid-19``)
is the phrase of its parts. Any other ``name:value`` restricts to outlets whose
attribute ``name`` is ``value`` (``lean:right``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from framewatch.analysis.search.text import words
from framewatch.errors import InputError
from framewatch.language_filter import picked_code

FIELDS = {"outlet", "lang", "story", "topic", "frame", "from", "to"}
ALIASES = {"language": "lang", "source": "outlet", "until": "to", "since": "from"}


class QueryError(InputError):
    """A query that cannot be parsed or run; the message says where and why."""


@dataclass(frozen=True)
class Words:
    """A word (one item) or a phrase (several, adjacent and in order).

    ``as_written``: typed in quotes, so no spelling variants (Arabic's attached "al-",
    "li-": ``"الصحة"`` is not ``للصحة``), as a phrase's words never have them.
    """

    items: tuple[str, ...]
    as_written: bool = False


@dataclass(frozen=True)
class Meaning:
    text: str


@dataclass(frozen=True)
class Field:
    name: str  # one of FIELDS, or an outlet attribute
    value: str


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Words | Meaning | Field | Not | And | Or

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND? not_expr)*
?not_expr: _NOT not_expr -> neg
         | atom
?atom: "(" or_expr ")"
     | MEANING -> meaning
     | FIELD -> field
     | PHRASE -> phrase
     | WORD -> word
_OR.3: /OR(?=[\s()"]|$)/
_AND.3: /AND(?=[\s()"]|$)/
_NOT.3: /NOT(?=[\s()"]|$)/
MEANING.2: /~"[^"]*"/
FIELD.2: /[A-Za-z_][A-Za-z0-9_-]*:("[^"]*"|[^\s()"]+)/
PHRASE: /"[^"]*"/
WORD: /[^\s()"~]+/
%import common.WS
%ignore WS
"""


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)


def _strip_quotes(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] == '"' else s


class _Build(Transformer):
    @v_args(inline=True)
    def word(self, tok: Token) -> Node:
        name = str(tok)[:-1].lower()
        if str(tok).endswith(":") and (name in FIELDS or name in ALIASES):
            raise QueryError(f"{tok} needs its value right after the colon, e.g. {tok}value")
        found = words(str(tok))
        if not found:
            raise QueryError(f"{str(tok)!r} has no letters or digits to search for")
        return Words(tuple(found))

    @v_args(inline=True)
    def phrase(self, tok: Token) -> Node:
        found = words(_strip_quotes(str(tok)))
        if not found:
            raise QueryError(f"the phrase {str(tok)} has no letters or digits to search for")
        return Words(tuple(found), as_written=True)

    @v_args(inline=True)
    def meaning(self, tok: Token) -> Node:
        text = _strip_quotes(str(tok)[1:]).strip()
        if not text:
            raise QueryError('~"..." needs some text to search for by meaning')
        return Meaning(text)

    @v_args(inline=True)
    def field(self, tok: Token) -> Node:
        name, value = str(tok).split(":", 1)
        name = ALIASES.get(name.lower(), name.lower())
        value = _strip_quotes(value).strip()
        if not value:
            raise QueryError(f"{name}: needs a value")
        if name == "lang":
            code = picked_code(value)  # de-DE, DE, German: de, as stored; ?: too short to tell
            if code is None:
                raise QueryError(
                    f"lang: takes a language code like en or de, or an English name like "
                    f"German, got {value!r}"
                )
            value = code
        if name in ("story", "topic") and not value.isdigit():
            raise QueryError(f"{name}: takes a number, got {value!r}")
        if name in ("from", "to"):
            try:
                date.fromisoformat(value)
            except ValueError:
                raise QueryError(f"{name}: takes a date like 2021-06-30, got {value!r}") from None
        return Field(name, value)

    def neg(self, items: list) -> Node:
        return Not(items[0])

    def and_expr(self, items: list) -> Node:
        return And(tuple(items))

    def or_expr(self, items: list) -> Node:
        return Or(tuple(items))


def _where(query: str, exc: UnexpectedInput) -> str:
    col = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedEOF) or col in (None, -1):
        return "the query ends where a word, a phrase or ( is still expected"
    if isinstance(exc, UnexpectedCharacters):
        ch = query[exc.pos_in_stream] if exc.pos_in_stream < len(query) else ""
        if ch == '"':
            return f"a quote at column {col} is never closed"
        return f"unexpected {ch!r} at column {col}"
    tok = getattr(exc, "token", None)
    if tok is not None and tok.type == "$END":
        return "the query ends where a word, a phrase or ( is still expected"
    shown = str(tok) if tok is not None else "?"
    if shown == ")":
        pos = getattr(tok, "start_pos", None) or 0
        if query[:pos].rstrip().endswith("("):
            return f"empty parentheses at column {col}"
        return f"a ')' at column {col} closes nothing"
    return f"unexpected {shown!r} at column {col}"


# Typographic double quotes (Word, macOS, German „…“, French «…») quote a phrase too.
_CURLY = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"})


def straight_quotes(query: str) -> str:
    """The query with its typographic double quotes as plain ones (one character each),
    unless it quotes with plain ones: then a curly quote is part of a phrase ("he called
    it “a war”") and would end the phrase early."""
    return query if '"' in query else query.translate(_CURLY)


# Longer queries are refused: the engine's time grows with the square of a word's length
# (a 20,000-letter word took 10 s, a link's 200,000-letter q= ran for minutes).
LONGEST = 2000


def parse(query: str) -> Node:
    """The query's tree; :class:`QueryError` (one line) when it is malformed."""
    if not query or not query.strip():
        raise QueryError('empty query: give words, a "phrase", ~"meaning" or field:value')
    if len(query) > LONGEST:
        raise QueryError(f"the query is {len(query):,} characters long; a query takes up to "
                         f"{LONGEST:,}")  # fmt: skip
    query = straight_quotes(query)
    try:
        tree = _lark().parse(query)
        return _Build().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, RecursionError):
            raise QueryError("malformed query: nested too deeply") from None
        raise
    except RecursionError:  # thousands of NOTs or parentheses: no one's question
        raise QueryError("malformed query: nested too deeply") from None
    except UnexpectedInput as exc:
        if query.count("(") != query.count(")"):
            raise QueryError(f"malformed query: unbalanced parentheses in {query!r}") from None
        if query.count('"') % 2:
            raise QueryError(f"malformed query: a quote is never closed in {query!r}") from None
        raise QueryError(f"malformed query: {_where(query, exc)}") from None


def describe(node: Node) -> str:
    """The tree written back as a query (normalised), for titles and errors."""
    if isinstance(node, Words):
        if len(node.items) == 1 and not node.as_written:
            return node.items[0]
        return '"' + " ".join(node.items) + '"'
    if isinstance(node, Meaning):
        return f'~"{node.text}"'
    if isinstance(node, Field):
        v = node.value
        bare = v and all(c.isalnum() or c in "_.-" for c in v)  # else it would read back as more
        return f"{node.name}:" + (v if bare else f'"{v}"')
    if isinstance(node, Not):
        return "NOT " + _wrap(node.item)
    sep = " AND " if isinstance(node, And) else " OR "
    return sep.join(_wrap(i) for i in node.items)


def _wrap(node: Node) -> str:
    return f"({describe(node)})" if isinstance(node, (And, Or)) else describe(node)


def leaves(node: Node) -> list[Node]:
    """Every word, phrase, meaning and field of the query, in order."""
    if isinstance(node, (And, Or)):
        return [leaf for item in node.items for leaf in leaves(item)]
    if isinstance(node, Not):
        return leaves(node.item)
    return [node]


def positive_leaves(node: Node, negated: bool = False) -> list[Node]:
    """The leaves an article matches *because of* (not under a NOT): its evidence."""
    if isinstance(node, (And, Or)):
        return [leaf for item in node.items for leaf in positive_leaves(item, negated)]
    if isinstance(node, Not):
        return positive_leaves(node.item, not negated)
    return [] if negated else [node]


NOT_A_COLLECTION = {"story", "topic", "frame"}  # they pick articles, not outlets or dates


def collection(node: Node) -> Node | None:
    """The part of a query that picks a collection (outlets, their attributes, languages,
    dates): the conjuncts of its top-level AND made of such fields only. None when it
    names no collection, or nothing else (``lang:de`` alone asks how much of all is German).

    Attention divides by the collection's articles, as Media Cloud normalises within the
    collection searched: ``lang:de AND ki`` is a share of German articles, not of all.
    """
    kept = tuple(i for i in _conjuncts(node) if _picks_collection(i))
    if not kept or _picks_collection(node):  # ``lang:de`` alone: how much of all is German
        return None
    return kept[0] if len(kept) == 1 else And(kept)


def _conjuncts(node: Node) -> list[Node]:
    """``a AND (b AND c)`` as [a, b, c]: brackets around an AND change nothing."""
    if isinstance(node, And):
        return [c for item in node.items for c in _conjuncts(item)]
    return [node]


def _picks_collection(node: Node) -> bool:
    if isinstance(node, Field):
        return node.name not in NOT_A_COLLECTION
    if isinstance(node, Not):
        return _picks_collection(node.item)
    if isinstance(node, (And, Or)):
        return all(_picks_collection(i) for i in node.items)
    return False
