"""The blocking ``ConnectSafely``: derived from the async client, on a loop it owns.

The fake runs on its own thread (``serve_in_thread``) because the sync client blocks the
thread that calls it; a fake in the test's own loop would be blocked with it.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from connectsafely_async import (
    APITimeoutError,
    AsyncConnectSafely,
    ClientClosedError,
    ConfigurationError,
    ConnectSafely,
    NotFoundError,
    RetryPolicy,
    VisitorList,
)
from connectsafely_async._blocking_client import SYNC_NAMES
from connectsafely_async.testing import FakeConnectSafely, Fault, serve_in_thread
from connectsafely_async.types import SyncWalk

from .sessions import open_sessions
from .stores import KINDS, new_store

ACCOUNT = "696ce9e780e0483585e4e553"
OTHER = "aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
def fake() -> Iterator[FakeConnectSafely]:
    with serve_in_thread(FakeConnectSafely(accounts={ACCOUNT: 45, OTHER: 12})) as server:
        yield server


def options(fake: FakeConnectSafely) -> dict[str, Any]:
    return {"api_key": fake.api_key, "base_url": fake.url, "rate_limits": None,
            "retry": RetryPolicy(initial_delay=0)}


def sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "connectsafely-sync"]


def test_every_public_async_method_has_a_sync_twin() -> None:
    # A method added to AsyncConnectSafely without a line in ConnectSafely fails here.
    for name, member in inspect.getmembers(AsyncConnectSafely):
        if name.startswith("_") or isinstance(member, property):
            continue
        twin = SYNC_NAMES.get(name, name)
        assert twin in vars(ConnectSafely), f"ConnectSafely has no {twin}()"
        if twin == name:  # derived: the very same signature and docstring
            assert inspect.signature(getattr(ConnectSafely, name).__wrapped__) == \
                inspect.signature(member)
            assert getattr(ConnectSafely, name).__doc__ == member.__doc__
    async_properties = {n for n, m in inspect.getmembers(AsyncConnectSafely)
                        if isinstance(m, property)}
    assert async_properties <= {n for n, m in vars(ConnectSafely).items()
                                if isinstance(m, property)}


def test_the_constructor_takes_the_async_arguments_but_session() -> None:
    sync = inspect.signature(ConnectSafely).parameters
    asynchronous = dict(inspect.signature(AsyncConnectSafely).parameters)
    del asynchronous["session"]  # a session belongs to one loop; ours is private
    assert list(sync) == list(asynchronous)
    for name, parameter in sync.items():
        assert parameter.default == asynchronous[name].default, name
        assert parameter.kind == asynchronous[name].kind, name


def test_same_results_as_the_async_client(fake: FakeConnectSafely) -> None:
    async def with_async() -> list[object]:
        async with AsyncConnectSafely(**options(fake)) as client:
            return [v async for v in client.iter_visitors(count=10)]

    expected = asyncio.run(with_async())
    with ConnectSafely(**options(fake)) as client:
        walk = client.iter_visitors(count=10)
        assert isinstance(walk, SyncWalk)
        assert VisitorList(walk) == expected
        assert walk.stats.pages == 5
        assert walk.checkpoint.yielded == 45
        page = client.get_visitors(max_visitors=5, count=5, account_id=OTHER)
        assert len(page.visitors) == 5
        assert [a.id for a in client.list_accounts()] == [ACCOUNT, OTHER]
        results = client.fetch_visitors_many([ACCOUNT, OTHER], max_visitors=20)
        assert [len(r.visitors) for r in results.values()] == [20, 12]
        pairs = list(client.iter_visitors_many([ACCOUNT, OTHER], max_visitors=3))
        assert sorted(p.account_id for p in pairs) == [ACCOUNT] * 3 + [OTHER] * 3


def test_same_errors_as_the_async_client(fake: FakeConnectSafely) -> None:
    threads = len(sync_threads())
    with pytest.raises(ConfigurationError):
        ConnectSafely(api_key="", base_url=fake.url)
    with pytest.raises(ValueError, match="count"):
        ConnectSafely(api_key="k", base_url=fake.url).iter_visitors(count=0)
    gc.collect()  # the client above was never used: collecting it must not warn
    assert len(sync_threads()) == threads, "a refused client left a thread"
    with ConnectSafely(**options(fake)) as client:
        with pytest.raises(NotFoundError) as raised:
            client.get_visitors(account_id="0" * 24)
        assert raised.value.status_code == 404
        fake.inject(Fault(status=404, json={"error": "gone"}))
        walk = client.iter_visitors(count=10)
        with pytest.raises(NotFoundError) as ended:
            list(walk)
        assert ended.value.checkpoint is not None
        assert list(walk) == []  # a walk that raised is over


def test_breaking_out_closes_the_async_generator(fake: FakeConnectSafely) -> None:
    with ConnectSafely(**options(fake)) as client:
        walk = client.iter_visitors(count=5, prefetch=3)
        source = walk._source._source  # the async generator under the Walk
        for _ in walk:
            break
        del walk  # what leaving a `for` loop over a temporary does
        gc.collect()
        assert source.ag_frame is None, "the async generator was not closed"
        with client.iter_visitors(count=5) as explicit:
            next(explicit)
        assert explicit._source._source.ag_frame is None


def test_it_runs_inside_a_running_event_loop(fake: FakeConnectSafely) -> None:
    # A notebook cell or an async web view: a loop runs in this thread already.
    async def handler() -> int:
        with ConnectSafely(**options(fake)) as client:
            return len(client.get_visitors(max_visitors=7).visitors)

    assert asyncio.run(handler()) == 7


def test_threads_share_one_client(fake: FakeConnectSafely) -> None:
    with ConnectSafely(**options(fake)) as client, ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda n: len(client.get_visitors(max_visitors=n).visitors),
                              range(1, 9)))
    assert sizes == list(range(1, 9))


def test_close_leaves_no_thread_and_no_session(fake: FakeConnectSafely) -> None:
    before, sessions = len(sync_threads()), open_sessions()
    with ConnectSafely(**options(fake)) as client:
        client.get_visitors()
        assert len(sync_threads()) == before + 1
        assert len(open_sessions() - sessions) == 1
    assert client.closed
    assert len(sync_threads()) == before
    assert open_sessions() == sessions
    client.close()  # idempotent
    with pytest.raises(ClientClosedError):
        client.get_visitors()


def test_a_leaked_client_warns_and_cleans_up(fake: FakeConnectSafely) -> None:
    before, sessions = len(sync_threads()), open_sessions()
    client = ConnectSafely(**options(fake))
    client.get_visitors()
    assert len(open_sessions() - sessions) == 1
    with pytest.warns(ResourceWarning, match="unclosed ConnectSafely"):
        del client
        gc.collect()
    assert len(sync_threads()) == before
    assert open_sessions() == sessions


def test_a_callback_calling_the_client_is_refused(fake: FakeConnectSafely) -> None:
    seen: list[BaseException] = []
    with ConnectSafely(**options(fake)) as client:

        def on_complete(_result: object) -> None:
            try:
                client.get_visitors()
            except RuntimeError as error:
                seen.append(error)

        client.fetch_visitors_many([ACCOUNT], max_visitors=1, on_complete=on_complete)
    assert "callbacks" in str(seen[0])


def test_with_options_is_a_view_on_the_same_client(fake: FakeConnectSafely) -> None:
    with ConnectSafely(**options(fake)) as client:
        quick = client.with_options(max_retries=0, account_id=OTHER, timeout=5)
        assert isinstance(quick, ConnectSafely)
        assert (quick.account_id, quick.timeout) == (OTHER, 5)
        assert client.account_id is None
        fake.inject(Fault(status=502, json={"error": "bad gateway"}))
        with pytest.raises(Exception, match="502"):
            quick.get_visitors()  # no retry on the copy
        assert quick.get_visitors().account_id == OTHER
        assert fake.open_connections == 1  # one session, one pool: the copy's connection
        del quick
        gc.collect()  # a copy going away neither warns nor closes anything
        assert not client.closed
    assert client.closed


def test_ctrl_c_while_waiting_cancels_the_call_and_closes_cleanly() -> None:
    import subprocess
    import sys

    script = """
