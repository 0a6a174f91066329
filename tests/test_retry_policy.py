"""The retry policy as data, and the retry loop driven by a fake clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

import pytest

from connectsafely_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConnectSafelyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
)
from connectsafely_async._errors import error_class_for_status
from connectsafely_async._retry import RETRYABLE_STATUSES, call_with_retries
from connectsafely_async.types import RateLimit

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def status_error(status: int, **kwargs: Any) -> APIStatusError:
    return error_class_for_status(status)(f"HTTP {status}", status_code=status, **kwargs)


class Sender:
    """An async ``send`` that raises the given errors in turn, then returns ``result``."""

    def __init__(self, *errors: BaseException, result: str = "ok") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


# --- should_retry --------------------------------------------------------------------------


def test_retryable_statuses_constant() -> None:
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRYABLE_STATUSES


def test_connection_errors_and_timeouts_are_retried() -> None:
    policy = RetryPolicy()
    assert policy.should_retry(APIConnectionError("refused")) is True
    assert policy.should_retry(APITimeoutError("timed out")) is True


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (418, False),
        (501, False),
    ],
)
def test_should_retry_by_status(status: int, expected: bool) -> None:
    assert RetryPolicy().should_retry(status_error(status), now=NOW) is expected


def test_status_classes_used() -> None:
    assert type(status_error(400)) is BadRequestError
    assert type(status_error(401)) is AuthenticationError
    assert type(status_error(403)) is PermissionDeniedError
    assert type(status_error(404)) is NotFoundError
    assert type(status_error(429)) is RateLimitError
    assert type(status_error(503)) is InternalServerError


def test_other_errors_are_not_retried() -> None:
    policy = RetryPolicy()
    assert policy.should_retry(ResponseValidationError("bad body")) is False
    assert policy.should_retry(ConnectSafelyError("x")) is False


def test_custom_retry_statuses() -> None:
    policy = RetryPolicy(retry_statuses=[404])
    assert policy.retry_statuses == frozenset({404})
    assert policy.should_retry(status_error(404)) is True
    assert policy.should_retry(status_error(503)) is False


def test_429_with_hold_until_is_not_retried() -> None:
    error = RateLimitError(
        "held", status_code=429, hold_until=NOW + timedelta(seconds=1), retry_after=1.0
    )
    assert RetryPolicy().should_retry(error, now=NOW) is False


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(0.0, True), (59.9, True), (60.0, True), (60.001, False), (3600.0, False), (1e35, False)],
)
def test_retry_after_against_max_wait(retry_after: float, expected: bool) -> None:
    policy = RetryPolicy(max_wait=60.0)
    for status in (429, 503):
        error = status_error(status, retry_after=retry_after)
        assert policy.should_retry(error, now=NOW) is expected


def test_reset_at_against_max_wait() -> None:
    policy = RetryPolicy(max_wait=60.0)
    near = status_error(429, rate_limit=RateLimit(reset_at=NOW + timedelta(seconds=60)))
    far = status_error(429, rate_limit=RateLimit(reset_at=NOW + timedelta(seconds=61)))
    assert policy.should_retry(near, now=NOW) is True
    assert policy.should_retry(far, now=NOW) is False


# --- server_hint ---------------------------------------------------------------------------


def test_server_hint_prefers_retry_after() -> None:
    error = status_error(
        429, retry_after=7.0, rate_limit=RateLimit(reset_at=NOW + timedelta(seconds=30))
    )
    assert RetryPolicy().server_hint(error, now=NOW) == 7.0


def test_server_hint_uses_429_reset_at() -> None:
    error = status_error(429, rate_limit=RateLimit(reset_at=NOW + timedelta(seconds=30)))
    assert RetryPolicy().server_hint(error, now=NOW) == 30.0


@pytest.mark.parametrize(("remaining", "expected"), [(0, 30.0), (None, 30.0), (5, None)])
def test_server_hint_uses_reset_at_only_when_the_quota_is_exhausted(
    remaining: int | None, expected: float | None
) -> None:
    reset_at = NOW + timedelta(seconds=30)
    error = status_error(429, rate_limit=RateLimit(remaining=remaining, reset_at=reset_at))
    assert RetryPolicy().server_hint(error, now=NOW) == expected


def test_server_hint_reset_in_the_past_is_zero() -> None:
    error = status_error(429, rate_limit=RateLimit(reset_at=NOW - timedelta(seconds=30)))
    assert RetryPolicy().server_hint(error, now=NOW) == 0.0


def test_server_hint_ignores_reset_at_on_other_statuses() -> None:
    error = status_error(503, rate_limit=RateLimit(reset_at=NOW + timedelta(seconds=30)))
    assert RetryPolicy().server_hint(error, now=NOW) is None


def test_server_hint_none_without_hints() -> None:
    policy = RetryPolicy()
    assert policy.server_hint(status_error(429), now=NOW) is None
    assert policy.server_hint(status_error(429, rate_limit=RateLimit(limit=60)), now=NOW) is None
    assert policy.server_hint(APIConnectionError("x"), now=NOW) is None
    assert policy.server_hint(status_error(503, retry_after=2.0), now=NOW) == 2.0


# --- formula -------------------------------------------------------------------------------

CAPS = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.fixture
def seeded() -> Iterator[None]:
    """Seed ``random`` (backoff's jitter uses it) and put its state back afterwards."""
    state = random.getstate()
    random.seed(1234)
    yield
    random.setstate(state)


@pytest.mark.usefixtures("seeded")
def test_formula_full_jitter_bounds() -> None:
    samples = [list(islice(RetryPolicy().formula(), len(CAPS))) for _ in range(2000)]
    for index, cap in enumerate(CAPS):
        column = [waits[index] for waits in samples]
        assert all(0.0 <= wait <= cap for wait in column), index
        # full jitter: the whole range is used, up to the cap and down near zero
        assert max(column) > 0.95 * cap
        assert min(column) < 0.05 * cap
        assert 0.4 * cap < sum(column) / len(column) < 0.6 * cap


@pytest.mark.usefixtures("seeded")
def test_formula_custom_delays() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=3.0)
    caps = [1.0, 2.0, 3.0, 3.0]
    samples = [list(islice(policy.formula(), 4)) for _ in range(500)]
    for index, cap in enumerate(caps):
        column = [waits[index] for waits in samples]
        assert all(0.0 <= wait <= cap for wait in column)
        assert max(column) > 0.9 * cap


