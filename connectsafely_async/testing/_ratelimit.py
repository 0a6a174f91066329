"""The fake server's rate limiter and its ``X-RateLimit-*`` headers."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Final

import attrs

__all__ = ["FixedWindow"]

_DOCUMENTED_RATE_LIMIT: Final = 60  # per minute; reported when no limit is enforced


@attrs.define
class FixedWindow:
    """A fixed-window request counter: ``limit`` requests per ``window`` seconds.

    The window opens at the first request and closes ``window`` seconds later; the next
    request opens a new one. ``limit=None`` counts but never throttles.
    """

    limit: int | None
    window: float
    opened_at: float = -math.inf
    used: int = 0

    def hit(self, now: float) -> bool:
        """Count one request; whether it is allowed."""
        if now - self.opened_at >= self.window:
            self.opened_at, self.used = now, 0
        self.used += 1
        return self.limit is None or self.used <= self.limit

    def seconds_left(self, now: float) -> float:
        return max(0.0, self.opened_at + self.window - now)

    def headers(self, now: float, *, throttled: bool = False) -> dict[str, str]:
        limit = _DOCUMENTED_RATE_LIMIT if self.limit is None else self.limit
        left = self.seconds_left(now) if self.used else self.window
        reset = datetime.now(timezone.utc) + timedelta(seconds=left)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0" if throttled else str(max(0, limit - self.used)),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Action": "throttle" if throttled else "allow",
            "X-RateLimit-Reset": reset.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
