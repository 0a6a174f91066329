"""What only PostgresStore has: its schema and versions, many workers, its locks, a server
that goes away. Its share of the one suite both stores pass is in test_history_sync.py and
test_history_crash.py."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import uuid
from typing import Any

import asyncpg
import pytest

from connectsafely_async import AsyncConnectSafely, Visitor
from connectsafely_async.history import (
    PostgresStore,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
)
from connectsafely_async.history._pg_connection import lock_key
from connectsafely_async.history._pg_schema import PG_SCHEMA_VERSION
from connectsafely_async.testing import FakeConnectSafely, visitors_at

from .conftest import ACCOUNT, OTHER_ACCOUNT
from .servers import PostgresServer, free_port

TABLES = {"meta", "visitors", "aliases", "views", "anonymous", "events", "syncs",
          "schema_version", "account_names", "actions", "action_holds"}


def fresh(server: PostgresServer, **options: Any) -> PostgresStore:
    return PostgresStore(server.dsn, schema=f"t_{uuid.uuid4().hex[:12]}", **options)


async def fetch(server: PostgresServer, schema: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(server.dsn, server_settings={"search_path": schema})
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_a_new_schema_gets_its_tables_once(postgres_server: PostgresServer) -> None:
    store = fresh(postgres_server)
    for _ in range(2):  # the second open finds everything in place
        async with store:
            pass
    tables = await fetch(postgres_server, "public", "SELECT table_name FROM "  # noqa: S608 - our own schema name
                         f"information_schema.tables WHERE table_schema = '{store.schema}'")
    assert {name for (name,) in tables} == TABLES
    assert await fetch(postgres_server, store.schema, "SELECT version FROM schema_version") == [
        (PG_SCHEMA_VERSION,)]
    public = await fetch(postgres_server, "public", "SELECT table_name FROM "
                         "information_schema.tables WHERE table_schema = 'public'")
    assert public == [], "the store's tables stay in its own schema"


async def test_workers_creating_one_schema_at_once_all_succeed(
    postgres_server: PostgresServer,
) -> None:
    first = fresh(postgres_server)
    stores = [first] + [PostgresStore(first.dsn, schema=first.schema) for _ in range(5)]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        assert await fetch(postgres_server, first.schema, "SELECT version FROM schema_version"
                           ) == [(PG_SCHEMA_VERSION,)]
    finally:
        await asyncio.gather(*(store.aclose() for store in stores))


async def test_a_newer_schema_is_refused_and_left_untouched(
    postgres_server: PostgresServer,
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(postgres_server.dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}; SET search_path = {schema}; "  # noqa: S608 - test constants
                           "CREATE TABLE schema_version (version INTEGER NOT NULL); "
                           f"INSERT INTO schema_version VALUES ({PG_SCHEMA_VERSION + 1}); "
                           "CREATE TABLE visitors (future TEXT); INSERT INTO visitors VALUES ('x')")
    finally:
        await conn.close()
    with pytest.raises(SchemaVersionError, match="newer than this SDK"):
        async with PostgresStore(postgres_server.dsn, schema=schema):
            pass
    assert await fetch(postgres_server, schema, "SELECT * FROM visitors") == [("x",)]
    assert await fetch(postgres_server, schema, "SELECT version FROM schema_version") == [
        (PG_SCHEMA_VERSION + 1,)]


async def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    store = PostgresStore(f"postgresql://app:s3cret-pw@127.0.0.1:{free_port()}/app",
                          connect_timeout=2)
    assert "s3cret-pw" not in repr(store)
    assert "postgresql://app@127.0.0.1:" in repr(store)
    where = r"cannot connect to postgresql://app@127\.0\.0\.1"
    with pytest.raises(StoreError, match=where) as info:
        async with store:
            pass
    assert "s3cret-pw" not in str(info.value)
    assert info.value.__cause__ is None  # the driver's error, which could say more, is not kept
    assert info.value.__suppress_context__
    with pytest.raises(StoreError, match="not open"):
        await store.history()
    # A parameter the driver refuses is the store's error too, and never shows the URL.
    bad = PostgresStore(f"postgresql://app:s3cret-pw@127.0.0.1:{free_port()}/app?sslmode=x")
    with pytest.raises(StoreError, match="sslmode") as info:
        await bad.open()
    assert "s3cret-pw" not in str(info.value)


@pytest.mark.parametrize(("args", "kwargs", "error"), [
    ((b"postgresql://x",), {}, TypeError),
    (("mysql://u:pw@h/db",), {}, ValueError),
    (("db.sqlite",), {}, ValueError),
    (("postgresql://h/db",), {"schema": "Bad-Name"}, ValueError),
    (("postgresql://h/db",), {"schema": ""}, ValueError),
    (("postgresql://h/db",), {"lock_timeout": -1}, ValueError),
    (("postgresql://h/db",), {"command_timeout": True}, ValueError),
    (("postgresql://h/db",), {"connect_timeout": "5"}, ValueError),
    (("postgresql://u:pw@h:notaport/db",), {}, ValueError),
    (("postgresql://u:pw@[::1/db",), {}, ValueError),
])
def test_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any],
                       error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        PostgresStore(*args, **kwargs)
    assert "pw" not in str(info.value)


def test_without_asyncpg_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(ImportError, match=r"connectsafely-async\[postgres\]"):
        PostgresStore("postgresql://h/db")


async def test_workers_sync_other_accounts_at_once_and_one_account_in_turn(
    postgres_server: PostgresServer,
) -> None:
    async with fresh(postgres_server, lock_timeout=0.2) as one, \
            PostgresStore(one.dsn, schema=one.schema, lock_timeout=0.2) as two:
        mine = await one.begin_sync(ACCOUNT, "filters")
        theirs = await two.begin_sync(OTHER_ACCOUNT, "filters")  # another account: no wait
        with pytest.raises(StoreLockedError, match="being synced by another process"):
            await two.begin_sync(ACCOUNT, "other filters")  # the lock is the account's
        with pytest.raises(StoreLockedError):
            await one.begin_sync(ACCOUNT, "filters")  # a second task of the same worker too
        assert await two.history() == []  # reading is never blocked
        await one.finish_sync(mine.sync_id)
        again = await two.begin_sync(ACCOUNT, "filters")
        assert again.sync_id not in (mine.sync_id, theirs.sync_id)
        await two.finish_sync(again.sync_id)
        await two.finish_sync(theirs.sync_id)


_HOLDER = """
import asyncio, sys, time
from connectsafely_async.history import PostgresStore