def test_formula_zero_delay() -> None:
    assert list(islice(RetryPolicy(initial_delay=0, max_delay=0).formula(), 5)) == [0.0] * 5


# --- call_with_retries ---------------------------------------------------------------------


async def test_success_first_time_does_not_sleep() -> None:
    sleep = FakeSleep()
    send = Sender()
    assert await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=3) == "ok"
    assert send.calls == 1
    assert sleep.waits == []


async def test_retry_after_is_slept_exactly() -> None:
    sleep = FakeSleep()
    send = Sender(status_error(429, retry_after=7.0))
    assert await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=3) == "ok"
    assert send.calls == 2
    assert sleep.waits == [7.0]


async def test_max_retries_then_last_error_is_raised() -> None:
    sleep = FakeSleep()
    errors = [status_error(503, retry_after=float(i)) for i in (1, 2, 3, 4)]
    send = Sender(*errors)
    with pytest.raises(InternalServerError) as info:
        await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=2)
    assert info.value is errors[2]
    assert send.calls == 3
    assert sleep.waits == [1.0, 2.0]


async def test_zero_retries() -> None:
    sleep = FakeSleep()
    error = APIConnectionError("refused")
    send = Sender(error)
    with pytest.raises(APIConnectionError) as info:
        await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=0)
    assert info.value is error
    assert send.calls == 1
    assert sleep.waits == []


@pytest.mark.usefixtures("seeded")
async def test_formula_waits_are_used_without_hints() -> None:
    sleep = FakeSleep()
    send = Sender(*(APIConnectionError("x") for _ in range(5)))
    assert await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=5) == "ok"
    assert send.calls == 6
    assert len(sleep.waits) == 5
    for wait, cap in zip(sleep.waits, CAPS, strict=False):
        assert 0.0 <= wait <= cap


