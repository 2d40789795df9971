"""Publication dates as real exports write them, read to naive UTC or refused by value.

Exports from news archives, spreadsheets and APIs write dates a dozen ways; a date read
wrongly (a month taken for a day, today's year filled in) misplaces a story silently,
so a value is read only when its reading is certain, and refused with a hint otherwise.
"""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime, timezone
from typing import Any

from framewatch.errors import InputError

# 24.04.2020, 04/24/2020, 24-04-2020, each with an optional time after it
_NUMERIC = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{2,4})(?=$|[ T])(.*)", re.S)
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
    numeric = _NUMERIC.fullmatch(text)
    if numeric:
        text = _day_month(numeric, value)
    try:  # ISO 8601, the common case, to the microsecond (nanoseconds are cut)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        dt = _rfc2822(text) or _words(text, value)
    return _utc(dt, value) if dt.tzinfo else dt


def _day_month(m: re.Match, value: Any) -> str:
    """A numeric day and month as ISO: dotted dates are day first (German, Russian...);
    slashed or dashed ones only when one part is over 12, else they are refused."""
    a, sep, b, year, rest = int(m[1]), m[2], int(m[3]), m[4], m[5]
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
    return f"{year}-{month:02d}-{day:02d}{rest}"


def _rfc2822(text: str) -> datetime | None:
    """RSS and e-mail dates: Fri, 24 Apr 2020 09:12:00 +0200."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _words(text: str, value: Any) -> datetime:
    """Dates with month names or a zone name (April 24, 2020; 2020-04-24 09:12 UTC), by
    dateutil, refused when a year, month or day is missing (dateutil would take today's)
    or a zone name it does not know (the time would be hours off)."""
    from dateutil import parser
    from dateutil.parser import UnknownTimezoneWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnknownTimezoneWarning)
            first, second = (parser.parse(text, default=d) for d in _DEFAULTS)
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


def _utc(dt: datetime, value: Any) -> datetime:
    try:
        return dt.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # e.g. year 1 at +14:00 falls before year 1 in UTC
        raise InputError(f"published_at {value!r} is out of range") from None
