"""Crash safety of both stores, with real processes over loopback.

A child process syncs an account and then consumes its events; the parent kills it with
SIGKILL at a random line of its output (each page it is about to record, each event it has
handled), a few milliseconds late, and starts it again: seven kills per chain, then one run
that completes. Four such chains run side by side: on SQLite, one file each; on PostgreSQL,
four writers in one shared schema. Afterwards each account must hold exactly the service's
visitors, once each, every event delivered at least once and never again once
acknowledged; an SQLite file must pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest

from connectsafely_async.testing import FakeConnectSafely

from . import forked
from .forked import Child
from .servers import PostgresServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

ACCOUNTS = [f"{n:024x}" for n in range(1, 5)]
VISITORS = 40
NOW = 1.8e9
LOCKED = 75
KILLS_PER_CHAIN = 7

CHILD = """
import asyncio, sys
from connectsafely_async import AsyncConnectSafely
from connectsafely_async.history import StoreLockedError, open_store

async def main(db, url, account, now):
    def clock():
        print("page", flush=True)  # a page is about to be recorded
        return now
    async with AsyncConnectSafely(api_key="test-key", base_url=url, rate_limits=None) as client, \\
            open_store(db) as store:
        result = await client.sync_visitors(store, account_id=account, count=5, clock=clock,
                                            collect=False)
        assert result.ok, result.error
        async for event in store.events(account_id=account):
            print("event", event.id, flush=True)  # handled; acknowledged when we move on
    print("done", flush=True)

try:
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
except StoreLockedError as error:
    print(error, file=sys.stderr)
    sys.exit(75)
"""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeConnectSafely]]:
    """A fake service on its own thread, for the child processes."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeConnectSafely(accounts=dict.fromkeys(ACCOUNTS, VISITORS), latency=0.002)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake.url, fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@attrs.define
class Chain:
    kills: int = 0
    runs: int = 0
    handled: list[int] = attrs.Factory(list)
    redelivered_after_ack: list[int] = attrs.Factory(list)

    def note(self, line: str, acked: set[int]) -> None:
        if not line.endswith("\n"):
            return  # cut short by the kill: the event was not handled to the end
        if line.startswith("event"):
            event_id = int(line.split()[1])
            self.handled.append(event_id)
            if event_id in acked:
                self.redelivered_after_ack.append(event_id)


@attrs.frozen
class Target:
    """Where the children keep their history: ``url`` is what they open; ``rows`` reads it."""

    url: str
    schema: str | None = None  # PostgreSQL: the store's schema, shared by every chain

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``; none while the schema has not been committed yet."""
        if self.schema is None:
            if not Path(self.url).exists():
                return []
            conn = sqlite3.connect(self.url)
            try:
                return [tuple(row) for row in conn.execute(sql)]
            except sqlite3.OperationalError:  # killed before the schema was committed
                return []
            finally:
                conn.close()
        return asyncio.run(self._pg_rows(sql))

    async def _pg_rows(self, sql: str) -> list[tuple[Any, ...]]:
        import asyncpg

        dsn = self.url.split("?", 1)[0]
        conn = await asyncpg.connect(dsn, server_settings={"search_path": str(self.schema)})
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        except asyncpg.UndefinedTableError:
            return []
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Target]:
    """``target(name)``: an SQLite file of that name, or the test's one PostgreSQL schema."""
    if request.param == "sqlite":
        return lambda name: Target(str(tmp_path / f"{name}.db"))
    server: PostgresServer = request.getfixturevalue("postgres_server")
    schema = f"crash_{uuid.uuid4().hex[:12]}"
    shared = Target(f"{server.dsn}?schema={schema}", schema)
    return lambda _name: shared


def _child(script: Path, target: Target, url: str, account: str) -> Child:
    # ``python SCRIPT ...`` with PYTHONWARNINGS=error, forked with the SDK already imported
    # (tests/forked.py): the kills land in the script's work, not in interpreter start-ups.
    return forked.python(str(script), target.url, url, account, repr(NOW), text=True,
                         error_warnings=True)


def _acked(target: Target, account: str) -> set[int]:
    return {row[0] for row in target.rows(
        f"SELECT id FROM events WHERE acked IS NOT NULL AND account_id = '{account}'")}  # noqa: S608 - test constants


