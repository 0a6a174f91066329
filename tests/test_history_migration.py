"""The one forward step of issue 23: SQLite 3 -> 4, PostgreSQL 2 -> 3, from a store with data.

The data is ``fixtures/history-v3.db``, written through the public API by the SDK of schema
version 3 (``fixtures/build_history_v3.py``), with what that SDK read back from it in
``fixtures/history-v3.json``. On PostgreSQL the same rows go into a version-2 schema built by
the migrations that made it. After the step, every row is still there, the public API reads
the same records, events, acknowledgements, ledger and account names, and a later sync goes
on from them. A process killed at any point of the step leaves a store the next one opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import connectsafely_async.history._ledger as ledger
from connectsafely_async import AsyncConnectSafely
from connectsafely_async.history import PostgresStore, SQLiteStore
from connectsafely_async.history._pg_schema import PG_MIGRATIONS, PG_SCHEMA_VERSION
from connectsafely_async.history._schema import SCHEMA_VERSION
from connectsafely_async.history._text import key_number
from connectsafely_async.testing import FakeConnectSafely, visitors_at

from .conftest import ACCOUNT
from .servers import PostgresServer

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "history-v3.json").read_text())
OTHER = "aaaaaaaaaaaaaaaaaaaaaaaa"  # the fixture's second account
LATER = 1.8e9 + 3 * 86400.0  # the fixture's last sync
# Every table of version 3 with its columns, in an order that identifies each row.
TABLES = {
    "meta": ("key, value", "key"),
    "visitors": ("account_id, key, entity_urn, public_identifier, name, headline, "
                 "profile_picture, viewed_at, connection_degree, profile_url, navigation_url, "
                 "first_seen, last_seen, view_id, views", "account_id, key"),
    "aliases": ("account_id, alias, key", "account_id, alias"),
    "views": ("id, account_id, key, viewed_at, earliest, latest, first_observed, "
              "last_observed, observations, first_view, sync_id", "id"),
    "anonymous": ("id, account_id, name, headline, viewed_at, earliest, latest, observed, "
                  "sync_id", "id"),
    "events": ("id, account_id, key, kind, created, acked, sync_id, visits, followed", "id"),
    "syncs": ("id, account_id, filters, started, finished, error, checkpoint, first_view, "
              "first_event, first_anonymous, pages, new_count, returning_count, "
              "unchanged_count, anonymous_count, clock", "id"),
    "account_names": ("name, account_id", "name"),
    "actions": ("id, account_id, key, kind, recipient, text, state, detail, event_id, "
                "decided, settled", "id"),
    "action_holds": ("account_id, kind, hold_until", "account_id, kind"),
}
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def v3_rows() -> dict[str, list[tuple[Any, ...]]]:
    with contextlib.closing(sqlite3.connect(FIXTURES / "history-v3.db")) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        return {table: db.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()  # noqa: S608 - test constants
                for table, (columns, order) in TABLES.items()}


async def read_back(store: SQLiteStore | PostgresStore) -> dict[str, Any]:
    """What the fixture's JSON holds, read by today's SDK."""
    call = store._call
    return {
        "history": await store.history(),
        "pending": [[e.id, e.kind, e.visitor.account_id, e.visitor.key, e.visits,
                     e.created_at.isoformat()]
                    for e in await store.pending_events(limit=10_000)],
        "default_is": await store.account_for(""),
        "meta": await store.meta("clock"),
        "unfollowed": [e.id for e in await call(ledger.unfollowed, OTHER, 10_000)],
        "interrupted": [list(row) for row in await call(ledger.interrupted, OTHER)],
        "used": await call(ledger.used, OTHER, "invitation", LATER),
        "held_until": await call(ledger.held_until, OTHER, "invitation", LATER),
    }


async def goes_on(store: SQLiteStore | PostgresStore, client: AsyncConnectSafely,
                  fake: FakeConnectSafely, before: dict[str, list[tuple[Any, ...]]]) -> None:
    """A sync after the step knows everyone, and a day later records newcomers under new
    ids the engine made, above every old one."""
    fake.set_visitors(ACCOUNT, visitors_at(LATER, account_id=ACCOUNT))
    same = await client.sync_visitors(store, account_id=ACCOUNT, count=10, max_visitors=30,
                                      clock=lambda: LATER)
    assert (same.new, same.returning, same.new_count) == ((), (), 0)
    assert same.unchanged > 0
    tomorrow = LATER + 86400.0
    fake.set_visitors(ACCOUNT, visitors_at(tomorrow, account_id=ACCOUNT))
    pending = {e.id for e in await store.pending_events(limit=10_000)}
    result = await client.sync_visitors(store, account_id=ACCOUNT, count=10, max_visitors=30,
                                        clock=lambda: tomorrow)
    assert result.ok
    assert result.new or result.returning
    news = [e for e in await store.pending_events(limit=10_000) if e.id not in pending]
    assert len(news) == len(result.new) + len(result.returning)
    assert min(e.id for e in news) > max(row[0] for row in before["events"])
    # The new views too (on PostgreSQL an identity that had to start after the old ids).
    recorded = {(r["visitor_key"], r["first_observed_at"])
                for r in await store.history(account_id=ACCOUNT)}
    assert {(s.key, s.first_seen_at.isoformat()) for s in result.new} <= recorded


# -- SQLite ------------------------------------------------------------------------------------


async def test_a_version_3_file_with_data_migrates_and_reads_the_same(
    tmp_path: Path, client: AsyncConnectSafely, fake: FakeConnectSafely,
) -> None:
    path = tmp_path / "history.db"
    shutil.copy(FIXTURES / "history-v3.db", path)
    before = v3_rows()
    async with SQLiteStore(path) as store:
        assert await read_back(store) == EXPECTED
        with contextlib.closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            for table, (columns, order) in TABLES.items():
                after = db.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()  # noqa: S608 - test constants
                assert after == before[table], table
            numbered = db.execute("SELECT alias, alias_number FROM aliases").fetchall()
            assert all(number == key_number(alias) for alias, number in numbered)
            for table in ("visitors", "views", "events"):  # every key carries its number
                keyed = db.execute(f"SELECT key, key_number FROM {table}").fetchall()  # noqa: S608 - test constants
                assert keyed
                assert all(number == key_number(key) for key, number in keyed), table
            indexes = {row[1] for row in db.execute("PRAGMA index_list(visitors)")}
            assert indexes == {"visitors_number"}  # no index of the keys' text
            for table in ("visitors", "aliases"):  # rowid tables now, keys indexed apart
                [(sql,)] = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
                assert "id INTEGER PRIMARY KEY" in sql
                assert "WITHOUT ROWID" not in sql
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        await goes_on(store, client, fake, before)


MIGRATE = """
import asyncio, sys
from connectsafely_async.history import SQLiteStore

