"""The fake service on a thread of its own, for blocking code and tests without an event loop.

A ``FakeConnectSafely`` normally runs in the test's event loop. Code under test that blocks
(the sync ``ConnectSafely``, a script that calls ``asyncio.run`` itself) would stop that loop
and the server with it, so here the server gets its own loop on a daemon thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ._server import FakeConnectSafely

__all__ = ["serve_in_thread"]

_TIMEOUT = 10.0  # seconds to start or stop: a loopback server needs milliseconds


@contextmanager
def serve_in_thread(fake: FakeConnectSafely | None = None) -> Iterator[FakeConnectSafely]:
    """Serve *fake* on its own event loop in a background thread, for the ``with`` block.

    ::

        with serve_in_thread(FakeConnectSafely(accounts={"696ce9e780e0483585e4e553": 45})) as fake:
            with ConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
                assert len(list(client.iter_visitors())) == 45

    Configure the fake (``inject``, ``set_visitors``) from the test between requests; its
    ``requests`` can be read at any time.

    Args:
        fake: the server to run (``None``: ``FakeConnectSafely()``); it must not be started.

    Returns:
        The started *fake*; it is closed, and the thread joined, when the block ends.
    """
    server = FakeConnectSafely() if fake is None else fake
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="connectsafely-fake", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(_TIMEOUT)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(_TIMEOUT)
    finally:
        asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_TIMEOUT)
        loop.close()
