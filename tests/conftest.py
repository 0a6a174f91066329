"""Shared fixtures: the fake service over real loopback HTTP, a clock that never sleeps, and
throwaway Redis and PostgreSQL servers (tests/servers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from connectsafely_async import AsyncConnectSafely, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely

from .servers import PostgresServer, RedisServer, find_postgres_bin

ACCOUNT = "696ce9e780e0483585e4e553"
OTHER_ACCOUNT = "aaaaaaaaaaaaaaaaaaaaaaaa"


class FakeSleep:
    """Stands in for ``asyncio.sleep`` in a RetryPolicy: records each wait, sleeps for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
async def fake() -> AsyncIterator[FakeConnectSafely]:
    async with FakeConnectSafely(accounts={ACCOUNT: 45, OTHER_ACCOUNT: 0}) as server:
        yield server
        await assert_no_open_connections(server)


async def assert_no_open_connections(server: FakeConnectSafely, *, within: float = 2.0) -> None:
    """Every test leaves zero connections open: each client it made was closed (or never
    connected). Closing is asynchronous on the server side, so give it a moment."""
    deadline = asyncio.get_running_loop().time() + within
    while server.open_connections and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    assert server.open_connections == 0, f"{server.open_connections} connection(s) left open"


@pytest.fixture
async def client(fake: FakeConnectSafely, sleep: FakeSleep) -> AsyncIterator[AsyncConnectSafely]:
    # rate_limits=None: the fake does not enforce the documented limits, and the client's
    # limiter would make these tests wait in real time (tests/test_limiter.py covers it).
    async with AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, retry=RetryPolicy(sleep=sleep),
        rate_limits=None,
    ) as sdk:
        yield sdk


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server on a loopback port; ``stop()``/``start()`` restart it in place."""
    if RedisServer.binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session (initdb costs about a second)."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.close()
