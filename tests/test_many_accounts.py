"""Many accounts on one client, over real HTTP against the fake service."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings

import pytest

from connectsafely_async import (
    AsyncConnectSafely,
    NotFoundError,
    RateLimitError,
    RateLimits,
    RetryPolicy,
)
from connectsafely_async.testing import FakeConnectSafely, Fault
from connectsafely_async.types import Account, AccountVisitor, AccountVisitors

from .conftest import FakeSleep
from .test_limiter import FakeClock


def account_ids(n: int) -> list[str]:
    return [f"{i:024x}" for i in range(1, n + 1)]


def client_for(fake: FakeConnectSafely, **kwargs: object) -> AsyncConnectSafely:
    kwargs.setdefault("rate_limits", None)
    kwargs.setdefault("retry", RetryPolicy(sleep=FakeSleep()))
    return AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url, **kwargs)  # type: ignore[arg-type]


async def test_fetch_many_returns_each_accounts_visitors_with_stats() -> None:
    sizes = dict(zip(account_ids(5), [0, 3, 20, 21, 45], strict=True))
    done: list[str] = []
    async with FakeConnectSafely(accounts=sizes) as fake, client_for(fake) as client:
        results = await client.fetch_visitors_many(
            [*sizes, next(iter(sizes))], count=10, concurrency=3,
            on_complete=lambda r: done.append(r.account_id),
        )
        assert list(results) == list(sizes)  # input order, duplicates walked once
        assert sorted(done) == sorted(sizes)
        for account_id, result in results.items():
            assert result.ok
            truth = fake.visitors(account_id)
            assert [v.entity_urn for v in result.visitors] == [r.get("entityUrn") for r in truth]
            assert result.stats.visitors == len(truth)
            assert result.stats.pages == max(1, -(-len(truth) // 10))
            assert result.stats.retries == 0


async def test_one_failing_account_among_99_healthy_ones() -> None:
    healthy = account_ids(99)
    async with FakeConnectSafely(accounts=dict.fromkeys(healthy, 5)) as fake, client_for(
        fake
    ) as client:
        results = await client.fetch_visitors_many([*healthy[:50], "f" * 24, *healthy[50:]])
    failed = [r for r in results.values() if not r.ok]
    assert [r.account_id for r in failed] == ["f" * 24]
    assert isinstance(failed[0].error, NotFoundError)
    complete = [r for r in results.values() if r.ok]
    assert len(complete) == 99
    assert all(len(r.visitors) == 5 for r in complete)


async def test_exhausted_retries_are_recorded_and_counted() -> None:
    ids = account_ids(3)
    async with FakeConnectSafely(accounts=dict.fromkeys(ids, 4)) as fake, client_for(
        fake, max_retries=2
    ) as client:
        fake.inject(Fault(status=503, json={"error": "busy"}), times=3)
        results = await client.fetch_visitors_many(ids, concurrency=1)
    first = results[ids[0]]
    assert first.error is not None
    assert first.stats.retries == 2
    assert [r.ok for r in results.values()] == [False, True, True]


async def test_load_1000_accounts_within_the_connection_pool() -> None:
    ids = account_ids(1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A little latency, so requests overlap and the pool limit is what holds them back.
        async with FakeConnectSafely(accounts=dict.fromkeys(ids, 3), latency=0.002) as fake:
            async with client_for(fake, connection_limit=10) as client:
                results = await client.fetch_visitors_many(ids, concurrency=100)
            assert 2 <= fake.peak_in_flight <= 10
            assert fake.peak_connections <= 10
        gc.collect()
    assert len(results) == 1000
    assert all(r.ok and len(r.visitors) == 3 for r in results.values())
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


async def test_streaming_yields_every_visitor_in_account_order() -> None:
    sizes = dict.fromkeys(account_ids(6), 25)
    completed: list[AccountVisitors] = []
    async with FakeConnectSafely(accounts=sizes) as fake, client_for(fake) as client:
        got: dict[str, list[str | None]] = {}
        async for item in client.iter_visitors_many(
            sizes, count=10, concurrency=3, on_complete=completed.append
        ):
            assert isinstance(item, AccountVisitor)
            account_id, visitor = item
            got.setdefault(account_id, []).append(visitor.entity_urn)
        for account_id in sizes:
            assert got[account_id] == [r.get("entityUrn") for r in fake.visitors(account_id)]
    assert sorted(r.account_id for r in completed) == sorted(sizes)
    assert all(r.ok and r.stats.visitors == 25 for r in completed)


def workers() -> list[asyncio.Task[object]]:
    return [
        task for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ == "iter_many.<locals>.worker"  # type: ignore[union-attr]
    ]


async def test_stopping_a_stream_early_cancels_every_worker() -> None:
    sizes = dict.fromkeys(account_ids(50), 45)
    async with FakeConnectSafely(accounts=sizes) as fake, client_for(fake) as client:
        fake.latency = 0.01
        async with contextlib.aclosing(
            client.iter_visitors_many(sizes, count=5, concurrency=10)
        ) as stream:
            async for _ in stream:
                assert len(workers()) == 10
                break
        assert workers() == []
        await asyncio.sleep(0.05)  # requests already on the wire may still land
        sent = len(fake.requests)
        await asyncio.sleep(0.1)
        assert len(fake.requests) == sent  # nothing keeps fetching behind our back
        assert sent < 100


async def test_a_429_on_the_key_pauses_the_other_accounts() -> None:
    ids = account_ids(2)
    clock = FakeClock()
    limits = RateLimits(
        per_key_per_minute=None, per_account_per_minute=None, clock=clock, sleep=clock.sleep
    )
    async with FakeConnectSafely(accounts=dict.fromkeys(ids, 3)) as fake, client_for(
        fake, rate_limits=limits, max_retries=0
    ) as client:
        fake.inject(
            Fault(status=429, json={"success": False, "error": "Rate limit exceeded"},
                  headers={"Retry-After": "5", "X-RateLimit-Remaining": "0"})
        )
        results = await client.fetch_visitors_many(ids, concurrency=1)
    assert isinstance(results[ids[0]].error, RateLimitError)
    assert results[ids[1]].ok
    assert results[ids[1]].stats.rate_limit_wait_seconds == pytest.approx(5, abs=0.1)


async def test_a_429_for_one_account_leaves_the_others_alone() -> None:
    ids = account_ids(2)
    clock = FakeClock()
    limits = RateLimits(
        per_key_per_minute=None, per_account_per_minute=None, clock=clock, sleep=clock.sleep
    )
    async with FakeConnectSafely(accounts=dict.fromkeys(ids, 3)) as fake, client_for(
        fake, rate_limits=limits, max_retries=1
    ) as client:
        # The key still had requests left: the account was the limit.
        fake.inject(Fault(status=429, headers={"Retry-After": "5"}, json={"success": False}))
        results = await client.fetch_visitors_many(ids, concurrency=1)
    assert all(r.ok for r in results.values())
    assert results[ids[0]].stats.retries == 1
    assert results[ids[0]].stats.rate_limit_wait_seconds == pytest.approx(5, abs=0.1)
    assert results[ids[1]].stats.rate_limit_wait_seconds == 0


async def test_the_fake_enforces_key_and_account_limits_and_the_limiter_obeys() -> None:
    ids = account_ids(4)
    async with FakeConnectSafely(
        accounts=dict.fromkeys(ids, 30), key_rate=200, key_burst=20,
        account_rate=60, account_burst=4,
    ) as fake:
        async with client_for(fake, max_retries=0) as unlimited:
            await unlimited.fetch_visitors_many(ids, count=1, concurrency=4)
        assert fake.throttled_count > 0
        fake.throttled_count = 0
        await asyncio.sleep(0.2)  # the fake's buckets refill; a new client cannot know them
        limits = RateLimits(
            per_key_per_minute=200 * 60, key_burst=5,
            per_account_per_minute=60 * 60, account_burst=1,
        )
        async with client_for(fake, rate_limits=limits, max_retries=0) as limited:
            results = await limited.fetch_visitors_many(ids, count=1, concurrency=4)
        assert all(r.ok for r in results.values())
        assert fake.throttled_count == 0


async def test_list_accounts_is_typed_and_filtered() -> None:
    ids = account_ids(3)
    async with FakeConnectSafely(accounts=dict.fromkeys(ids, 1)) as fake, client_for(
        fake
    ) as client:
        accounts = await client.list_accounts()
        assert [a.id for a in accounts] == ids
        assert all(isinstance(a, Account) and a.enabled is True for a in accounts)
        first = accounts[0]
        assert first.first_name
        assert first.public_id
        assert await client.list_accounts(first.public_id) == (first,)
        assert await client.list_accounts("no such person") == ()
    assert fake.requests[-1].query == {"q": "no such person"}


async def test_bad_arguments_fail_at_the_call() -> None:
    async with FakeConnectSafely() as fake, client_for(fake) as client:
        with pytest.raises(TypeError, match="not one string"):
            await client.fetch_visitors_many("696ce9e780e0483585e4e553")
        with pytest.raises(ValueError, match="concurrency"):
            client.iter_visitors_many(["a"], concurrency=0)
        with pytest.raises(ValueError, match="count"):
            await client.fetch_visitors_many(["a"], count=0)
        with pytest.raises(TypeError, match="rate_limits"):
            AsyncConnectSafely(api_key="k", rate_limits=60)  # type: ignore[arg-type]
        assert fake.requests == []
