""".json files that are one JSON document: which list in it holds the articles.

APIs answer with their rows inside a wrapper (NewsAPI's ``{"status", "totalResults",
"articles"}``, ``{"data": [...]}``, the Guardian's ``{"response": {"results": [...]}}``)
and researchers save that answer as it came. A JSON Lines file is told apart by its first
lines only, so it is still read line by line, however large.
"""

from __future__ import annotations

import json
from typing import Any

from framewatch.errors import NoArticlesError
from framewatch.import_rows import column_names, resolve

_NOT_JSON = object()
# NewsAPI at the top, the Guardian and the NYT one level down, never deeper in practice
_DEPTH = 3


def _value(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _article(obj: dict[str, Any]) -> bool:
    keys, _ = resolve(list(obj))
    return bool(keys["title"] or keys["text"])


def _has_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def is_wrapper(obj: dict[str, Any]) -> bool:
    """Whether a JSON Lines record is an API response holding rows, not an article: one
    response per line is how paged results get appended to one file."""
    if _article(obj):
        return False
    if str(obj.get("status", "")).lower() == "error":
        return True
    inner = [v for v in obj.values() if isinstance(v, dict)]
    return any(_has_rows(v) for v in obj.values()) or any(
        _has_rows(v) for d in inner for v in d.values()
    )


def is_document(head: list[str]) -> bool:
    """Whether a .json file is one JSON document, from its first two non-blank lines.

    A first line that is no JSON value on its own starts a document spread over lines,
    unless the next line is a whole object (JSON Lines whose first row is broken). A file
    of one line is a document when that line is a list or an object that is no article
    (NewsAPI's response as curl saves it)."""
    if not head:
        return False
    first = _value(head[0])
    if first is _NOT_JSON:
        return not (len(head) > 1 and isinstance(_value(head[1]), dict))
    return len(head) == 1 and (
        isinstance(first, list) or (isinstance(first, dict) and not _article(first))
    )


def _error(doc: dict[str, Any]) -> str:
    """An error response's code and message (NewsAPI's at the top, NewsData.io's inside
    ``results``), on one line."""
    inner = next((v for v in doc.values() if isinstance(v, dict)), {})
    code = doc.get("code") or inner.get("code")
    text = _say(doc.get("message") or inner.get("message") or "no message")
    return f"{code}: {text}" if code else text


def _say(value: Any) -> str:
    """An error's text on one line: a message of its own, or the first of a list."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = next((value[k] for k in ("message", "faultstring") if value.get(k)), value)
    return " ".join(str(value).split())[:300]


def rows_in(doc: Any, name: object) -> list[Any]:
    """The rows of a JSON document: an array, or the one list of objects inside an object,
    looked for a level down when the object wraps one other object. An object with a
    title or text is one article; an API's error response is refused with its message."""
    top = doc
    for _ in range(_DEPTH):
        if isinstance(doc, list):
            return doc
        if not isinstance(doc, dict):
            raise NoArticlesError(
                f"{name}: a JSON document of one {type(doc).__name__}, not articles"
            )
        if str(doc.get("status", "")).lower() == "error":
            raise NoArticlesError(f"{name}: an error response, not articles: {_error(doc)}")
        if _article(doc):
            return [doc]
        lists = [k for k, v in doc.items() if isinstance(v, list) and all(
            isinstance(x, dict) for x in v[:1])]  # fmt: skip
        full = [k for k in lists if doc[k]]
        if len(full) > 1:
            raise NoArticlesError(
                f"{name}: which list holds the articles: {column_names(full)}? "
                "save that list alone (a JSON array, or JSON Lines)"
            )
        if lists:  # an answer with no results is no rows, not an error
            return doc[full[0]] if full else []
        inner = [v for v in doc.values() if isinstance(v, dict)]
        if len(inner) != 1:
            break
        doc = inner[0]
    # the NYT's {"fault": {"faultstring": ...}}, {"error": ...}, {"errors": [...]}
    said = next((top[k] for k in ("error", "errors", "fault") if top.get(k)), None)
    if said is not None:
        raise NoArticlesError(f"{name}: an error response, not articles: {_say(said)}")
    keys = column_names(str(k) for k in top)
    raise NoArticlesError(f"{name}: no list of articles in this JSON (its keys: {keys})")
