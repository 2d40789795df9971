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


# What an API's answer says about itself, and the names APIs give their list of rows.
_ANSWER_KEYS = {"status", "totalresults", "total", "count", "page", "pages", "nextpage",
                "next", "cursor", "meta", "pagination", "response", "version"}  # fmt: skip
_ROW_LISTS = {"articles", "results", "data", "items", "docs", "stories", "posts", "hits",
              "news", "entries", "value", "documents"}  # fmt: skip


def _object_lists(obj: dict[str, Any]) -> list[str]:
    """The keys holding a list of objects (or an empty list)."""
    return [k for k, v in obj.items()
            if isinstance(v, list) and all(isinstance(x, dict) for x in v[:1])]  # fmt: skip


# An answer made only of these is an error (the Guardian's rate limit {"message": ...},
# Apigee's {"fault": {"faultstring": ...}} in front of the NYT's API, {"error": ...}).
_ERROR_KEYS = {"message", "code", "fault", "error", "errors", "status", "detail", "type"}


def _is_error(obj: dict[str, Any]) -> bool:
    status = str(obj.get("status", "")).lower()
    if status == "error":
        return True
    keys = {str(k).lower() for k in obj}
    return (status in ("", "failed", "fail") and bool(keys) and keys <= _ERROR_KEYS
            and bool(keys & {"message", "fault", "error", "errors"}))  # fmt: skip


def _answer(obj: dict[str, Any]) -> bool:
    """Whether an object says it is an API's answer (a status, a count, paging)."""
    return any(str(k).lower().replace("_", "") in _ANSWER_KEYS for k in obj)


def _single(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The one article of a single-item endpoint's answer: the Guardian's
    ``{"status": "ok", "content": {webTitle, webUrl, fields}}`` (its relatedContent and
    mostViewed lists are other articles). Only by that name, in an answer: a section's
    answer has its results beside a ``section`` table with a webTitle of its own."""
    item = obj.get("content")
    if _answer(obj) and isinstance(item, dict) and _article(item):
        return item
    return None


def _row_list(obj: dict[str, Any]) -> str | None:
    """The key of an answer's list of articles: a known name, or any list whose first
    object is an article when the object also says it is an answer."""
    answer = _answer(obj)
    found = []
    for k in _object_lists(obj):
        v = obj[k]
        articles = bool(v) and _article(v[0])
        if (str(k).lower() in _ROW_LISTS and (answer or articles)) or (answer and articles):
            found.append(k)
    full = [k for k in found if obj[k]]
    if len(full) > 1:
        return None  # two lists of articles: which one is said below
    return full[0] if full else (found[0] if found else None)


def is_wrapper(obj: dict[str, Any]) -> bool:
    """Whether a JSON Lines record is an API answer holding rows, not an article: one
    answer per line is how paged results get appended to one file. Only on evidence: an
    error status, or a list of articles under an answer's name or beside its paging."""
    if _is_error(obj) or _row_list(obj) is not None or _single(obj) is not None:
        return True
    if _table_rows(obj) is not None:  # a pandas frame saved on one line
        return True
    return not _article(obj) and any(
        isinstance(v, dict) and (_is_error(v) or _row_list(v) is not None or _single(v) is not None)
        for v in obj.values()
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
    if first is _NOT_JSON:  # a lone "[" opens a pretty-printed array, whatever follows
        return head[0].strip() in ("[", "{") or not (
            len(head) > 1 and isinstance(_value(head[1]), dict)
        )
    return len(head) == 1 and (
        isinstance(first, list) or (isinstance(first, dict) and not _article(first))
    )


def _error(doc: dict[str, Any]) -> str:
    """An error response's code and message (NewsAPI's at the top, NewsData.io's inside
    ``results``), on one line."""
    inner = next((v for v in doc.values() if isinstance(v, dict)), {})
    code = doc.get("code") or inner.get("code")
    said = [d.get(k) for d in (doc, inner) for k in ("message", "faultstring", "error")]
    text = _say(next((s for s in said if isinstance(s, str) and s), "no message"))
    return f"{code}: {text}" if code else text


def _say(value: Any) -> str:
    """An error's text on one line: a message of its own, or the first of a list."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = next((value[k] for k in ("message", "faultstring") if value.get(k)), value)
    return " ".join(str(value).split())[:300]


def _table_rows(doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The rows of a table saved whole: pandas' ``to_json`` orients "split" ({columns,
    index, data}), "columns" ({column: {row: value}}, its default) and "index" ({row:
    {column: value}}, as a Firebase export keys its records too). None for anything else."""
    cols, data = doc.get("columns"), doc.get("data")
    if (
        set(doc) <= {"columns", "index", "data"}
        and isinstance(cols, list)
        and isinstance(data, list)
    ):
        if all(isinstance(r, list) and len(r) == len(cols) for r in data):
            return [dict(zip(cols, r, strict=True)) for r in data]
        return None
    values = list(doc.values())
    if len(values) < 1 or not all(isinstance(v, dict) for v in values):
        return None
    if all(_article(v) for v in values) and (len(values) > 1 or str(next(iter(doc))).isdigit()):
        return values  # orient "index": one record per key
    index = list(values[0])
    if _article(doc) and all(list(v) == index for v in values):  # orient "columns"
        return [{c: doc[c][i] for c in doc} for i in index]
    return None


def _feed_items(doc: dict[str, Any], rows: list[Any]) -> list[Any]:
    """A JSON Feed's items under the feed's title as their outlet, their relative URLs
    resolved against its home page (an item says neither)."""
    if "jsonfeed.org" not in str(doc.get("version", "")):
        return rows
    feed = {"source": doc.get("title"), "site_url": doc.get("home_page_url")}
    return [{**feed, **r} if isinstance(r, dict) else r for r in rows]


def rows_in(doc: Any, name: object) -> list[Any]:
    """The rows of a JSON document: an array, or the one list of objects inside an object,
    looked for a level down when the object wraps one other object. An object with a
    title or text is one article, as is a single-item answer's; an API's error response
    is refused with its message."""
    top = doc
    if isinstance(doc, dict) and (table := _table_rows(doc)) is not None:
        return table
    for _ in range(_DEPTH):
        if isinstance(doc, list):
            return doc
        if not isinstance(doc, dict):
            raise NoArticlesError(
                f"{name}: a JSON document of one {type(doc).__name__}, not articles"
            )
        if _is_error(doc):
            raise NoArticlesError(f"{name}: an error response, not articles: {_error(doc)}")
        if (item := _single(doc)) is not None:
            return [item]
        if (key := _row_list(doc)) is not None:  # a JSON Feed has a title beside its items
            return _feed_items(doc, doc[key])
        if _article(doc):
            return [doc]
        lists = _object_lists(doc)
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
