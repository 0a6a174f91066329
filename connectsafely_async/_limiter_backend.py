"""The seam between the client and its rate limiter: what any limiter backend must do.

The client calls exactly three things: ``acquire`` before each request, ``observe`` after
each answer (synchronously: the answer must not wait on the limiter's bookkeeping), and
``aclose`` when it closes. The in-process :class:`~._limiter.RateLimiter` is the default;
:class:`~._limiter_redis.RedisRateLimiter` shares one budget between processes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Protocol

from ._limiter import RateLimiter, RateLimits
from ._limiter_redis_config import ENV_RATE_LIMIT_URL, RedisRateLimits

if TYPE_CHECKING:
    from datetime import datetime

    from ._errors import ConnectSafelyError
    from ._models import RateLimit
    from ._secrets import Secret

__all__ = ["RateLimitBackend", "build_limiter", "limits_from_environment"]

DEFAULT_RATE_LIMITS: Final = RateLimits()


class RateLimitBackend(Protocol):
    """A limiter one client shares between all its requests, walks and accounts."""

    async def acquire(self, account: str | None) -> float:
        """Wait until one request for ``account`` may go (``None``: the key's limit only).

        Returns:
            The seconds spent waiting.
        """
        ...

    def observe(
        self,
        *,
        account: str | None,
        wall: datetime,
        rate_limit: RateLimit | None,
        error: ConnectSafelyError | None = None,
    ) -> None:
        """Learn from one parsed answer: its ``X-RateLimit-*`` headers and a 429's pause."""
        ...

    async def aclose(self) -> None:
        """Release what the limiter holds (connections); it is not used afterwards."""
        ...


def limits_from_environment(
    rate_limits: RateLimits | RedisRateLimits | None,
) -> RateLimits | RedisRateLimits | None:
    """The client's default limits, shared through Redis when ``$CONNECTSAFELY_RATE_LIMIT_URL``
    names one; anything passed explicitly is kept as it is."""
    if rate_limits is DEFAULT_RATE_LIMITS and os.environ.get(ENV_RATE_LIMIT_URL):
        return RedisRateLimits(limits=DEFAULT_RATE_LIMITS)
    return rate_limits


def build_limiter(
    rate_limits: RateLimits | RedisRateLimits | None, *, api_key: Secret
) -> RateLimitBackend | None:
    """The limiter a client's ``rate_limits=`` asks for (``None``: no limiting at all).

    Raises:
        TypeError: ``rate_limits`` is not a ``RateLimits``, ``RedisRateLimits`` or ``None``.
        ConfigurationError: Redis asked for, but no usable URL or no redis-py installed.
    """
    if rate_limits is None:
        return None
    if isinstance(rate_limits, RateLimits):
        return RateLimiter(rate_limits)
    if isinstance(rate_limits, RedisRateLimits):
        # Imported here: hashlib and the script cost import time every client would pay.
        from ._limiter_redis import RedisRateLimiter

        return RedisRateLimiter(rate_limits, api_key=api_key)
    msg = (
        "rate_limits must be a RateLimits, a RedisRateLimits or None, "
        f"got {type(rate_limits).__name__}"
    )
    raise TypeError(msg)