@pytest.mark.parametrize(
    "error",
    [
        status_error(400),
        status_error(401),
        status_error(404),
        status_error(429, retry_after=600.0),
        RateLimitError("held", status_code=429, hold_until=NOW),
        ResponseValidationError("bad body"),
    ],
)
async def test_non_retryable_error_is_raised_after_one_call(error: ConnectSafelyError) -> None:
    sleep = FakeSleep()
    send = Sender(error)
    with pytest.raises(type(error)) as info:
        await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=5)
    assert info.value is error
    assert send.calls == 1
    assert sleep.waits == []


async def test_other_exceptions_are_not_caught() -> None:
    sleep = FakeSleep()
    send = Sender(KeyError("bug"))
    with pytest.raises(KeyError):
        await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=5)
    assert send.calls == 1


async def test_cancelled_error_from_send_propagates_immediately() -> None:
    sleep = FakeSleep()
    cancelled = asyncio.CancelledError()
    send = Sender(cancelled)
    with pytest.raises(asyncio.CancelledError) as info:
        await call_with_retries(send, RetryPolicy(sleep=sleep), max_retries=5)
    assert info.value is cancelled
    assert send.calls == 1
    assert sleep.waits == []


async def test_cancelled_during_sleep_propagates() -> None:
    calls: list[float] = []

    async def cancelling_sleep(seconds: float) -> None:
        calls.append(seconds)
        raise asyncio.CancelledError

    send = Sender(status_error(503, retry_after=1.5), status_error(503, retry_after=1.5))
    with pytest.raises(asyncio.CancelledError):
        await call_with_retries(send, RetryPolicy(sleep=cancelling_sleep), max_retries=5)
    assert calls == [1.5]
    assert send.calls == 1


async def test_task_cancelled_while_sleeping_for_real() -> None:
    send = Sender(status_error(503, retry_after=30.0))
    task = asyncio.ensure_future(call_with_retries(send, RetryPolicy(), max_retries=5))
    for _ in range(5):
        await asyncio.sleep(0)
    assert send.calls == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert send.calls == 1


async def test_on_retry_is_called_with_error_and_wait() -> None:
    sleep = FakeSleep()
    first = status_error(429, retry_after=3.0)
    second = status_error(502, retry_after=0.25)
    seen: list[tuple[ConnectSafelyError, float]] = []
    send = Sender(first, second)
    result = await call_with_retries(
        send,
        RetryPolicy(sleep=sleep),
        max_retries=5,
        on_retry=lambda error, wait: seen.append((error, wait)),
    )
    assert result == "ok"
    assert seen == [(first, 3.0), (second, 0.25)]
    assert sleep.waits == [3.0, 0.25]


async def test_on_retry_not_called_for_the_final_failure() -> None:
    seen: list[tuple[ConnectSafelyError, float]] = []
    send = Sender(APIConnectionError("a"), APIConnectionError("b"))
    with pytest.raises(APIConnectionError):
        await call_with_retries(
            send,
            RetryPolicy(sleep=FakeSleep()),
            max_retries=1,
            on_retry=lambda error, wait: seen.append((error, wait)),
        )
    assert len(seen) == 1
    assert str(seen[0][0]) == "a"


# --- validation of the policy --------------------------------------------------------------


@pytest.mark.parametrize("field", ["initial_delay", "max_delay", "max_wait"])
@pytest.mark.parametrize("value", [-1, -0.5, True, False, "x", "1", None, float("nan")])
def test_invalid_policy_arguments(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**{field: value})


def test_valid_policy_arguments() -> None:
    policy = RetryPolicy(initial_delay=0, max_delay=1.5, max_wait=0.0)
    assert (policy.initial_delay, policy.max_delay, policy.max_wait) == (0, 1.5, 0.0)


def test_policy_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        RetryPolicy(0.5)  # type: ignore[misc]
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.max_wait = 1.0  # type: ignore[misc]
