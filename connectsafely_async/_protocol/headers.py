"""The headers and dates of an answer: ``X-RateLimit-*``, ``Retry-After``, ISO instants.

Servers write these in more than one way (the docs changed from Unix seconds to ISO-8601 for
``X-RateLimit-Reset``); every reader here takes any spelling, and garbage reads as ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Final

from .._models import RateLimit

__all__ = ["parse_datetime", "parse_rate_limit", "parse_retry_after"]

# Unix timestamps are far larger than any "seconds from now" a server would send.
_EPOCH_THRESHOLD: Final = 1_000_000_000
# Seconds as HTTP writes them (RFC 9110: 1*DIGIT), with a fraction tolerated; never "inf",
# "1e9", "+5", "1_000" or non-ASCII digits, which float() would all accept.
_DECIMAL: Final = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,9})?")


def parse_rate_limit(headers: Mapping[str, str], *, now: datetime) -> RateLimit | None:
    """The ``X-RateLimit-*`` headers, or ``None`` when the answer carried none."""
    limit = headers.get("X-RateLimit-Limit")
    remaining = headers.get("X-RateLimit-Remaining")
    used = headers.get("X-RateLimit-Used")
    action = headers.get("X-RateLimit-Action")
    reset = headers.get("X-RateLimit-Reset")
    if limit is None and remaining is None and used is None and action is None and reset is None:
        return None
    return RateLimit(
        limit=_parse_int(limit),
        remaining=_parse_int(remaining),
        used=_parse_int(used),
        action=action,
        reset_at=_parse_reset(reset, now),
    )


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` in seconds: a number or an HTTP date. Garbage or negative -> ``None``."""
    if value is None:
        return None
    value = value.strip()
    if not _DECIMAL.fullmatch(value):
        try:
            # Imported here: email.utils costs ~10 ms of import time, and dates are rare.
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - now).total_seconds())
    return float(value)


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 instant as aware UTC, or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"  # fromisoformat learned "Z" only in Python 3.11
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _parse_reset(value: str | None, now: datetime) -> datetime | None:
    """``X-RateLimit-Reset``: ISO-8601 (current docs) or Unix seconds (older docs)."""
    if value is None:
        return None
    value = value.strip()
    if not _DECIMAL.fullmatch(value):
        return parse_datetime(value)
    number = float(value)
    try:
        if number >= _EPOCH_THRESHOLD:
            return datetime.fromtimestamp(number, tz=timezone.utc)
        return datetime.fromtimestamp(now.timestamp() + number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
