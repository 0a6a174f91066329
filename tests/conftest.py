"""Shared fixtures: the fake service over real loopback HTTP, and a clock that never sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from connectsafely_async import AsyncConnectSafely, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely

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