import os, signal, threading, time, warnings
warnings.simplefilter("error")
from connectsafely_async import ConnectSafely
from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

with serve_in_thread(FakeConnectSafely(latency=30)) as fake:
    client = ConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None)
    # As a terminal's Ctrl-C: to the process, whichever thread the kernel picks.
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    began = time.monotonic()
    try:
        client.get_visitors()
    except KeyboardInterrupt:
        print("interrupted after", round(time.monotonic() - began, 1))
    client.close()
    assert [t.name for t in threading.enumerate() if t.name == "connectsafely-sync"] == []
    print("closed")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,  # noqa: S603
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["interrupted after 0.3", "closed"]
    assert result.stderr == ""


def test_a_request_timeout_is_raised_as_the_async_client_raises_it() -> None:
    with serve_in_thread(FakeConnectSafely(latency=2)) as slow, \
            ConnectSafely(**options(slow), timeout=0.2, max_retries=0) as client, \
            pytest.raises(APITimeoutError, match=r"within 0\.2s"):
        client.get_visitors()


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_script_syncs_into_a_store_it_opens_without_an_event_loop(
    fake: FakeConnectSafely, tmp_path: Any, kind: str, request: pytest.FixtureRequest
) -> None:
    from connectsafely_async.history import StoreError

    with ConnectSafely(**options(fake)) as client, new_store(kind, request, tmp_path) as store:
        first = client.sync_visitors(store, account_id=ACCOUNT, time_range="ALL_TIME")
        again = client.sync_visitors(store, account_id=ACCOUNT, time_range="ALL_TIME")
        with pytest.raises(StoreError, match="already open"):
            store.store.__enter__()  # the store behind the plain with: open already
    assert len(first.new) + len(first.anonymous) == 45
    assert first.new
    assert (again.new, again.returning) == ((), ())
    assert not [t for t in threading.enumerate() if t.name.startswith("connectsafely-store")]
    with pytest.raises(StoreError, match="not open"), ConnectSafely(**options(fake)) as client:
        client.sync_visitors(store, account_id=ACCOUNT)  # closed with its with block
