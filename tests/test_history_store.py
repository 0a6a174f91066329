"""Opening an SQLiteStore: schema versions and migrations, and paths that cannot hold one."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from connectsafely_async import ConnectSafelyError
from connectsafely_async.history import (
    SCHEMA_VERSION,
    SchemaVersionError,
    SQLiteStore,
    StoreError,
    VisitorStore,
)
from connectsafely_async.history._schema import MIGRATIONS


def _exists(path: str) -> bool:
    return Path(path).exists()


def _truncate(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(path.read_bytes()[:120])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    async with SQLiteStore(path) as store:
        assert isinstance(store, VisitorStore)
        assert "open" in repr(store)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


async def test_an_older_schema_migrates_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO views (id, account_id, key, first_observed, last_observed, "
                 "sync_id) VALUES (1, 'a', 'urn:li:x:1', 0, 0, 1)")
    conn.execute("INSERT INTO visitors (account_id, key, name, first_seen, last_seen, view_id) "
                 "VALUES ('a', 'urn:li:x:1', 'Ana', 0, 0, 1)")
    conn.commit()
    conn.close()
    async with SQLiteStore(path) as store:
        (record,) = await store.history()
    assert record["name"] == "Ana"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(visitors)")}
        assert "navigation_url" in columns  # added by migration 2
    finally:
        conn.close()


async def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(SchemaVersionError, match="newer than this SDK") as caught:
        await SQLiteStore(path).open()
    assert isinstance(caught.value, ConnectSafelyError)
    assert _digest(path) == before
    assert not _exists(f"{path}-wal")


async def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        await SQLiteStore(tmp_path).open()


async def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n")
    before = _digest(path)
    with pytest.raises(StoreError, match="not an SQLite database"):
        await SQLiteStore(path).open()
    assert _digest(path) == before


async def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await SQLiteStore(tmp_path / "nowhere" / "x.db").open()


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="root can write read-only files")
async def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    async with SQLiteStore(path):
        pass
    path.chmod(0o444)
    try:
        with pytest.raises(StoreError, match="not readable and writable"):
            await SQLiteStore(path).open()
    finally:
        path.chmod(0o644)


async def test_a_read_only_file_is_refused_even_for_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root, permissions do not stop writes; the check reads access() like any user's.
    path = tmp_path / "ro.db"
    async with SQLiteStore(path):
        pass
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == path
                        else real_access(p, mode))
    with pytest.raises(StoreError, match="not readable and writable"):
        await SQLiteStore(path).open()


async def test_a_truncated_database_gives_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    async with SQLiteStore(path):
        pass
    _truncate(path)
    with pytest.raises(StoreError):
        await SQLiteStore(path).open()


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db")
    with pytest.raises(StoreError, match="not open"):
        await store.history()
    async with store:
        await store.set_meta("k", "v")
        assert await store.meta("k") == "v"
        assert await store.meta("missing", "default") == "default"
    await store.aclose()  # twice is fine
    with pytest.raises(StoreError, match="not open"):
        await store.pending_events()


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"path": 5}, TypeError),
    ({"path": "x.db", "lock_timeout": -1}, ValueError),
    ({"path": "x.db", "busy_timeout": True}, ValueError),
])
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        SQLiteStore(**kwargs)  # type: ignore[arg-type]
