"""One LinkedIn account, one history, whichever way it is named: the workspace's default
(no id), the id, a client's default (``account_id=``, ``with_options``, the environment).
Over real HTTP into each store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectsafely_async import AsyncConnectSafely
from connectsafely_async.testing import FakeConnectSafely

from .conftest import ACCOUNT
from .stores import KINDS, Store, opened, rows

NOW = 1.8e9


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(request.param, request, tmp_path) as store:
        yield store


async def test_the_default_account_and_its_id_are_one_history(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    assert fake.default_account_id == ACCOUNT
    by_default = await client.sync_visitors(store, clock=lambda: NOW)
    assert by_default.account_id == ACCOUNT  # the service named it
    assert by_default.new
    by_id = await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: NOW)
    assert (by_id.new, by_id.returning) == ((), ())
    by_option = await client.with_options(account_id=ACCOUNT).sync_visitors(
        store, clock=lambda: NOW)
    assert (by_option.new, by_option.returning) == ((), ())
    again = await client.sync_visitors(store, clock=lambda: NOW)
    assert (again.new, again.returning) == ((), ())
    events = await store.pending_events(limit=1000)
    assert len(events) == len(by_default.new)  # each person announced once
    # Whichever name a reader uses, it reads the one history.
    assert await store.pending_events(account_id="", limit=1000) == events
    assert await store.pending_events(account_id=ACCOUNT, limit=1000) == events
    assert await store.history(account_id="") == await store.history(account_id=ACCOUNT)
    assert {account for (account,) in await rows(store, "SELECT account_id FROM visitors")} == {
        ACCOUNT}


async def test_the_id_first_then_the_default(
    client: AsyncConnectSafely, store: Store
) -> None:
    first = await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: NOW)
    assert first.new
    second = await client.sync_visitors(store, clock=lambda: NOW)
    assert (second.new, second.returning) == ((), ())
    assert second.account_id == ACCOUNT


async def test_a_history_an_older_sdk_kept_under_the_bare_default_is_merged_once(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    # An older SDK kept the default account's history under "" and the same account's, by
    # its id, apart: the same people twice, some events still pending in both.
    await client.sync_visitors(store, clock=lambda: NOW)
    for table in ("visitors", "aliases", "views", "events", "anonymous", "syncs"):
        await _execute(store, f"UPDATE {table} SET account_id = '' WHERE account_id = "  # noqa: S608
                       f"'{ACCOUNT}'")
    await _execute(store, "DELETE FROM account_names")
    twice = await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: NOW)
    assert twice.new  # the old bug: everyone again under the id
    pending_before = {e.visitor.key for e in await store.pending_events(limit=1000)}
    # The next sync of the default learns it is the id, and the two histories become one.
    merged = await client.sync_visitors(store, clock=lambda: NOW)
    assert (merged.new, merged.returning) == ((), ())
    events = await store.pending_events(limit=1000)
    assert len(events) == len({e.visitor.key for e in events})  # nobody announced twice
    assert {e.visitor.key for e in events} == pending_before
    assert {account for (account,) in await rows(store, "SELECT account_id FROM visitors")} == {
        ACCOUNT}
    named = [r for r in fake.visitors(ACCOUNT) if r.get("entityUrn")]
    [(visitors,)] = await rows(store, "SELECT count(*) FROM visitors")
    assert visitors == len(named)


async def _execute(store: Store, sql: str) -> None:
    # Through the backend's own driver, as an older SDK's writes would have been.
    from connectsafely_async.history import SQLiteStore

    if isinstance(store, SQLiteStore):
        import sqlite3

        with sqlite3.connect(store.path) as conn:
            conn.execute(sql)
        return
    import asyncpg

    conn = await asyncpg.connect(store.dsn, server_settings={"search_path": store.schema})
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
