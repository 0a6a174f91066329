"""Per-call ``timeout=`` and ``with_options()``: other defaults without another client."""

from __future__ import annotations

import gc
import time

import pytest

from connectsafely_async import APITimeoutError, AsyncConnectSafely, RateLimits, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely

from .sessions import open_sessions


async def test_a_call_may_ask_for_a_shorter_timeout(fake: FakeConnectSafely) -> None:
    fake.latency = 0.5
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                  rate_limits=None, timeout=10) as client:
        began = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"within 0\.05s"):
            await client.get_visitors(timeout=0.05, max_retries=0)
        with pytest.raises(APITimeoutError):
            async for _ in client.iter_visitors(timeout=0.05, max_retries=0):
                pass
        with pytest.raises(APITimeoutError):
            await client.list_accounts(timeout=0.05, max_retries=0)
        assert time.monotonic() - began < 2
        fake.latency = 0
        page = await client.get_visitors(timeout=0.05 + 5)  # enough: it succeeds
        assert page.visitors


async def test_a_call_may_ask_for_a_longer_timeout_than_the_clients(
    fake: FakeConnectSafely,
) -> None:
    fake.latency = 0.3
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                  rate_limits=None, timeout=0.1) as client:
        with pytest.raises(APITimeoutError, match=r"within 0\.1s"):
            await client.get_visitors(max_retries=0)
        assert (await client.get_visitors(timeout=5, max_retries=0)).visitors
        assert await client.list_accounts(timeout=5, max_retries=0)
        patient = client.with_options(timeout=5)
        assert [v async for v in patient.iter_visitors(max_visitors=3, max_retries=0)]


async def test_a_bad_timeout_is_refused_before_any_request(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
        for bad in (0, -1, float("inf"), float("nan")):
            with pytest.raises(ValueError, match="timeout"):
                await client.get_visitors(timeout=bad)
            with pytest.raises(ValueError, match="timeout"):
                await client.list_accounts(timeout=bad)
            with pytest.raises(ValueError, match="timeout"):
                client.iter_visitors(timeout=bad)
            with pytest.raises(ValueError, match="timeout"):
                client.with_options(timeout=bad)
        with pytest.raises(TypeError, match="timeout"):
            client.iter_visitors(timeout="1")  # type: ignore[arg-type]
    assert fake.requests == []


async def test_with_options_changes_defaults_and_shares_the_rest(
    fake: FakeConnectSafely,
) -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    # One request a second, no burst: a second request within the second must wait.
    limits = RateLimits(per_key_per_minute=60, key_burst=1, clock=lambda: now[0], sleep=sleep)
    before = open_sessions()
    client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                rate_limits=limits, retry=RetryPolicy(initial_delay=0))
    other = "aaaaaaaaaaaaaaaaaaaaaaaa"
    copy = client.with_options(account_id=other, max_retries=0, timeout=3,
                               retry=RetryPolicy(initial_delay=1))
    assert (copy.account_id, copy.timeout, client.account_id, client.timeout) == \
        (other, 3, None, 30)
    page = await copy.get_visitors(max_visitors=1)
    assert fake.requests[-1].json["accountId"] == other
    assert page.account_id == other
    assert waits == []
    await client.get_visitors(max_visitors=1)
    # One budget for both: the original waited for the token the copy took.
    assert waits == [pytest.approx(1.0)]
    # One session, one pool: the original's request reused the copy's kept-alive connection.
    assert fake.open_connections == 1
    with pytest.raises(TypeError, match="retry"):
        client.with_options(retry=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries"):
        client.with_options(max_retries=-1)
    same = client.with_options()
    assert same.account_id is None
    assert same.timeout == 30
    del same
    gc.collect()  # a copy going away does not warn: the original owns the session
    await copy.aclose()  # closing a copy closes the one shared session
    assert client.closed
    assert copy.closed
    assert open_sessions() == before


def test_a_calls_options_are_one_checked_value() -> None:
    from connectsafely_async._call_options import CallOptions

    defaults = CallOptions(timeout=30, max_retries=2, retry=RetryPolicy())
    assert defaults.override() is defaults  # a call that names nothing costs nothing
    call = defaults.override(timeout=5)
    assert (call.timeout, call.max_retries, call.retry) == (5.0, 2, defaults.retry)
    assert defaults.override(max_retries=0).max_retries == 0
    assert defaults.timeout == 30  # frozen: the defaults never change under a call
    with pytest.raises(ValueError, match="timeout"):
        defaults.override(timeout=0)
    with pytest.raises(ValueError, match="max_retries"):
        defaults.override(max_retries=-1)
    with pytest.raises(TypeError, match="retry"):
        CallOptions(timeout=1, max_retries=0, retry=3)
