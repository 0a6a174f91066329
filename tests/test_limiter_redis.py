"""The Redis rate limiter against a real redis-server and the fake service, over loopback.

The limits are scaled (tens of requests a second, bursts of a few) so each run takes
seconds; the fake enforces the same token buckets and counts every 429 it serves.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
import warnings
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from connectsafely_async import (
    AsyncConnectSafely,
    ConfigurationError,
    RateLimiterFallbackWarning,
    RateLimitError,
    RateLimits,
    RedisRateLimits,
    RetryPolicy,
)
from connectsafely_async._limiter_redis import key_digest
from connectsafely_async.testing import FakeConnectSafely

from . import forked
from .servers import RedisServer

API_KEY = "sk_live_Sh4redBudgetKey_0123456789abcdef"
RATE = 40.0  # the fake's key: 40 requests a second...
SERVER_BURST = 8  # ...up to 8 back to back
CLIENT_BURST = 4  # the clients keep a margin for the network's jitter


def ids(n: int, *, offset: int = 0) -> list[str]:
    return [f"{i:024x}" for i in range(offset + 1, offset + n + 1)]


def key_limits(*, share: float = 1.0) -> RateLimits:
    return RateLimits(
        per_key_per_minute=RATE * 60 * share, key_burst=max(1.0, CLIENT_BURST * share),
        per_account_per_minute=None,
    )


def steady_rate(fake: FakeConnectSafely, *, skip: int) -> float:
    """Requests per second the fake accepted, after the first ``skip`` (the burst)."""
    times = sorted(r.received_at for r in fake.requests)
    throttled = set(fake.throttled_at)
    accepted = [t for t in times if t not in throttled]
    return (len(accepted) - 1 - skip) / (accepted[-1] - accepted[skip])


async def redis_contents(url: str) -> dict[str, dict[str, str]]:
    async with redis_asyncio.Redis.from_url(url, decode_responses=True) as conn:
        return {name: await conn.hgetall(name) async for name in conn.scan_iter()}


@pytest.fixture
def no_env_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTSAFELY_RATE_LIMIT_URL", raising=False)


@pytest.fixture
async def fake_key() -> AsyncIterator[FakeConnectSafely]:
    async with FakeConnectSafely(
        api_key=API_KEY, accounts=dict.fromkeys(ids(24), 25),
        key_rate=RATE, key_burst=SERVER_BURST,
    ) as server:
        yield server


def client(fake: FakeConnectSafely, limits: RedisRateLimits) -> AsyncConnectSafely:
    return AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, rate_limits=limits,
        retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
    )


async def test_two_worker_processes_share_one_key(
    fake_key: FakeConnectSafely, redis_server: RedisServer
) -> None:
    accounts = ids(24)
    # Forked with the SDK imported (tests/forked.py), each worker is running within
    # milliseconds: both wait for this common start, then overlap.
    forked.ready()
    start = time.time() + 0.5
    workers = [
        forked.python(
            "-m", "tests.limiter_worker", fake_key.url, redis_server.url,
            API_KEY, str(RATE), str(CLIENT_BURST), str(start), *part,
        )
        for part in (accounts[:12], accounts[12:])
    ]
    # The fake answers on this loop: wait for the workers on threads.
    outputs = await asyncio.gather(*(asyncio.to_thread(w.communicate, 30) for w in workers))
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    visitors = {a: v for report in reports for a, v in report["visitors"].items()}
    assert sorted(visitors) == accounts
    for fetched in visitors.values():
        assert fetched is not None
        assert len(fetched) == 25  # every visitor once (anonymous ones have no urn)
        named = [urn for urn in fetched if urn is not None]
        assert len(named) == len(set(named)) > 0
    assert len(fake_key.requests) == 24 * 5  # five pages each, nothing retried
    assert fake_key.throttled_count == 0
    # Alone, each worker would have gone at RATE: together they stay within it, and use it.
    assert 0.9 * RATE <= steady_rate(fake_key, skip=CLIENT_BURST) <= 1.05 * RATE
    # The buckets are named after a digest of the key; the key itself is nowhere in Redis.
    contents = await redis_contents(redis_server.url)
    assert contents
    assert all(key_digest(API_KEY) in name for name in contents)
    flat = json.dumps(contents)
    for fragment in (API_KEY, API_KEY[8:24], API_KEY.encode().hex()):
        assert fragment not in flat


async def test_two_clients_share_one_accounts_limit(redis_server: RedisServer) -> None:
    account = ids(1)[0]
    limits = RedisRateLimits(
        url=redis_server.url,
        limits=RateLimits(per_key_per_minute=None, per_account_per_minute=20 * 60,
                          account_burst=1),
    )
    async with FakeConnectSafely(
        api_key=API_KEY, accounts={account: 20}, account_rate=20, account_burst=3,
    ) as fake, client(fake, limits) as first, client(fake, limits) as second:
        walks = [
            c.fetch_visitors_many([account], count=2, time_range="ALL_TIME")
            for c in (first, second)
        ]
        results = await asyncio.wait_for(asyncio.gather(*walks), 10)
        assert all(r[account].ok and len(r[account].visitors) == 20 for r in results)
        assert fake.throttled_count == 0
        assert len(fake.requests) == 20
        assert steady_rate(fake, skip=1) >= 0.9 * 20


async def test_a_429_pauses_every_worker(
    fake_key: FakeConnectSafely, redis_server: RedisServer
) -> None:
    from connectsafely_async.testing import Fault

    limits = RedisRateLimits(url=redis_server.url, limits=key_limits())
    async with client(fake_key, limits) as first, client(fake_key, limits) as second:
        # The key is exhausted for 0.5 s: the first client learns it, the second obeys.
        fake_key.inject(Fault(status=429, headers={"Retry-After": "0.5",
                                                    "X-RateLimit-Remaining": "0"}))
        with pytest.raises(RateLimitError):
            await first.get_visitors(account_id=ids(1)[0], max_retries=0)
        await asyncio.sleep(0.05)  # the pause reaches Redis in the background
        began = time.monotonic()
        await second.get_visitors(account_id=ids(2)[1], max_retries=0)
        assert time.monotonic() - began >= 0.3


async def test_a_redis_restart_falls_back_then_comes_back(
    fake_key: FakeConnectSafely, redis_server: RedisServer
) -> None:
    accounts = ids(24)
    limits = RedisRateLimits(
        url=redis_server.url, limits=key_limits(), fallback=key_limits(share=0.5),
        timeout=0.2, retry_interval=0.2,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with client(fake_key, limits) as first, client(fake_key, limits) as second:
            walks = asyncio.gather(
                first.fetch_visitors_many(accounts[:12], count=5, time_range="ALL_TIME"),
                second.fetch_visitors_many(accounts[12:], count=5, time_range="ALL_TIME"),
            )
            await asyncio.sleep(0.8)
            redis_server.stop()
            stopped = time.monotonic()
            await asyncio.sleep(1.0)
            redis_server.start()
            restarted = time.monotonic()
            results = await asyncio.wait_for(walks, 20)
            back_in_redis = await redis_contents(redis_server.url)
    assert all(r.ok and len(r.visitors) == 25 for part in results for r in part.values())
    fallbacks = [w for w in caught if issubclass(w.category, RateLimiterFallbackWarning)]
    assert len(fallbacks) == 2, [str(w.message) for w in caught]  # one per client
    assert "unreachable" in str(fallbacks[0].message)
    assert redis_server.url.split("//")[1] in str(fallbacks[0].message)
    assert [w for w in caught if w not in fallbacks] == []
    # Local limits at half the rate each: no 429 storm while Redis was away.
    # (Measured: 0 or 1, right after the return; a storm would be dozens.)
    assert fake_key.throttled_count <= 3
    during = [r for r in fake_key.requests if stopped < r.received_at < restarted]
    assert 0 < len(during) <= RATE * (restarted - stopped) + 2 * CLIENT_BURST
    # Everything written since the restart is in the new, empty Redis: they came back.
    assert any(name.endswith(":key") for name in back_in_redis)
    after = [r for r in fake_key.requests if r.received_at > restarted + 0.5]
    assert after, "the run ended before it could show the return to Redis"


def black_hole() -> socket.socket:
    """A port that accepts TCP connections (the kernel does) and never answers a byte."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


