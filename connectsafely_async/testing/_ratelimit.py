"""The fake server's rate limiters and their ``X-RateLimit-*`` headers.

Two kinds: :class:`FixedWindow` (``limit`` requests per ``window`` seconds, the simple
original) and :class:`ServerBucket` (a sustained rate with a burst capacity, the way the
service documents its limits: "60 per minute, bursts up to 100 per 10 seconds"). The server
uses one of them per API key and, optionally, a :class:`ServerBucket` per LinkedIn account.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Final

import attrs

__all__ = ["FixedWindow", "ServerBucket"]

_DOCUMENTED_RATE_LIMIT: Final = 60  # per minute; reported when no limit is enforced


def _reset_header(seconds: float, *, precise: bool) -> str:
    reset = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    # Millisecond precision when the limiter runs at scaled-up, sub-second rates.
    timespec = "milliseconds" if precise else "seconds"
    return reset.isoformat(timespec=timespec).replace("+00:00", "Z")


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
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0" if throttled else str(max(0, limit - self.used)),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Action": "throttle" if throttled else "allow",
            "X-RateLimit-Reset": _reset_header(left, precise=False),
        }


@attrs.define
class ServerBucket:
    """``rate`` requests per second sustained, up to ``burst`` back to back.

    The bucket starts full. In any ``T`` seconds at most ``burst + rate * T`` requests pass.
    A throttled request takes no token.
    """

    rate: float
    burst: float
    tokens: float = attrs.field(
        default=attrs.Factory(lambda self: float(self.burst), takes_self=True)
    )
    updated: float = -math.inf
    used: int = 0

    def __attrs_post_init__(self) -> None:
        if not self.rate > 0 or not self.burst >= 1:
            msg = f"a token bucket needs rate > 0 and burst >= 1, got {self.rate}, {self.burst}"
            raise ValueError(msg)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            if self.updated > -math.inf:
                self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def allows(self, now: float) -> bool:
        """Whether one request may pass now, without taking its token."""
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        """Take the token of one request that passed."""
        self._refill(now)
        self.tokens -= 1.0
        self.used += 1

    def seconds_until_available(self, now: float) -> float:
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate)

    def seconds_until_full(self, now: float) -> float:
        self._refill(now)
        return max(0.0, (self.burst - self.tokens) / self.rate)

    def headers(self, now: float, *, throttled: bool = False) -> dict[str, str]:
        self._refill(now)
        remaining = max(0, math.floor(self.tokens))
        return {
            "X-RateLimit-Limit": str(math.floor(self.burst)),
            "X-RateLimit-Remaining": "0" if throttled and remaining == 0 else str(remaining),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Action": "throttle" if throttled else "allow",
            "X-RateLimit-Reset": _reset_header(self.seconds_until_full(now), precise=True),
        }
