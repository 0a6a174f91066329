"""A pytest plugin: the fake service and clients bound to it, ready as fixtures.

Installed with the package (a ``pytest11`` entry point), so any project that has
connectsafely-async and pytest gets these fixtures with no conftest:

- ``connectsafely_fake``: a started ``FakeConnectSafely`` (45 visitors on account
  ``696ce9e780e0483585e4e553``), served on its own thread, so blocking code can call it;
- ``connectsafely_client``: a ``ConnectSafely`` (the sync client) bound to it;
- ``async_connectsafely_client``: an ``AsyncConnectSafely`` bound to it, for ``async def``
  tests (those need pytest-asyncio, as every async test does).

Both clients have the rate limiter off (``rate_limits=None``: the fake enforces no limits
unless asked, and pacing would only make the tests slow) and retry without waiting
(``RetryPolicy(initial_delay=0)``), so scripted faults are retried at once. To change the
fake, override ``connectsafely_fake`` in a conftest with ``serve_in_thread(...)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._server import FakeConnectSafely
from ._threaded import serve_in_thread

if TYPE_CHECKING:
    from .. import AsyncConnectSafely, ConnectSafely

__all__ = ["async_connectsafely_client", "connectsafely_client", "connectsafely_fake"]


def _client_options(fake: FakeConnectSafely) -> dict[str, Any]:
    from .. import RetryPolicy

    return {"api_key": fake.api_key, "base_url": fake.url, "rate_limits": None,
            "retry": RetryPolicy(initial_delay=0)}


@pytest.fixture
def connectsafely_fake() -> Iterator[FakeConnectSafely]:
    """A started fake ConnectSafely service on 127.0.0.1, on its own thread."""
    with serve_in_thread(FakeConnectSafely()) as fake:
        yield fake


@pytest.fixture
def connectsafely_client(connectsafely_fake: FakeConnectSafely) -> Iterator[ConnectSafely]:
    """A ``ConnectSafely`` bound to ``connectsafely_fake``, no rate limiter, instant retries."""
    from .. import ConnectSafely

    with ConnectSafely(**_client_options(connectsafely_fake)) as client:
        yield client


async def _async_client(
    connectsafely_fake: FakeConnectSafely,
) -> AsyncIterator[AsyncConnectSafely]:
    """An ``AsyncConnectSafely`` bound to ``connectsafely_fake``, for ``async def`` tests."""
    from .. import AsyncConnectSafely

    async with AsyncConnectSafely(**_client_options(connectsafely_fake)) as client:
        yield client


def _needs_pytest_asyncio() -> None:
    msg = "async_connectsafely_client needs pytest-asyncio: pip install pytest-asyncio"
    raise pytest.UsageError(msg)


# pytest-asyncio (in strict mode, its default) serves only fixtures it decorated itself.
async_connectsafely_client: Any
try:
    import pytest_asyncio
except ImportError:
    async_connectsafely_client = pytest.fixture(_needs_pytest_asyncio,
                                                name="async_connectsafely_client")
else:
    async_connectsafely_client = pytest_asyncio.fixture(_async_client,
                                                        name="async_connectsafely_client")
