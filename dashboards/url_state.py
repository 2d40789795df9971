"""Dashboard filters in the URL, so a journalist can share exactly the view they see."""

from __future__ import annotations

from datetime import date


def page_from_param(value: str | None, pages: list[str]) -> str:
    """The page a ``?page=`` value names: any case, '-' or '_' for spaces ('frame-trends');
    the first page when it names none of them."""
    return _named_page(value, pages) or pages[0]


def _named_page(value: str | None, pages: list[str]) -> str | None:
    wanted = " ".join((value or "").replace("-", " ").replace("_", " ").split()).lower()
    return {p.lower(): p for p in pages}.get(wanted)


def unknown_page(value: str | None, pages: list[str]) -> bool:
    """A ``?page=`` value naming none of the pages ('Nonexistent')."""
    return bool(value) and _named_page(value, pages) is None


def int_param(value: str | None) -> int | None:
    """A whole-number parameter (``story=12``); None when absent or not a number.

    Not ``str.isdigit``: it passes '²', which ``int`` refuses."""
    return int(value) if value and value.isdecimal() else None


def _day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` parameter; None when absent or bad."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def date_param(value: str | None, lo: date, hi: date) -> date | None:
    """A ``YYYY-MM-DD`` parameter clamped to the store's days; None when absent or bad."""
    day = _day(value)
    return None if day is None else min(max(day, lo), hi)


def bad_date(value: str | None) -> bool:
    """A parameter given but not a ``YYYY-MM-DD`` day ('2026-13-01')."""
    return bool(value) and _day(value) is None


def out_of_range(value: str | None, lo: date, hi: date) -> bool:
    """A valid date outside the store's days (``date_param`` moves it to the nearest one)."""
    day = _day(value)
    return day is not None and not lo <= day <= hi


def write_params(params, **values: object) -> None:
    """Put the current filters in the URL; empty ones are dropped from it."""
    for key, value in values.items():
        if value in (None, "", []):
            if key in params:
                del params[key]
        elif isinstance(value, list):
            params[key] = [str(v) for v in value]
        else:
            params[key] = str(value)


KEPT = ("codebook", "by", "from", "to", "outlet", "language", "topic")  # the view a link keeps


def page_link(params, page: str, **values: object) -> str:
    """A ``?page=...`` link that keeps the reader's codebook, grouping, period and filters."""
    from urllib.parse import urlencode

    pairs: list[tuple[str, str]] = [("page", page)]
    pairs += [(k, str(v)) for k, v in values.items() if v not in (None, "")]
    for key in KEPT:
        if key in values or key not in params:
            continue
        got = params.get_all(key) if hasattr(params, "get_all") else [params.get(key)]
        pairs += [(key, str(v)) for v in got if v not in (None, "")]
    return "?" + urlencode(pairs)