async def main(path):
    print("opening", flush=True)
    async with SQLiteStore(path):
        pass

asyncio.run(main(sys.argv[1]))
"""


def _opening(path: Path) -> subprocess.Popen[str]:
    """A process opening the store at ``path``, past its imports: the step is next."""
    child = subprocess.Popen([sys.executable, "-c", MIGRATE, str(path)],  # noqa: S603 - our own child
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "opening\n"
    child.stdout.close()
    return child


def _inflate(path: Path, visitors: int) -> tuple[int, int]:
    """Add ``visitors`` visitors (and an alias each) to a version-3 file, so that the step
    takes long enough to be killed in the middle of; the visitor and alias counts."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO visitors (account_id, key, entity_urn, name, headline, first_seen, "
            "last_seen, view_id) SELECT 'bulk', 'urn:li:fsd_profile:' || hex(randomblob(16)), "
            "NULL, 'Name ' || i, 'A headline of some length, as they are', 0, 0, 1 FROM n",
            (visitors,))
        db.execute("INSERT INTO aliases (account_id, alias, key) "
                   "SELECT account_id, 'in:' || lower(substr(key, 20)), key FROM visitors "
                   "WHERE account_id = 'bulk'")
        return (db.execute("SELECT count(*) FROM visitors").fetchone()[0],
                db.execute("SELECT count(*) FROM aliases").fetchone()[0])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_process_killed_during_the_step_leaves_a_file_the_next_one_migrates(
    tmp_path: Path,
) -> None:
    template = tmp_path / "inflated-v3.db"
    shutil.copy(FIXTURES / "history-v3.db", template)
    counts = _inflate(template, 60_000)
    timing = tmp_path / "timing.db"
    shutil.copy(template, timing)
    child = _opening(timing)
    began = time.monotonic()
    child.wait()
    # Opening, migrating (about the first half), checkpointing the log and closing.
    whole = time.monotonic() - began
    # Each kill hits a fresh copy of the version-3 file, and the next kill comes earlier
    # or later by where the last one landed, so a loaded machine (every step slower, or
    # slower in one part) still sees kills in the middle of the step.
    rng = random.Random(23)
    delay, landed = 0.25 * whole, {"before": 0, "midway": 0, "after": 0}
    path = tmp_path / "history.db"
    for _ in range(12):
        path.unlink(missing_ok=True)
        Path(f"{path}-wal").unlink(missing_ok=True)
        shutil.copy(template, path)
        child = _opening(path)
        time.sleep(delay * rng.uniform(0.8, 1.25))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        wal = Path(f"{path}-wal")
        logged = wal.exists() and wal.stat().st_size > 32
        with contextlib.closing(sqlite3.connect(path)) as db:  # either version, whole
            [(version,)] = db.execute("PRAGMA user_version")
            assert version in (3, SCHEMA_VERSION)
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert (db.execute("SELECT count(*) FROM visitors").fetchone()[0],
                    db.execute("SELECT count(*) FROM aliases").fetchone()[0]) == counts
        where = "after" if version == SCHEMA_VERSION else "midway" if logged else "before"
        landed[where] += 1
        if landed["midway"] == 3:
            break
        delay *= {"before": 1.6, "midway": 1.0, "after": 0.6}[where]
    assert landed["midway"], f"no kill landed in the middle of the step: {landed}"
    # The file a kill left in the middle of the step: the next process migrates it.
    subprocess.run([sys.executable, "-c", MIGRATE, str(path)], check=True,  # noqa: S603 - our own child
                   capture_output=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert (db.execute("SELECT count(*) FROM visitors").fetchone()[0],
                db.execute("SELECT count(*) FROM aliases").fetchone()[0]) == counts


# -- PostgreSQL --------------------------------------------------------------------------------


async def _version_2_schema(server: PostgresServer, schema: str) -> None:
    """The fixture's rows in a schema at version 2, built by the migrations that made it."""
    rows = v3_rows()
    conn = await asyncpg.connect(server.dsn)
    try:
        async with conn.transaction():
            await conn.execute(f'CREATE SCHEMA "{schema}"; SET LOCAL search_path = "{schema}"; '  # noqa: S608 - test constants
                               "CREATE TABLE schema_version (version INTEGER NOT NULL); "
                               "INSERT INTO schema_version VALUES (2)")
            await conn.execute(PG_MIGRATIONS[0])
            await conn.execute(PG_MIGRATIONS[1])
            for table, (columns, _order) in TABLES.items():
                marks = ", ".join(f"${i}" for i in range(1, columns.count(",") + 2))
                await conn.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows[table])  # noqa: S608 - test constants
            for table in ("syncs", "events", "anonymous", "actions"):  # as their writes left them
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - test constants
                                   f"max(id)) FROM {table}")
    finally:
        await conn.close()


