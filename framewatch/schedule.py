"""When the weekly digest is due: `[digest] send_at` in its time zone, as APScheduler triggers.

The setting is a weekday and a time ("Mon 07:00"); APScheduler's CronTrigger does the
calendar arithmetic (time zones, summer time), so nothing here parses cron syntax.
A digest fired at time T reports the last complete ISO week before T.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from framewatch.errors import InputError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ScheduleError(InputError):
    """A digest time or zone that cannot be used."""


def parse_send_at(value: str, where: str = "digest.send_at") -> tuple[str, int, int]:
    """("mon", 7, 0) from "Mon 07:00"."""
    parts = value.split()
    # "Mon", "Monday" or "Thurs": the start of a day's name, not "Monkey" or "Sunny"
    day = parts[0].lower() if parts else ""
    if (
        len(parts) == 2
        and len(day) >= 3
        and any(d.startswith(day) for d in DAYS)
        and ":" in parts[1]
    ):
        hh, _, mm = parts[1].partition(":")
        if hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60:
            return day[:3], int(hh), int(mm)
    raise ScheduleError(f'{where} must be a weekday and a time like "Mon 07:00", got {value!r}')


def zone(name: str, where: str = "digest.timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f'{where} must be an IANA time zone like "Europe/Berlin", got {name!r}'
        ) from None


def digest_trigger(send_at: str, tz: str) -> CronTrigger:
    from apscheduler.triggers.cron import CronTrigger  # here: every command checks the config

    day, hour, minute = parse_send_at(send_at)
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zone(tz))


def next_digest(send_at: str, tz: str, now: datetime | None = None) -> datetime:
    """The next time the digest is due (aware, in the digest's zone)."""
    now = now or datetime.now(timezone.utc)
    return digest_trigger(send_at, tz).get_next_fire_time(None, now)


def last_digest(send_at: str, tz: str, now: datetime | None = None) -> datetime:
    """The latest time the digest was due, at or before ``now``."""
    now = now or datetime.now(timezone.utc)
    trigger = digest_trigger(send_at, tz)
    fire = trigger.get_next_fire_time(None, now - timedelta(days=7, seconds=1))
    later = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return later if later is not None and later <= now else fire


def week_reported(fire_time: datetime) -> str:
    """The ISO week a digest sent at ``fire_time`` covers: the last complete one."""
    day = fire_time.date() - timedelta(days=fire_time.isoweekday())
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
