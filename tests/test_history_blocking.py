"""A store opened with a plain ``with`` is a BlockingStore: every reader and acknowledger of
the async store, without ``await``, for sync scripts; derived, so none can be missing."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectsafely_async import ConnectSafely, RetryPolicy
from connectsafely_async.history import BlockingStore, SQLiteStore
from connectsafely_async.history._blocking_store import BLOCKING_NAMES, StoreBase
from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

from .stores import KINDS, new_store

ACCOUNT = "696ce9e780e0483585e4e553"


@pytest.fixture
def fake() -> Iterator[FakeConnectSafely]:
    with serve_in_thread(FakeConnectSafely(accounts={ACCOUNT: 45})) as server:
        yield server


def options(fake: FakeConnectSafely) -> dict[str, Any]:
    return {"api_key": fake.api_key, "base_url": fake.url, "rate_limits": None,
            "retry": RetryPolicy(initial_delay=0)}


def test_every_public_async_method_of_a_store_has_a_blocking_twin() -> None:
    # A method added to the store without a line in BlockingStore fails here.
    for name, member in inspect.getmembers(StoreBase):
        if name.startswith("_") or not (inspect.iscoroutinefunction(member)
                                        or inspect.isasyncgenfunction(member)):
            continue
        twin = BLOCKING_NAMES.get(name, name)
        assert hasattr(BlockingStore, twin), f"BlockingStore has no {twin}()"
        if twin == name:  # derived: the same signature and docstring
            assert inspect.signature(getattr(BlockingStore, name)) == inspect.signature(member)
            assert getattr(BlockingStore, name).__doc__ == member.__doc__


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_script_consumes_and_acknowledges_events_without_await(
    fake: FakeConnectSafely, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    store = new_store(kind, request, tmp_path)
    with ConnectSafely(**options(fake)) as client, store as blocking:
        assert isinstance(blocking, BlockingStore)
        result = client.sync_visitors(blocking, account_id=ACCOUNT)
        pending = blocking.pending_events(limit=1000)
        assert [e.visitor.key for e in pending] == [s.key for s in result.new]
        handled = []
        for event in blocking.events():
            handled.append(event.id)
            if len(handled) == 3:
                break  # the third is not done: it comes again
        assert len(blocking.pending_events(limit=1000)) == len(pending) - 2
        again = [e.id for e in blocking.events()]  # the whole loop: each acknowledged
        assert again[0] == handled[2]
        assert blocking.pending_events() == []
        assert blocking.history(account_id=ACCOUNT)
        assert blocking.ack(handled[0]) == 0
    assert not [t for t in threading.enumerate()
                if t.name.startswith(("connectsafely-store", "connectsafely-sync"))]


SCRIPT = """
    import os, signal, sys
    from connectsafely_async import ConnectSafely
    from connectsafely_async.history import SQLiteStore

    with ConnectSafely(rate_limits=None) as client, SQLiteStore(sys.argv[1]) as store:
        client.sync_visitors(store)
        if sys.argv[2] == "crash":
            os.kill(os.getpid(), signal.SIGKILL)  # after the sync, before acting on anyone
        for event in store.events():
            print(event.visitor.key, flush=True)  # acting on the event
"""


def test_a_sync_script_killed_between_sync_and_acting_acts_once_when_rerun(
    fake: FakeConnectSafely, tmp_path: Path
) -> None:
    script = tmp_path / "daily.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "CONNECTSAFELY_API_KEY": fake.api_key,
           "CONNECTSAFELY_BASE_URL": fake.url}
    db = str(tmp_path / "visitors.db")

    def run(mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), db, mode], env=env,  # noqa: S603
                              capture_output=True, text=True, timeout=60, check=False)

    crashed = run("crash")
    assert crashed.returncode == -9
    assert crashed.stdout == ""
    rerun = run("act")
    assert rerun.returncode == 0, rerun.stderr
    acted = rerun.stdout.split()
    named = [v["entityUrn"] for v in fake.visitors(ACCOUNT) if v.get("entityUrn")]
    assert acted == named  # every new visitor, once, after the crash
    assert run("act").stdout == ""  # acknowledged: never again
    with SQLiteStore(db) as store:
        assert store.pending_events() == []