async def test_a_version_2_schema_with_data_migrates_and_reads_the_same(
    postgres_server: PostgresServer, client: AsyncConnectSafely, fake: FakeConnectSafely,
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _version_2_schema(postgres_server, schema)
    before = v3_rows()
    async with PostgresStore(postgres_server.dsn, schema=schema) as store:
        assert await read_back(store) == EXPECTED
        conn = await asyncpg.connect(store.dsn, server_settings={"search_path": schema})
        try:
            assert await conn.fetchval("SELECT version FROM schema_version") == PG_SCHEMA_VERSION
            for table, (columns, order) in TABLES.items():
                after = [tuple(r) for r in await conn.fetch(
                    f"SELECT {columns} FROM {table} ORDER BY {order}")]  # noqa: S608 - test constants
                assert after == before[table], table
            # The server's number of each alias is the SDK's.
            numbered = await conn.fetch("SELECT alias, alias_number FROM aliases")
            assert numbered
            assert all(number == key_number(alias) for alias, number in numbered)
            for table in ("visitors", "views", "events"):  # every key carries its number
                keyed = await conn.fetch(f"SELECT key, key_number FROM {table}")  # noqa: S608 - test constants
                assert keyed
                assert all(number == key_number(key) for key, number in keyed), table
            for text in ("in:zo\u00eb-\u00f1\u4e2d", "urn:li:x:1", ""):
                assert await conn.fetchval(
                    "SELECT ('x' || left(encode(sha256(convert_to($1, 'UTF8')), 'hex'), 16))"
                    "::bit(64)::bigint", text) == key_number(text)
        finally:
            await conn.close()
        await goes_on(store, client, fake, before)


PG_MIGRATE = """
import asyncio, sys
from connectsafely_async.history import PostgresStore

async def main(dsn, schema):
    print("opening", flush=True)
    async with PostgresStore(dsn, schema=schema):
        pass

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_a_worker_killed_during_the_step_leaves_a_schema_the_next_one_migrates(
    postgres_server: PostgresServer,
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await _version_2_schema(postgres_server, schema)
    views = len(v3_rows()["views"])
    conn = await asyncpg.connect(postgres_server.dsn, server_settings={"search_path": schema})
    blocker = await asyncpg.connect(postgres_server.dsn, server_settings={"search_path": schema})
    try:
        # First a worker killed inside the step for certain: it waits there, its transaction
        # open, for a table another session reads.
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE views IN ACCESS SHARE MODE")
            child = _pg_opening(postgres_server.dsn, schema)
            while not await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'connectsafely' AND wait_event_type = 'Lock'"):
                await asyncio.sleep(0.01)
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert await conn.fetchval("SELECT version FROM schema_version") == 2
        # Then workers killed at random points of opening, migrating and closing.
        rng = random.Random(23)
        for _ in range(4):
            child = _pg_opening(postgres_server.dsn, schema)
            await asyncio.sleep(rng.uniform(0, 0.3))
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            assert await conn.fetchval("SELECT version FROM schema_version") in (
                2, PG_SCHEMA_VERSION)
            assert await conn.fetchval("SELECT count(*) FROM views") == views
        async with PostgresStore(postgres_server.dsn, schema=schema) as store:
            assert await read_back(store) == EXPECTED
        assert await conn.fetchval("SELECT version FROM schema_version") == PG_SCHEMA_VERSION
    finally:
        await blocker.close()
        await conn.close()


def _pg_opening(dsn: str, schema: str) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", PG_MIGRATE, dsn, schema],  # noqa: S603 - our own child
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "opening\n"
    child.stdout.close()
    return child