async def main():
    async with PostgresStore(sys.argv[1], schema=sys.argv[2]) as store:
        await store.begin_sync(sys.argv[3], "filters")
        print("locked", flush=True)
        time.sleep(120)

asyncio.run(main())
"""


async def test_a_killed_worker_leaves_its_account_unlocked(
    postgres_server: PostgresServer,
) -> None:
    async with fresh(postgres_server, lock_timeout=0) as store:
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _HOLDER, store.dsn, store.schema, ACCOUNT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert holder.stdout is not None
            assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"locked\n"
            with pytest.raises(StoreLockedError):
                await store.begin_sync(ACCOUNT, "filters")
        finally:
            holder.send_signal(signal.SIGKILL)
            await asyncio.wait_for(holder.wait(), 10)
        assert holder.returncode == -signal.SIGKILL
        waiting = PostgresStore(store.dsn, schema=store.schema, lock_timeout=10)
        async with waiting:
            start = await waiting.begin_sync(ACCOUNT, "filters")
            assert start.resumed  # the killed worker's sync is the one that goes on
            await waiting.finish_sync(start.sync_id)


async def test_a_restarted_server_is_reconnected_and_a_stopped_one_is_an_error(
    postgres_server: PostgresServer,
) -> None:
    async with fresh(postgres_server, connect_timeout=2) as store:
        await store.set_meta("clock", "1")
        postgres_server.stop()
        try:
            with pytest.raises(StoreError, match="cannot connect to"):
                await store.meta("clock")
        finally:
            postgres_server.start()
        assert await store.meta("clock") == "1"
        start = await store.begin_sync(ACCOUNT, "filters")
        await store.finish_sync(start.sync_id)


async def test_a_server_lost_mid_sync_is_a_store_error_and_the_next_sync_resumes(
    postgres_server: PostgresServer, client: AsyncConnectSafely, fake: FakeConnectSafely,
) -> None:
    pages = 0

    def clock() -> float:  # called as each page is about to be recorded
        nonlocal pages
        pages += 1
        if pages == 3:
            postgres_server.stop()
        return 1.8e9

    async with fresh(postgres_server, connect_timeout=2) as store:
        try:
            with pytest.raises(StoreError, match=r"postgresql://postgres@127\.0\.0\.1"):
                await client.sync_visitors(store, account_id=ACCOUNT, count=10, clock=clock)
        finally:
            postgres_server.start()
        done = await client.sync_visitors(store, account_id=ACCOUNT, count=10)
        assert done.ok
        assert done.resumed
        served = [r["entityUrn"] for r in fake.visitors(ACCOUNT) if r.get("entityUrn")]
        assert [s.visitor.entity_urn for s in done.new] == served  # each once, none lost


async def test_a_statement_that_hangs_times_out_and_the_store_goes_on(
    postgres_server: PostgresServer,
) -> None:
    async with fresh(postgres_server, command_timeout=0.5) as store:
        blocker = await asyncpg.connect(store.dsn, server_settings={"search_path": store.schema})
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE meta IN ACCESS EXCLUSIVE MODE")
                with pytest.raises(StoreError, match="timed out"):
                    await store.meta("clock")
        finally:
            await blocker.close()
        assert await store.meta("clock", "none") == "none"


async def hold_write_lock(store: PostgresStore, account_id: str) -> asyncpg.Connection:
    """Another worker in the middle of a page of ``account_id``: its write lock, held until
    the returned connection's transaction ends."""
    writer = await asyncpg.connect(store.dsn)
    await writer.execute("BEGIN")
    await writer.execute("SELECT pg_advisory_xact_lock($1, $2)",
                         lock_key(f"connectsafely:{store.schema}"), lock_key(account_id))
    return writer


