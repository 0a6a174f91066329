"""Opening an SQLite history refuses, untouched and with a StoreError that says what to do,
every file that is not one of ours; a file deleted while open is noticed; an older schema
migrates without announcing anyone again."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from connectsafely_async import AsyncConnectSafely
from connectsafely_async.history import (
    MAX_KEY_BYTES,
    SCHEMA_VERSION,
    ForeignDatabaseError,
    SQLiteStore,
    StoreUnavailableError,
    storable_key,
)
from connectsafely_async.history._schema import MIGRATIONS
from connectsafely_async.testing import FakeConnectSafely, make_visitors

from .conftest import ACCOUNT


def _state(path: Path) -> tuple[bytes, list[str]]:
    return path.read_bytes(), sorted(p.name for p in path.parent.iterdir())


async def test_a_negative_schema_version_is_someone_elses(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = -5")
    before = _state(path)
    with pytest.raises(ForeignDatabaseError, match="another application"):
        await SQLiteStore(path).open()
    assert _state(path) == before


@pytest.mark.parametrize("table", ["notes", "visitors"])
async def test_another_applications_file_is_refused_untouched(tmp_path: Path,
                                                              table: str) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, body TEXT)")
    before = _state(path)
    with pytest.raises(ForeignDatabaseError, match="another application"):
        await SQLiteStore(path).open()
    assert _state(path) == before  # not switched to WAL, no table of ours, no -wal file
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


async def test_a_folder_this_user_may_not_enter_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root may enter any folder, so the folder's search permission is denied the way
    # access() reports it to any other user (as the read-only test does).
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked
                        else real_access(p, mode))
    with pytest.raises(StoreUnavailableError, match="may not enter the folder"):
        await SQLiteStore(locked / "h.db").open()


async def test_a_file_deleted_while_open_is_noticed(
    client: AsyncConnectSafely, tmp_path: Path
) -> None:
    path = tmp_path / "h.db"
    async with SQLiteStore(path) as store:
        first = await client.sync_visitors(store, account_id=ACCOUNT)
        assert first.new
        path.unlink()
        with pytest.raises(StoreUnavailableError, match="deleted or replaced"):
            await client.sync_visitors(store, account_id=ACCOUNT)


async def test_long_keys_of_an_older_file_become_digests_and_nobody_is_new_again(
    fake: FakeConnectSafely, client: AsyncConnectSafely, tmp_path: Path
) -> None:
    long_urn = "urn:li:fsd_profile:" + "x" * (2 * MAX_KEY_BYTES)
    visitor = {**make_visitors(1, account_id=ACCOUNT)[0], "entityUrn": long_urn}
    fake.set_visitors(ACCOUNT, [visitor])
    path = tmp_path / "v2.db"
    # A version-2 file that recorded this visitor under its whole URN, event acknowledged.
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "PRAGMA user_version = 2;")
        conn.execute("INSERT INTO views (id, account_id, key, viewed_at, earliest, latest, "
                     "first_observed, last_observed, first_view, sync_id) "
                     "VALUES (1, ?, ?, ?, 0, 1e12, 0, 0, 1, 1)",
                     (ACCOUNT, long_urn, visitor["viewedAt"]))
        conn.execute("INSERT INTO visitors (account_id, key, entity_urn, name, first_seen, "
                     "last_seen, view_id) VALUES (?, ?, ?, 'Ana', 0, 0, 1)",
                     (ACCOUNT, long_urn, long_urn))
        conn.execute("INSERT INTO events (account_id, key, kind, created, acked, sync_id) "
                     "VALUES (?, ?, 'new_visitor', 0, 0, 1)", (ACCOUNT, long_urn))
    async with SQLiteStore(path) as store:
        result = await client.sync_visitors(store, account_id=ACCOUNT)
        assert (result.new, result.returning, result.unchanged) == ((), (), 1)
        assert await store.pending_events() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT key FROM visitors").fetchall() == [(storable_key(long_urn),)]


def test_processes_opening_a_new_file_at_once_all_get_our_history(tmp_path: Path) -> None:
    import time

    from . import forked

    path = tmp_path / "new.db"
    # Forked with the SDK imported (tests/forked.py), each process is running within
    # milliseconds: all wait for this common start, then open the file at once.
    forked.ready()
    start = time.time() + 0.3
    code = (
        "import asyncio, sys, time\n"
        "from connectsafely_async.history import SQLiteStore\n"
        "time.sleep(max(0, float(sys.argv[2]) - time.time()))\n"
        "async def main():\n"
        "    async with SQLiteStore(sys.argv[1], busy_timeout=20):\n"
        "        pass\n"
        "asyncio.run(main())\n"
    )
    processes = [forked.python("-c", code, str(path), repr(start), stdout=forked.DEVNULL)
                 for _ in range(8)]
    errors = [p.communicate(timeout=60)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, next(e for e in errors if e)