def _run_chain(script: Path, store: Target, url: str, account: str, seed: int) -> Chain:
    rng = random.Random(seed)
    chain = Chain()
    acked: set[int] = set()
    for _ in range(80):
        chain.runs += 1
        child = _child(script, store, url, account)
        assert child.stdout is not None
        # Kill at a random line, until this chain's share of kill points is reached.
        target = rng.randint(1, 6) if chain.kills < KILLS_PER_CHAIN else 0
        killed = False
        for seen, line in enumerate(child.stdout, start=1):
            chain.note(line, acked)
            if seen == target and not line.startswith("done"):
                time.sleep(rng.random() * 0.004)  # land anywhere in the next few ms
                child.send_signal(signal.SIGKILL)
                killed = True
                break
        # What it printed between the target and the kill, from the same buffered reader
        # (communicate() would miss what the line iterator already buffered).
        for line in child.stdout.read().splitlines(keepends=True):
            chain.note(line, acked)
        child.wait(timeout=30)
        assert child.stderr is not None
        stderr = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        if killed and child.returncode == -signal.SIGKILL:
            chain.kills += 1
        else:
            assert child.returncode == 0, stderr
            return chain
        acked |= _acked(store, account)
    pytest.fail("the chain never completed")


def _check_account(target: Target, account: str, fake: FakeConnectSafely, chain: Chain) -> None:
    served = fake.visitors(account)
    named = sorted(v["entityUrn"] for v in served if v.get("entityUrn"))
    anonymous = len(served) - len(named)
    if target.schema is None:
        assert target.rows("PRAGMA integrity_check") == [("ok",)]
    mine = f"account_id = '{account}'"
    urns = sorted(r[0] for r in target.rows(f"SELECT entity_urn FROM visitors WHERE {mine}"))  # noqa: S608 - test constants
    assert urns == named, "a visitor was lost or recorded twice"
    [(views,)] = target.rows(f"SELECT count(*) FROM views WHERE {mine}")  # noqa: S608
    assert views == len(named), "a view was recorded twice"
    events = target.rows(f"SELECT id, key, acked FROM events WHERE {mine}")  # noqa: S608
    assert len(events) == len({key for _, key, _ in events}) == len(named)
    assert all(acked is not None for *_, acked in events)
    # Every event reached the consumer; a repeat only for one killed before its ack.
    assert {event_id for event_id, *_ in events} == set(chain.handled)
    assert chain.redelivered_after_ack == []
    assert target.rows(f"SELECT count(*) FROM syncs WHERE finished IS NULL AND {mine}") == [(0,)]  # noqa: S608
    per_sync = target.rows(
        "SELECT s.id, count(a.id) FROM syncs s LEFT JOIN anonymous a ON a.sync_id = s.id "  # noqa: S608
        f"WHERE s.{mine} GROUP BY s.id")
    assert per_sync, "the account was never synced"
    assert all(count == anonymous for _, count in per_sync), per_sync


def test_sigkill_at_random_points_loses_and_repeats_nothing(
    served: tuple[str, FakeConnectSafely], tmp_path: Path, target: Callable[[str], Target]
) -> None:
    url, fake = served
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    targets = [target(f"history-{n}") for n in range(len(ACCOUNTS))]
    began = time.monotonic()
    with ThreadPoolExecutor(len(ACCOUNTS)) as pool:
        chains = list(pool.map(_run_chain, [script] * len(targets), targets,
                               [url] * len(targets), ACCOUNTS, range(len(targets))))
    for each, account, chain in zip(targets, ACCOUNTS, chains, strict=True):
        _check_account(each, account, fake, chain)
    kills = sum(chain.kills for chain in chains)
    repeats = sum(len(c.handled) - len(set(c.handled)) for c in chains)
    sys.stderr.write(
        f"\nkill test: {kills} SIGKILLs over {sum(c.runs for c in chains)} runs in "
        f"{time.monotonic() - began:.1f}s; {repeats} unacknowledged event(s) redelivered, "
        "0 acknowledged ones\n")
    assert kills >= 20


def test_two_processes_syncing_one_account_at_once(
    served: tuple[str, FakeConnectSafely], tmp_path: Path, target: Callable[[str], Target]
) -> None:
    url, fake = served
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    shared = target("shared")
    children = [_child(script, shared, url, ACCOUNTS[0]) for _ in range(2)]
    outcomes: list[Any] = [(c.communicate(timeout=60), c.returncode) for c in children]
    codes = [code for _, code in outcomes]
    assert 0 in codes
    for (_, stderr), code in outcomes:
        assert code in (0, LOCKED), stderr
        if code == LOCKED:
            assert "being synced by another process" in stderr
    handled = [int(line.split()[1]) for (out, _), _ in outcomes
               for line in out.splitlines() if line.startswith("event")]
    _check_account(shared, ACCOUNTS[0], fake, Chain(handled=handled))
    assert len(handled) == len(set(handled)), "an event was delivered to both processes"
