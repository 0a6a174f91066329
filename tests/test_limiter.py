"""The client-side rate limiter, on a fake clock: no test here really sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from connectsafely_async import RateLimitError, RateLimits
from connectsafely_async._limiter import RateLimiter, TokenBucket
from connectsafely_async._protocol import HttpResponse, error_from_response
from connectsafely_async.types import RateLimit

WALL = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FakeClock:
    """A monotonic clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def make(clock: FakeClock, **limits: float | None) -> RateLimiter:
    return RateLimiter(RateLimits(clock=clock, sleep=clock.sleep, **limits))  # type: ignore[arg-type]


async def send_times(
    limiter: RateLimiter, clock: FakeClock, accounts: list[str | None]
) -> list[float]:
    times = []
    for account in accounts:
        await limiter.acquire(account)
        times.append(clock.now - 1000.0)
    return times


async def test_key_burst_then_the_sustained_rate() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=60, key_burst=3, per_account_per_minute=None)
    times = await send_times(limiter, clock, [None] * 6)
    assert times == pytest.approx([0, 0, 0, 1, 2, 3])


async def test_default_limits_keep_every_window_within_the_documented_limits() -> None:
    clock = FakeClock()
    limiter = make(clock)
    # 400 requests spread over 40 accounts, as fast as the limiter allows.
    times = await send_times(limiter, clock, [f"acct{i % 40}" for i in range(400)])
    for i, began in enumerate(times):
        in_10s = sum(1 for t in times[i:] if t < began + 10 - 1e-9)
        assert in_10s <= 100
    # After the burst, the long-run rate is the documented 60 per minute.
    assert times[-1] - times[99] == pytest.approx(300, abs=1)
    per_account: dict[int, list[float]] = {}
    for i, t in enumerate(times):
        per_account.setdefault(i % 40, []).append(t)
    for account_times in per_account.values():
        for i, began in enumerate(account_times):
            assert sum(1 for t in account_times[i:] if t < began + 60 - 1e-9) <= 35


async def test_account_limit_slows_that_account_only() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=None, per_account_per_minute=30, account_burst=2)
    times = await send_times(limiter, clock, ["a", "a", "a"])
    assert times == pytest.approx([0, 0, 2])
    assert await limiter.acquire("b") == 0  # another account is not held up


async def test_remaining_caps_the_bucket_and_zero_pauses_until_reset() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=60, key_burst=50, per_account_per_minute=None)
    limiter.observe_rate_limit(RateLimit(remaining=2), now=clock(), wall=WALL)
    times = await send_times(limiter, clock, [None] * 3)
    assert times == pytest.approx([0, 0, 1])  # two left, then the refill rate
    limiter.observe_rate_limit(
        RateLimit(remaining=0, reset_at=WALL + timedelta(seconds=7)), now=clock(), wall=WALL
    )
    assert await limiter.acquire(None) == pytest.approx(8)  # the pause, then one refill


def throttled(remaining: int | None, retry_after: float | None = 5.0) -> RateLimitError:
    return RateLimitError(
        "slow down", status_code=429, retry_after=retry_after,
        rate_limit=None if remaining is None else RateLimit(remaining=remaining),
    )


async def test_a_429_with_the_key_exhausted_pauses_everyone() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=None, per_account_per_minute=None)
    limiter.observe_throttled(throttled(remaining=0), account="a", wall=WALL)
    assert await limiter.acquire("b") == pytest.approx(5)
    assert limiter.throttled == 1


async def test_a_429_with_key_budget_left_pauses_only_that_account() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=None, per_account_per_minute=None)
    limiter.observe_throttled(throttled(remaining=10), account="a", wall=WALL)
    assert await limiter.acquire("b") == 0
    assert await limiter.acquire("a") == pytest.approx(5)


async def test_hold_until_wins_and_pauses_are_capped() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=None, per_account_per_minute=None, max_pause=30)
    error = RateLimitError(
        "hold", status_code=429, hold_until=WALL + timedelta(hours=3), retry_after=1
    )
    limiter.observe_throttled(error, account=None, wall=WALL)
    assert await limiter.acquire(None) == pytest.approx(30)


async def test_a_429_without_any_hint_pauses_one_second() -> None:
    clock = FakeClock()
    limiter = make(clock, per_key_per_minute=None, per_account_per_minute=None)
    error = error_from_response(HttpResponse(429, {}, b"{}", received_at=WALL))
    limiter.observe(account="a", wall=WALL, rate_limit=error.rate_limit, error=error)
    assert await limiter.acquire("b") == pytest.approx(1)


def test_bucket_reservations_queue_in_order() -> None:
    bucket = TokenBucket.full(rate=2.0, capacity=1.0, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == pytest.approx([0, 0.5, 1.0, 1.5])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_key_per_minute": 0},
        {"per_account_per_minute": -1},
        {"key_burst": 0.5},
        {"account_burst": True},
        {"max_pause": -1},
    ],
)
def test_bad_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RateLimits(**kwargs)  # type: ignore[arg-type]
