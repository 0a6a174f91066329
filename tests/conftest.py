"""Shared fixtures: the fake service over real loopback HTTP, and a clock that never sleeps."""

from __future__ import annotations

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


@pytest.fixture
async def client(fake: FakeConnectSafely, sleep: FakeSleep) -> AsyncIterator[AsyncConnectSafely]:
    async with AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, retry=RetryPolicy(sleep=sleep)
    ) as sdk:
        yield sdk
