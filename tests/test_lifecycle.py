"""Sessions: made lazily in the loop, closed when owned, never when borrowed, warned when leaked."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest

from connectsafely_async import AsyncConnectSafely, ClientClosedError
from connectsafely_async.testing import FakeConnectSafely

from .sessions import open_sessions


async def test_a_closed_client_refuses_requests(fake: FakeConnectSafely) -> None:
    client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url)
    await client.get_visitors()
    await client.aclose()
    await client.aclose()  # idempotent
    assert client.closed
    with pytest.raises(ClientClosedError, match="closed"):
        await client.get_visitors()
    assert isinstance(ClientClosedError("x"), RuntimeError)
    assert len(fake.requests) == 1


async def test_closing_during_a_suspended_walk_ends_it_clearly(fake: FakeConnectSafely) -> None:
    client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url)
    walk = client.iter_visitors(count=10)
    first = await anext(walk)
    assert first.name
    await client.aclose()
    with pytest.raises(ClientClosedError):
        async for _ in walk:
            pass
    assert len(fake.requests) == 1


async def test_a_borrowed_session_is_never_closed(fake: FakeConnectSafely) -> None:
    async with aiohttp.ClientSession() as session:
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=fake.url, session=session
        ) as client:
            await client.get_visitors()
        assert not session.closed
        async with session.get(fake.url + "/health") as response:
            assert response.status == 401  # still usable (and our key was not made its default)


async def test_session_is_created_lazily_inside_the_loop(fake: FakeConnectSafely) -> None:
    before = open_sessions()
    client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url)
    assert open_sessions() == before
    await client.get_visitors(max_visitors=1)
    assert len(open_sessions() - before) == 1  # made by the first request
    await client.aclose()
    assert open_sessions() == before
    await AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url).aclose()  # never used


def test_a_client_built_outside_any_loop_works_in_a_later_loop() -> None:
    # As in a notebook or a module-level client: built first, used in whatever loop runs later.
    with fake_in_a_thread() as fake:
        client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url)

        async def main() -> int:
            async with client:
                return len((await client.get_visitors()).visitors)

        assert asyncio.run(main()) == 20


@contextmanager
def fake_in_a_thread() -> Iterator[FakeConnectSafely]:
    """A fake service on its own loop in a thread, so its URL is known before our loop starts."""
    started = threading.Event()
    stop: list[asyncio.Event] = []
    holder: list[FakeConnectSafely] = []

    async def serve() -> None:
        async with FakeConnectSafely() as fake:
            holder.append(fake)
            stop.append(asyncio.Event())
            started.set()
            await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    started.wait(10)
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()


async def test_an_unclosed_client_warns_when_collected(fake: FakeConnectSafely) -> None:
    before = open_sessions()
    client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url)
    await client.get_visitors()
    # Keep the session alive past the client, so only our warning is under test (aiohttp
    # warns about its own session and connector separately), then close it properly.
    (session,) = open_sessions() - before
    with pytest.warns(ResourceWarning, match="unclosed AsyncConnectSafely"):
        del client
        gc.collect()
    await session.close()


async def test_a_borrowed_session_is_not_reported_as_leaked(fake: FakeConnectSafely) -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url, session=session)
        await client.get_visitors()
        del client
        gc.collect()  # warnings are errors here: a ResourceWarning would fail the test


async def test_break_stops_the_walk(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
        walk = client.iter_visitors(count=10)
        async for _visitor in walk:
            break
        await walk.aclose()
    assert len(fake.requests) == 1


async def test_the_consumer_raising_mid_loop_leaves_the_client_usable(
    fake: FakeConnectSafely,
) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
        with pytest.raises(KeyError):
            async for _visitor in client.iter_visitors(count=10):
                raise KeyError("consumer bug")
        page = await client.get_visitors()
        assert len(page.visitors) == 20