@pytest.mark.parametrize("kind", ["refused", "silent"])
async def test_an_unreachable_redis_never_hangs_and_never_unlimits(
    kind: str, fake_key: FakeConnectSafely
) -> None:
    hole = black_hole()
    port = hole.getsockname()[1]
    if kind == "refused":
        hole.close()
    limits = RedisRateLimits(
        url=f"redis://:s3cret-pw@127.0.0.1:{port}/0",
        limits=RateLimits(per_key_per_minute=10 * 60, key_burst=2, per_account_per_minute=None),
        timeout=0.2,
    )
    try:
        async with client(fake_key, limits) as sdk:
            began = time.monotonic()
            with pytest.warns(RateLimiterFallbackWarning, match="unreachable") as record:
                for account in ids(5):
                    await sdk.get_visitors(account_id=account)
            elapsed = time.monotonic() - began
    finally:
        hole.close()
    assert len(record) == 1
    assert "s3cret-pw" not in str(record[0].message)
    # Five requests at 10/s with a burst of 2 take 0.3 s locally; a silent Redis costs at
    # most one timeout more (a retry of Redis is only due after retry_interval).
    assert 0.25 <= elapsed < 0.3 + 4 * 0.2 + 0.5
    assert fake_key.throttled_count == 0


@pytest.mark.usefixtures("no_env_url")
async def test_the_url_can_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake_key: FakeConnectSafely, redis_server: RedisServer
) -> None:
    monkeypatch.setenv("CONNECTSAFELY_RATE_LIMIT_URL", redis_server.url)
    # The default limits, now shared: a plain client with no rate_limits= at all.
    async with AsyncConnectSafely(api_key=API_KEY, base_url=fake_key.url) as sdk:
        await sdk.get_visitors(account_id=ids(1)[0])
    assert any(name.endswith(":key") for name in await redis_contents(redis_server.url))
    # An explicit RateLimits stays in-process.
    async with redis_asyncio.Redis.from_url(redis_server.url) as conn:
        await conn.flushall()
    async with AsyncConnectSafely(
        api_key=API_KEY, base_url=fake_key.url, rate_limits=RateLimits()
    ) as sdk:
        await sdk.get_visitors(account_id=ids(1)[0])
    assert await redis_contents(redis_server.url) == {}


