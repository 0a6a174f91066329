"""The command line's argument types: each value checked in the option's own terms.

argparse calls these while it parses, so a wrong value is a usage error (exit 2) naming the
option (``argument --max: expected a whole number of at least 1, got '0'``) before any
request is sent or any file opened, never a message about the SDK's Python arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta

from ._models import TimeRange
from ._protocol.headers import parse_datetime

__all__ = ["at_least", "moment", "time_range", "until"]


def at_least(low: int) -> Callable[[str], int]:
    """A whole number of at least ``low`` (``--max``, ``--count``: 1; ``--start``: 0)."""

    def whole_number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            msg = f"expected a whole number of at least {low}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return whole_number


def time_range(text: str) -> str:
    """A time range's name; the service judges which names it knows (exit 11 if not)."""
    if not text or not text.isprintable() or text != text.strip():
        msg = f"expected one of {', '.join(t.value for t in TimeRange)}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


def moment(text: str) -> datetime:
    """A date or an ISO-8601 moment; a naive one is UTC."""
    parsed = parse_datetime(text)  # "Z" too, on every Python
    if parsed is None:
        msg = f"not a date: {text!r} (expected YYYY-MM-DD or ISO-8601)"
        raise argparse.ArgumentTypeError(msg)
    return parsed


def until(text: str) -> datetime:
    """Like ``moment``, but a bare date means the end of that day, as people read
    ``--until 2026-03-01``."""
    parsed = moment(text)
    return parsed + timedelta(days=1) if len(text.strip()) == 10 else parsed
