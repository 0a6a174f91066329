"""Turn the service's relative ``viewedAt`` text ("Viewed 47m ago") into a ``timedelta``.

The service gives no absolute timestamp anywhere, only LinkedIn's display text. Months and
years are calendar-free approximations (30 and 365 days): the text itself is rounded far more
coarsely than that.

An age becomes an instant in one place, :func:`instant_before`: "Viewed 999999y ago" reads
as an age of a million years, which no ``datetime`` can hold, so the instant is clamped at
:data:`EARLIEST` instead of raising ``OverflowError`` in whatever displays it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Final

__all__ = [
    "EARLIEST", "bucket_seconds", "instant_before", "parse_relative_age", "parse_relative_bucket",
]

#: The earliest instant an age can reach: year 1, with a day of margin so that the instant
#: still converts to any time zone (``astimezone``) without overflowing.
EARLIEST: Final = datetime(1, 1, 2, tzinfo=timezone.utc)

_SECOND = 1.0
_MINUTE = 60.0
_HOUR = 3600.0
_DAY = 86400.0

# Longest spellings first so "mo" is never read as "m" (minutes).
_UNITS: dict[str, float] = {
    "seconds": _SECOND, "second": _SECOND, "secs": _SECOND, "sec": _SECOND, "s": _SECOND,
    "minutes": _MINUTE, "minute": _MINUTE, "mins": _MINUTE, "min": _MINUTE, "m": _MINUTE,
    "hours": _HOUR, "hour": _HOUR, "hrs": _HOUR, "hr": _HOUR, "h": _HOUR,
    "days": _DAY, "day": _DAY, "d": _DAY,
    "weeks": 7 * _DAY, "week": 7 * _DAY, "wks": 7 * _DAY, "wk": 7 * _DAY, "w": 7 * _DAY,
    "months": 30 * _DAY, "month": 30 * _DAY, "mos": 30 * _DAY, "mo": 30 * _DAY,
    "years": 365 * _DAY, "year": 365 * _DAY, "yrs": 365 * _DAY, "yr": 365 * _DAY,
    "y": 365 * _DAY,
}
_UNIT_PATTERN = "|".join(sorted(_UNITS, key=len, reverse=True))
# "47m", "5 minutes", or "an hour" (the article needs a space: "as" is not "a s"). A number
# is read whole or not at all, and ASCII-only matching keeps Unicode case folding (U+017F is
# an "s" to re.IGNORECASE) from producing a unit that is not in the table.
_AGE = re.compile(
    rf"(?:(?<!\d)(\d{{1,6}})\s*|\b(an?)\s+)({_UNIT_PATTERN})\b", re.IGNORECASE | re.ASCII
)
_NOW = re.compile(r"\b(just now|now|today|moments? ago)\b", re.IGNORECASE | re.ASCII)
# LinkedIn's own spelling, the text of nearly every row: read by a pattern that has no
# alternation of thirty spellings to try (the general one gives the same reading).
_SHORT = re.compile(r"Viewed (\d{1,6})(mo|m|h|d|w|y) ago", re.ASCII)


def parse_relative_age(text: str | None) -> timedelta | None:
    """The age a relative text describes, or ``None`` when it says nothing we can read.

    Accepts LinkedIn's short forms ("Viewed 47m ago", "2mo", "1y") and spelled-out ones
    ("3 weeks ago", "an hour ago", "just now").
    """
    if not text:
        return None
    match = _AGE.search(text)
    if match is None:
        return timedelta(0) if _NOW.search(text) else None
    digits, _article, unit = match.groups()
    number = int(digits) if digits else 1
    return timedelta(seconds=number * _UNITS[unit.lower()])


def parse_relative_bucket(text: str | None) -> tuple[timedelta, timedelta] | None:
    """The age a relative text describes and the width of its rounding bucket.

    "Viewed 2d ago" is ``(2 days, 1 day)``: the age lies in ``[2d, 3d)`` when the text is
    rounded down, as LinkedIn's is. "just now" is ``(0, 1 minute)``. ``None`` when the text
    says nothing we can read.
    """
    if not text:
        return None
    match = _AGE.search(text)
    if match is None:
        return (timedelta(0), timedelta(seconds=_MINUTE)) if _NOW.search(text) else None
    digits, _article, unit = match.groups()
    number = int(digits) if digits else 1
    width = _UNITS[unit.lower()]
    return timedelta(seconds=number * width), timedelta(seconds=width)


def bucket_seconds(text: str | None) -> tuple[float, float] | None:
    """``parse_relative_bucket(text)`` in seconds: ``(age, width)``, or ``None``."""
    if text:
        short = _SHORT.fullmatch(text)
        if short is not None:
            amount, unit = short.groups()
            width = _UNITS[unit]
            return int(amount) * width, width
    bucket = parse_relative_bucket(text)
    if bucket is None:
        return None
    return bucket[0].total_seconds(), bucket[1].total_seconds()


def instant_before(now: datetime, age: timedelta) -> datetime:
    """``now - age``, or :data:`EARLIEST` (in ``now``'s time zone) if that is earlier.

    The one reading of an age into an instant: every estimate of when a view happened goes
    through it, so no age a server can write overflows a ``datetime``.

    Args:
        now: when the age was true (a visitor's ``fetched_at``); aware or naive.
        age: how long before ``now`` (``parse_relative_age``'s result).

    Returns:
        An instant with ``now``'s ``tzinfo``, never earlier than ``EARLIEST``.
    """
    # Compared in now's own terms: a naive now gets a naive floor.
    floor = EARLIEST.replace(tzinfo=now.tzinfo)
    if age >= now - floor:
        return floor
    return now - age
