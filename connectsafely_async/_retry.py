"""Retry policy as data; the one module that imports ``backoff``.

``RetryPolicy`` says *what* is retried and *how long* to wait; ``call_with_retries`` runs one
request under it. The waits come from backoff's exponential generator and full jitter, but
the loop is ours: backoff's decorators sleep with ``asyncio.sleep`` directly and fix the
number of tries at decoration time, while we need an injectable clock (tests sleep for zero
seconds of real time), a per-call ``max_retries`` and server hints that beat the formula.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timezone
from typing import TypeVar

import attrs

from ._errors import (
    APIConnectionError,
    APIStatusError,
    ClientClosedError,
    ConnectSafelyError,
    RateLimitError,
    RequestNotSentError,
    ResponseDecodeError,
    ResponseValidationError,
)

__all__ = [
    "RETRYABLE_STATUSES",
    "ActionRetryPolicy",
    "RetryPolicy",
    "call_with_retries",
    "may_have_acted",
    "transient",
]

logger = logging.getLogger("connectsafely_async")

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def transient(
    error: ConnectSafelyError, *, statuses: frozenset[int] = RETRYABLE_STATUSES
) -> bool:
    """Whether the same request may succeed later: no answer, a cut-off or non-JSON body, or
    a status in ``statuses``. Anything else (a body that does not fit, a 4xx) comes again."""
    if isinstance(error, (APIConnectionError, ResponseDecodeError)):
        return True
    return isinstance(error, APIStatusError) and error.status_code in statuses


def may_have_acted(error: ConnectSafelyError) -> bool:
    """Whether the service may have performed an action whose request failed with ``error``.

    No: the request never left (no connection could be made), or the service refused it
    (a 3xx, a 4xx but 408, a 429 among them; a 2xx saying ``"success": false``). Yes, for
    all we know: no answer after the request went out (a timeout, a reset), a 5xx or a 408,
    a 2xx we cannot read. A client closed under its own request is the caller's doing: it
    counts as refused, and its outcome is the caller's to check.
    """
    if isinstance(error, (RequestNotSentError, ClientClosedError)):
        return False
    if isinstance(error, APIStatusError):
        return error.status_code == 408 or error.status_code >= 500
    if isinstance(error, ResponseValidationError) and not isinstance(error, ResponseDecodeError):
        body = error.body
        return not (isinstance(body, dict) and body.get("success") is False)
    return True


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        msg = f"{attribute.name} must be a non-negative number, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to wait before trying a failed request again.

    Args:
        initial_delay: the first formula wait, in seconds; it doubles on each retry.
        max_delay: the longest formula wait.
        max_wait: the longest wait a server hint (``Retry-After``, ``X-RateLimit-Reset``) may
            ask for; a longer one raises at once instead of sleeping for hours.
        retry_statuses: the HTTP statuses worth another try.
        sleep: how to wait. Tests pass a fake clock here; nothing else needs to.
    """

    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_wait: float = attrs.field(default=60.0, validator=_non_negative)
    retry_statuses: frozenset[int] = attrs.field(default=RETRYABLE_STATUSES, converter=frozenset)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(
        default=asyncio.sleep, eq=False, repr=False
    )

    def should_retry(self, error: ConnectSafelyError, *, now: datetime | None = None) -> bool:
        """True when ``error`` is transient and the service did not ask for a long pause."""
        if not transient(error, statuses=self.retry_statuses):
            return False
        if not isinstance(error, APIStatusError):
            return True
        if isinstance(error, RateLimitError) and error.hold_until is not None:
            return False  # an explicit hold: the caller decides when to come back
        hint = self.server_hint(error, now=now)
        return hint is None or hint <= self.max_wait

    def server_hint(
        self, error: ConnectSafelyError, *, now: datetime | None = None
    ) -> float | None:
        """Seconds the service asked us to wait: ``Retry-After``, else a 429's reset time."""
        if not isinstance(error, APIStatusError):
            return None
        if error.retry_after is not None:
            return error.retry_after
        limits = error.rate_limit
        # The reset time is a hint only when the quota it describes is the one exhausted.
        exhausted = limits is not None and limits.remaining in (0, None)
        if isinstance(error, RateLimitError) and limits is not None and exhausted:
            reset_at = limits.reset_at
            if reset_at is not None:
                now = now or datetime.now(timezone.utc)
                return max(0.0, (reset_at - now).total_seconds())
        return None

    def formula(self) -> Iterator[float]:
        """The jittered exponential waits: full jitter over 0.5, 1, 2, 4… capped at max_delay."""
        import backoff  # on a first retry, not with the package: most runs never retry

        waits = backoff.expo(base=2, factor=self.initial_delay, max_value=self.max_delay)
        next(waits)  # backoff's generators are primed with one send before the first value
        return (backoff.full_jitter(wait) for wait in waits)


@attrs.frozen(kw_only=True)
class ActionRetryPolicy(RetryPolicy):
    """``RetryPolicy`` for an action (a message, an invitation): the service knows no
    idempotency key, so only what it cannot have performed is retried (a request that never
    left, a 429 without ``holdUntil``), with the same waits as a read."""

    @classmethod
    def of(cls, policy: RetryPolicy) -> ActionRetryPolicy:
        """The action policy with ``policy``'s waits and statuses."""
        fields = attrs.fields(RetryPolicy)
        return cls(**{field.name: getattr(policy, field.name) for field in fields})

    def should_retry(self, error: ConnectSafelyError, *, now: datetime | None = None) -> bool:
        return not may_have_acted(error) and super().should_retry(error, now=now)


async def call_with_retries(
    send: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    max_retries: int,
    on_retry: Callable[[ConnectSafelyError, float], None] | None = None,
) -> T:
    """Await ``send()``; on a retryable error wait and call it again, ``max_retries`` times.

    ``asyncio.CancelledError`` is never caught, wrapped or retried: only ``ConnectSafelyError``.
    """
    # Made on the first retry: most requests never need it (a walk sends one per page).
    formula: Iterator[float] | None = None
    attempt = 0
    while True:
        try:
            return await send()
        except ConnectSafelyError as error:
            attempt += 1
            if attempt > max_retries or not policy.should_retry(error):
                raise
            hint = policy.server_hint(error)
            if hint is None:
                formula = formula or policy.formula()
                wait = next(formula)
            else:
                wait = hint
            logger.info(
                "retrying after %s (retry %d of %d, waiting %.3fs)",
                type(error).__name__, attempt, max_retries, wait,
            )
            if on_retry is not None:
                on_retry(error, wait)
        await policy.sleep(wait)
