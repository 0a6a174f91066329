"""Per-call ``timeout=`` and ``with_options()``: other defaults without another client."""

from __future__ import annotations

import gc
import time

import pytest

from connectsafely_async import APITimeoutError, AsyncConnectSafely, RateLimits, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely


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


async def test_a_timeout_longer_than_the_clients_is_refused_before_any_request(
    fake: FakeConnectSafely,
) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                  timeout=5) as client:
        for call in (lambda: client.get_visitors(timeout=6),
                     lambda: client.list_accounts(timeout=6),
                     lambda: client.fetch_visitors_many(["a" * 24], timeout=6)):
            with pytest.raises(ValueError, match="longer than the client's timeout"):
                await call()
        with pytest.raises(ValueError, match="longer"):
            client.iter_visitors(timeout=6)
        with pytest.raises(TypeError, match="timeout"):
            client.iter_visitors(timeout="1")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="longer"):
            client.with_options(timeout=60)
    assert fake.requests == []


async def test_with_options_changes_defaults_and_shares_the_rest(
    fake: FakeConnectSafely,
) -> None:
    client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                rate_limits=RateLimits(), retry=RetryPolicy(initial_delay=0))
    other = "aaaaaaaaaaaaaaaaaaaaaaaa"
    copy = client.with_options(account_id=other, max_retries=0, timeout=3,
                               retry=RetryPolicy(initial_delay=1))
    assert (copy.account_id, copy.timeout, client.account_id, client.timeout) == \
        (other, 3, None, 30)
    assert copy._transport is client._transport
    assert copy._limiter is client._limiter  # one budget for both
    page = await copy.get_visitors(max_visitors=1)
    assert fake.requests[-1].json["accountId"] == other
    assert page.account_id == other
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
    assert not client._transport.has_open_owned_session
