"""Client-side rate limiting, shared by every request of one client.

The service documents two limits: per API key, "60 requests per minute, bursts up to 100 per
10 seconds", and per LinkedIn account "about 30 reads per minute". Each is modelled as a
token bucket (refilled at the sustained rate, holding at most ``burst`` tokens):

* per key: 1 token/s, 90 tokens. A bucket of capacity ``b`` refilled at ``r``/s lets at
  most ``b + r * T`` requests through in any ``T`` seconds, so 90 + 1 * 10 = 100 per 10 s,
  the documented burst, and 60/min in the long run.
* per account: 0.5 token/s, 5 tokens: a walk of up to five pages never waits, and the
  account sees 30 reads a minute in the long run.

The buckets hand out *reservations* (a bucket may go below zero; the caller sleeps until
its turn), so concurrent callers are served first come, first served and nobody spins.

The limiter also listens to the service: ``X-RateLimit-Remaining`` caps the key bucket (it
never believes it has more requests left than the service says), a ``Remaining`` of 0 pauses
the key until ``X-RateLimit-Reset``, and a 429 pauses the key (or, when the key still had
requests left, only that account) for every caller, for as long as the service asked.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, Final, Literal

import attrs

from ._errors import ConnectSafelyError, RateLimitError
from ._models import RateLimit

__all__ = ["Pause", "RateLimiter", "RateLimits", "TokenBucket", "throttle_pause"]

logger = logging.getLogger("connectsafely_async")

# A 429 that names no wait: long enough for a per-second window to move on.
_DEFAULT_PAUSE: Final = 1.0


def _positive_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"{attribute.name} must be a positive number or None, got {value!r}"
        raise ValueError(msg)


def _at_least_one(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        msg = f"{attribute.name} must be a number >= 1, got {value!r}"
        raise ValueError(msg)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        msg = f"{attribute.name} must be a non-negative number, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RateLimits:
    """How fast one client may talk to the service; the defaults are the documented limits.

    Pass ``rate_limits=None`` to the client to turn limiting off (e.g. against a fake
    service), or scaled-up values to match a service that allows more.

    Args:
        per_key_per_minute: sustained requests per minute for the API key (``None``: no
            key limit).
        key_burst: requests that may go back to back after a quiet spell (the key bucket's
            capacity). 90 keeps every 10-second window within the documented 100.
        per_account_per_minute: sustained reads per minute of one LinkedIn account
            (``None``: no account limit).
        account_burst: reads of one account that may go back to back.
        max_pause: the longest pause a 429 or an exhausted quota may impose on everyone;
            a longer hold surfaces as the request's own ``RateLimitError`` instead.
        clock: a monotonic clock in seconds. Tests pass a fake one.
        sleep: how to wait. Tests pass a fake one.
    """

    per_key_per_minute: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    key_burst: float = attrs.field(default=90.0, validator=_at_least_one)
    per_account_per_minute: float | None = attrs.field(default=30.0, validator=_positive_or_none)
    account_burst: float = attrs.field(default=5.0, validator=_at_least_one)
    max_pause: float = attrs.field(default=60.0, validator=_non_negative)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, eq=False, repr=False)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=asyncio.sleep, eq=False, repr=False
    )


@attrs.define
class TokenBucket:
    """A token bucket that hands out reservations; pure, the caller passes the time.

    ``tokens`` may go negative: each reservation takes one token at once and the caller
    waits until the refill has paid it back, so waiters are served in arrival order. A pause
    empties the bucket and moves the start of the refill (``updated``) to the pause's end.
    """

    rate: float  # tokens per second
    capacity: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, *, rate: float, capacity: float, now: float) -> TokenBucket:
        return cls(rate=rate, capacity=capacity, tokens=capacity, updated=now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def _ready_at(self, tokens: float) -> float:
        # When the refill, starting at `updated`, has brought the bucket back to `tokens`.
        return self.updated + max(0.0, -tokens) / self.rate

    def wait_time(self, now: float) -> float:
        """Seconds until one token is free, without taking it."""
        self._refill(now)
        return max(0.0, self._ready_at(self.tokens - 1.0) - now)

    def reserve(self, now: float) -> float:
        """Take one token; the seconds to wait before using it."""
        self._refill(now)
        self.tokens -= 1.0
        return max(0.0, self._ready_at(self.tokens) - now)

    def cap(self, remaining: int, now: float) -> None:
        """Never believe in more tokens than the service says are left."""
        self._refill(now)
        self.tokens = min(self.tokens, float(remaining))

    def pause(self, until: float, now: float) -> None:
        """Hand out nothing before ``until``, then restart from an empty bucket."""
        self._refill(now)
        self.tokens = min(self.tokens, 0.0)
        self.updated = max(self.updated, until)


class RateLimiter:
    """The limiter one client shares between all its requests, walks and accounts.

    Args:
        limits: the configured limits (and the clock and sleep to use).
    """

    def __init__(self, limits: RateLimits) -> None:
        self._limits = limits
        self._clock = limits.clock
        self._sleep = limits.sleep
        now = self._clock()
        per_key = limits.per_key_per_minute
        self._key = TokenBucket.full(
            rate=per_key / 60.0 if per_key is not None else math.inf,
            capacity=limits.key_burst if per_key is not None else math.inf,
            now=now,
        )
        self._accounts: dict[str, TokenBucket] = {}
        self.throttled = 0  # 429 answers seen

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def _account(self, account: str) -> TokenBucket:
        bucket = self._accounts.get(account)
        if bucket is None:
            per_account = self._limits.per_account_per_minute
            bucket = TokenBucket.full(
                # No account limit: a bucket that never runs dry, still able to be paused.
                rate=per_account / 60.0 if per_account is not None else math.inf,
                capacity=self._limits.account_burst if per_account is not None else math.inf,
                now=self._clock(),
            )
            self._accounts[account] = bucket
        return bucket

    async def acquire(self, account: str | None) -> float:
        """Wait until one request for ``account`` may go; ``None`` counts against the key only.

        Returns:
            The seconds spent waiting.
        """
        began = self._clock()
        while True:
            # The account first, without taking its token: holding a key reservation while
            # an account cools down would waste key capacity every other account could use.
            bucket = None if account is None else self._account(account)
            if bucket is not None:
                wait = bucket.wait_time(self._clock())
                if wait > 0:
                    await self._sleep(wait)
                    continue
            wait = self._key.reserve(self._clock())
            if wait > 0:
                await self._sleep(wait)
            # Another request of the same account may have gone while we waited for the key;
            # then our key slot is lost (never a request over the limit) and we queue again.
            if bucket is None or bucket.wait_time(self._clock()) <= 0:
                if bucket is not None:
                    bucket.reserve(self._clock())
                return self._clock() - began

    def observe(
        self,
        *,
        account: str | None,
        wall: datetime,
        rate_limit: RateLimit | None,
        error: ConnectSafelyError | None = None,
    ) -> None:
        """Adapt to one parsed answer: its rate-limit headers, and a 429's pause.

        Args:
            account: the account the request was for (``None``: a workspace call).
            wall: when the answer arrived (the reset times it carries are wall-clock).
            rate_limit: the answer's ``X-RateLimit-*`` headers, parsed.
            error: the error the answer became, if it did.
        """
        now = self._clock()
        throttled = isinstance(error, RateLimitError)
        if rate_limit is not None:
            # A 429's own Retry-After is more precise than the reset time of the whole quota.
            self.observe_rate_limit(rate_limit, now=now, wall=wall, pause=not throttled)
        if isinstance(error, RateLimitError):
            self.observe_throttled(error, account=account, wall=wall)

    def observe_rate_limit(
        self, limits: RateLimit, *, now: float, wall: datetime, pause: bool = True
    ) -> None:
        """Cap the key bucket at ``Remaining``; at zero, pause the key until ``Reset``."""
        if limits.remaining is None:
            return
        self._key.cap(limits.remaining, now)
        if pause and limits.remaining <= 0 and limits.reset_at is not None:
            seconds = (limits.reset_at - wall).total_seconds()
            self._key.pause(now + min(max(0.0, seconds), self._limits.max_pause), now)

    def observe_throttled(
        self, error: RateLimitError, *, account: str | None, wall: datetime | None = None
    ) -> None:
        """A 429: pause the key, or only the account when the key still had requests left."""
        self.throttled += 1
        now = self._clock()
        pause = throttle_pause(
            error, account=account, wall=wall or datetime.now(timezone.utc),
            max_pause=self._limits.max_pause,
        )
        until = now + pause.seconds
        if pause.scope == "account" and account is not None:
            self._account(account).pause(until, now)
        else:
            self._key.pause(until, now)
        logger.info("rate limited (429): pausing the %s for %.3fs", pause.scope, pause.seconds)

    async def aclose(self) -> None:
        """Nothing to release: the state lives in this process."""


@attrs.frozen
class Pause:
    """What a 429 asks of the limiter: hold the key or one account for ``seconds``."""

    scope: Literal["key", "account"]
    seconds: float


def throttle_pause(
    error: RateLimitError, *, account: str | None, wall: datetime, max_pause: float
) -> Pause:
    """The pause a 429 imposes; pure, shared by every limiter backend.

    The most precise hint wins (a hold-until time, then ``Retry-After``, then the quota's
    reset); none at all pauses one second. When the key still had requests left it was the
    account's limit, so only the account is held.
    """
    if error.hold_until is not None:
        seconds = (error.hold_until - wall).total_seconds()
    elif error.retry_after is not None:
        seconds = error.retry_after
    elif error.rate_limit is not None and error.rate_limit.reset_at is not None:
        seconds = (error.rate_limit.reset_at - wall).total_seconds()
    else:
        seconds = _DEFAULT_PAUSE
    remaining = None if error.rate_limit is None else error.rate_limit.remaining
    scope: Literal["key", "account"] = (
        "account" if account is not None and remaining is not None and remaining > 0 else "key"
    )
    return Pause(scope=scope, seconds=min(max(0.0, seconds), max_pause))