async def test_a_write_that_waits_too_long_for_its_turn_leaves_the_connection_usable(
    postgres_server: PostgresServer,
) -> None:
    async with fresh(postgres_server, command_timeout=0.5) as store:
        writer = await hold_write_lock(store, ACCOUNT)
        try:
            with pytest.raises(StoreError, match="timed out"):
                await store.begin_sync(ACCOUNT, "")
        finally:
            await writer.close()
        start = await store.begin_sync(ACCOUNT, "")  # no stuck state
        assert not start.resumed
        [(syncs,)] = await fetch(postgres_server, store.schema, "SELECT count(*) FROM syncs")
        assert syncs == 1  # the write that timed out left nothing


async def test_page_commits_of_different_accounts_never_wait_for_each_other(
    postgres_server: PostgresServer,
) -> None:
    async with fresh(postgres_server, command_timeout=2) as store:
        start = await store.begin_sync(OTHER_ACCOUNT, "")
        writer = await hold_write_lock(store, ACCOUNT)  # a page of ACCOUNT, not committed
        try:
            began = asyncio.get_running_loop().time()
            outcome = await store.record_page(
                start.sync_id, OTHER_ACCOUNT,
                [Visitor(entity_urn=f"urn:li:fsd_profile:{i}", name="A") for i in range(50)],
                received_at=1.8e9, checkpoint=lambda: None)
            assert outcome.new == 50
            assert asyncio.get_running_loop().time() - began < 1
            assert (await store.meta("x")) is None  # reads never wait
            await store.set_meta("x", "1")  # nor writes of rows no account owns
        finally:
            await writer.close()
        result = await store.finish_sync(start.sync_id)
        assert result.new_count == 50


async def test_a_loop_over_every_accounts_events_and_one_over_an_accounts_take_turns(
    postgres_server: PostgresServer, client: AsyncConnectSafely, fake: FakeConnectSafely,
) -> None:
    fake.set_visitors(OTHER_ACCOUNT, visitors_at(1.8e9, account_id=OTHER_ACCOUNT))
    async with fresh(postgres_server, lock_timeout=0) as one, \
            PostgresStore(one.dsn, schema=one.schema, lock_timeout=0) as two:
        await client.sync_visitors_many(one, [ACCOUNT, OTHER_ACCOUNT], count=50)
        async with contextlib.aclosing(one.events()) as everyone:
            await anext(everyone)  # a loop over every account's events, mid-way
            with pytest.raises(StoreLockedError, match=r"account \w+'s events are being"):
                await anext(two.events(account_id=ACCOUNT))
        async with contextlib.aclosing(two.events(account_id=ACCOUNT)) as mine, \
                contextlib.aclosing(two.events(account_id=OTHER_ACCOUNT)) as theirs:
            await anext(mine)
            await anext(theirs)  # two accounts never exclude each other
            with pytest.raises(StoreLockedError, match="the store's events are being"):
                await anext(one.events())
            with pytest.raises(StoreLockedError):
                await anext(one.events(account_id=ACCOUNT))
        handled = [event async for event in one.events()]  # free again
        assert {e.visitor.account_id for e in handled} == {ACCOUNT, OTHER_ACCOUNT}
