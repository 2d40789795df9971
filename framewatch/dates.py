"""Publication dates as real exports write them, read to naive UTC or refused by value.

Exports from news archives, spreadsheets and APIs write dates a dozen ways; a date read
wrongly (a month taken for a day, today's year filled in) misplaces a story silently,
so a value is read only when its reading is certain, and refused with a hint otherwise.
"""

from __future__ import annotations

import functools
import re
import warnings
from datetime import date, datetime, timezone
from typing import Any

from framewatch.errors import InputError

# 24.04.2020, 04/24/2020, 24-04-2020, anywhere in the text (after a weekday, before ", 09:12")
_NUMERIC = re.compile(r"(?<![\d./-])(\d{1,2})([./-])(\d{1,2})\2(\d{2,4})(?![\d./-])")
# "GMT+0200", "UTC+2": the offset as ISO means it (dateutil reads "UTC+2" the POSIX way,
# two hours the other side); the zone's name in brackets after it (JavaScript) goes.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2}):?(\d{2})?\b(?:\s*\([^)]*\))?")
_UTC_NAMES = {"UTC", "GMT", "UT", "Z"}
_CLOCK_12 = re.compile(r"\d\s*[AaPp]\.?[Mm]\.?(?![A-Za-z])")
_DIGITS = re.compile(r"\d+(\.\d+)?")
# two parses with different defaults tell a part the text gave from one filled in
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))
_COMPACT = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}


def parse_time(value: Any, name: str = "published_at") -> datetime | None:
    """A date as naive UTC; None for no value; InputError naming a value it cannot read
    (``name`` is the column it came from)."""
    try:
        return _parse(value)
    except InputError as exc:
        raise InputError(str(exc).replace("published_at", name, 1)) from None


def _parse(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else _utc(value, value)
    if isinstance(value, date):  # a Parquet date32 column
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise InputError(f"published_at {value!r} is not a date")
    if isinstance(value, float) and value != value:  # NaN: pandas' missing value
        return None
    if isinstance(value, (int, float)):
        return _number(value, value)
    text = str(value).strip()
    if not text:
        return None
    if _DIGITS.fullmatch(text):
        return _number(text, value)
    return _text(text, value)


def _number(num: Any, value: Any) -> datetime:
    """Digits: epoch seconds (9-10 digits), milliseconds (13), or a compact
    YYYYMMDD[HHMM[SS]] as GDELT and some archives write it."""
    try:
        digits = str(int(float(num))) if isinstance(num, float) else str(num).split(".")[0]
        if len(digits) in (9, 10):
            return _utc(datetime.fromtimestamp(float(num), timezone.utc), value)
        if len(digits) == 13:
            return _utc(datetime.fromtimestamp(float(num) / 1000, timezone.utc), value)
        if digits == str(num) and len(digits) in _COMPACT:
            return datetime.strptime(digits, _COMPACT[len(digits)])
    except (ValueError, OverflowError, OSError):
        pass
    raise InputError(
        f"published_at {value!r} is not a date (a number is read as epoch seconds, 10 digits, "
        "or milliseconds, 13)"
    )


def _text(text: str, value: Any) -> datetime:
    try:  # ISO 8601, the common case, to the microsecond (nanoseconds are cut)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        dt = _cached(text)
    return _utc(dt, value) if dt.tzinfo else dt


@functools.lru_cache(maxsize=4096)
def _cached(text: str) -> datetime:
    """Every other form, by its text (an export repeats its dates: dateutil is slow)."""
    numeric = _NUMERIC.search(text)
    if numeric:
        text = text[: numeric.start()] + _day_month(numeric, text) + text[numeric.end() :]
    text = _GMT_OFFSET.sub(_iso_offset, text)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _rfc2822(text) or _words(text, text)


def _iso_offset(m: re.Match) -> str:
    return f" {m[1]}{int(m[2]):02d}{m[3] or '00'}"


def _day_month(m: re.Match, value: Any) -> str:
    """A numeric day and month as ISO: dotted dates are day first (German, Russian...);
    slashed or dashed ones only when one part is over 12, else they are refused."""
    a, sep, b, year = int(m[1]), m[2], int(m[3]), m[4]
    if len(year) != 4:
        raise InputError(f"published_at {value!r} has a two-digit year; write it as YYYY-MM-DD")
    if sep == "." or a > 12:
        day, month = a, b
    elif b > 12 or a == b:
        day, month = b, a
    else:
        raise InputError(
            f"published_at {value!r} could be month/day or day/month; write it as "
            f"{year}-{a:02d}-{b:02d} or {year}-{b:02d}-{a:02d}, whichever it is"
        )
    return f"{year}-{month:02d}-{day:02d}"


def _rfc2822(text: str) -> datetime | None:
    """RSS and e-mail dates: Fri, 24 Apr 2020 09:12:00 +0200."""
    from email.utils import parsedate_to_datetime

    if _CLOCK_12.search(text):  # email.utils would read 9:12 PM as 09:12
        return None
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt.tzinfo is None and re.search(r"\d:\d\d(?::\d\d)?\s+[A-Za-z]", text):
        # a zone name email.utils does not know (CEST): read naive, it would be hours off
        raise InputError(f"published_at {text!r} has a time zone name framewatch cannot "
                         "place; write an offset such as +02:00")  # fmt: skip
    return dt


def _words(text: str, value: Any) -> datetime:
    """Dates with month names or a zone name (April 24, 2020; 2020-04-24 09:12 UTC), by
    dateutil, refused when a year, month or day is missing (dateutil would take today's)
    or a zone name it does not know (the time would be hours off)."""
    from dateutil import parser
    from dateutil.parser import UnknownTimezoneWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnknownTimezoneWarning)
            first, second = (parser.parse(text, default=d, tzinfos=_zone) for d in _DEFAULTS)
    except UnknownTimezoneWarning:
        raise InputError(
            f"published_at {value!r} has a time zone name framewatch cannot place; "
            "write an offset such as +02:00"
        ) from None
    except (ValueError, OverflowError, TypeError):
        raise InputError(f"published_at {value!r} is not a date") from None
    if first.date() != second.date():
        raise InputError(f"published_at {value!r} is not a whole date (year, month and day)")
    return first


def _zone(name: str, offset: int | None):
    """dateutil's zone names: UTC's, or an offset written beside the name; never the
    machine's own zone (CET would be read as local time on a Berlin server only)."""
    if offset is not None:
        return offset
    if not name:
        return None
    if name.upper() in _UTC_NAMES:
        return 0
    from dateutil.parser import UnknownTimezoneWarning

    raise UnknownTimezoneWarning(name)


def _utc(dt: datetime, value: Any) -> datetime:
    try:
        return dt.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # e.g. year 1 at +14:00 falls before year 1 in UTC
        raise InputError(f"published_at {value!r} is out of range") from None