@pytest.mark.usefixtures("no_env_url")
def test_bad_configuration_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigurationError, match="CONNECTSAFELY_RATE_LIMIT_URL"):
        AsyncConnectSafely(api_key="k", rate_limits=RedisRateLimits())
    with pytest.raises(ConfigurationError, match="redis://") as caught:
        RedisRateLimits(url="http://:pw-secret@example.com/")
    assert "pw-secret" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="whitespace"):
        RedisRateLimits(url="redis://host\n:6379")
    with pytest.raises(ValueError, match="timeout"):
        RedisRateLimits(url="redis://h", timeout=0)
    with pytest.raises(TypeError, match="RedisRateLimits"):
        AsyncConnectSafely(api_key="k", rate_limits="redis://h")  # type: ignore[arg-type]
    limits = RedisRateLimits(url="redis://:pw-secret@cache.internal:6380/2")
    assert "pw-secret" not in repr(limits)
    assert "cache.internal:6380/2" in repr(limits)


@pytest.mark.usefixtures("no_env_url")
def test_without_redis_py_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"connectsafely-async\[redis\]"):
        AsyncConnectSafely(api_key="k", rate_limits=RedisRateLimits(url="redis://h"))


def test_the_sync_client_shares_the_limit_too(redis_server: RedisServer) -> None:
    from connectsafely_async import ConnectSafely
    from connectsafely_async.testing import serve_in_thread

    limits = RedisRateLimits(url=redis_server.url, limits=key_limits())
    fake = FakeConnectSafely(api_key=API_KEY, accounts=dict.fromkeys(ids(1), 5))
    with serve_in_thread(fake) as served, ConnectSafely(
        api_key=API_KEY, base_url=served.url, rate_limits=limits
    ) as sdk:
        assert len(sdk.get_visitors(account_id=ids(1)[0]).visitors) == 5
    names = asyncio.run(redis_contents(redis_server.url))
    assert any(name.endswith(":key") for name in names)


async def test_with_options_copies_share_one_redis_limiter(
    fake_key: FakeConnectSafely, redis_server: RedisServer
) -> None:
    limits = RedisRateLimits(url=redis_server.url, limits=key_limits())
    async with client(fake_key, limits) as sdk:
        quick = sdk.with_options(max_retries=0)
        await quick.get_visitors(account_id=ids(1)[0])
        await sdk.get_visitors(account_id=ids(1)[0])
    assert quick.closed
    key = next(n for n in await redis_contents(redis_server.url) if n.endswith(":key"))
    async with redis_asyncio.Redis.from_url(redis_server.url, decode_responses=True) as conn:
        tokens = float(await conn.hget(key, "tokens") or "nan")
    assert tokens < CLIENT_BURST - 1  # both requests took from the same shared bucket


async def test_a_burst_larger_than_the_pool_queues_for_a_connection_not_for_the_fallback(
    redis_server: RedisServer, fake_key: FakeConnectSafely
) -> None:
    # A hundred requests at once share the pool's 16 connections while the event loop is
    # slow to come back (CPU-bound work in it): waiting for a connection takes longer than
    # `timeout`, yet Redis answers each command at once. That is no outage.
    limits = RedisRateLimits(url=redis_server.url, limits=key_limits(), timeout=0.1)
    busy = True

    async def hog() -> None:
        while busy:
            time.sleep(0.002)  # noqa: ASYNC251 - the point: an event loop that is busy
            await asyncio.sleep(0)

    async with client(fake_key, limits) as sdk:
        task = asyncio.ensure_future(hog())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RateLimiterFallbackWarning)
                await asyncio.gather(*(sdk.get_visitors(account_id=account)
                                       for account in ids(24) * 4))
        finally:
            busy = False
            await task
    assert fake_key.throttled_count == 0
