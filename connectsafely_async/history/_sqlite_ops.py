"""The SQLite store's work, run on its own thread: open and migrate, one transaction per
page, finish a sync, acknowledge events, settings.

Every function here takes the connection first and blocks; ``SQLiteStore`` calls them on
its dedicated thread and maps ``sqlite3`` errors to ``StoreError``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, TypeVar

from .._models import Visitor
from ._errors import SchemaVersionError, StoreError, StoreLockedError
from ._models import SyncResult
from ._queries import read_sync
from ._schema import MIGRATIONS, SCHEMA_VERSION
from ._store import PageOutcome, SyncStart, observe
from ._writes import apply_page

__all__ = [
    "LOCK_POLL",
    "ack",
    "begin_sync",
    "connect",
    "finish_sync",
    "get_meta",
    "is_locked",
    "seconds",
    "set_meta",
    "write_page",
]

T = TypeVar("T")

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
LOCK_POLL: Final = 0.05

def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    _check_path(path)
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        msg = f"cannot open {path}: {exc}"
        raise StoreError(msg) from None
    try:
        # Read the version before anything writes: a newer file must stay byte for byte.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            msg = (f"{path} has schema version {version}, newer than this SDK's "
                   f"({SCHEMA_VERSION}); upgrade connectsafely-async to use it")
            raise SchemaVersionError(msg)
        # Switching to WAL takes an exclusive lock and does not always wait for it: another
        # process opening the same new file at the same moment is retried, not fatal.
        deadline = time.monotonic() + busy_timeout
        _when_unlocked(lambda: conn.execute("PRAGMA journal_mode=WAL"), deadline)
        conn.execute("PRAGMA synchronous=NORMAL")
        _when_unlocked(lambda: _migrate(conn, version), deadline)
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_locked(exc):
            msg = f"{path} is locked by another process ({exc}); try again later"
            raise StoreLockedError(msg) from None
        msg = f"{path} is not a usable SQLite database: {exc}"
        raise StoreError(msg) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        msg = f"{path} is not a usable SQLite database: {exc}"
        raise StoreError(msg) from None
    except BaseException:
        conn.close()
        raise
    return conn


def is_locked(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _when_unlocked(action: Callable[[], object], deadline: float) -> None:
    while True:
        try:
            action()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(LOCK_POLL)
            continue
        return


def _check_path(path: Path) -> None:
    if path.is_dir():
        msg = f"{path} is a directory; give the path of a database file"
        raise StoreError(msg)
    if not path.parent.is_dir():
        msg = f"cannot create {path}: the directory {path.parent} does not exist"
        raise StoreError(msg)
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            msg = f"{path} is not readable and writable by this user"
            raise StoreError(msg)
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            msg = f"{path} exists and is not an SQLite database; refusing to touch it"
            raise StoreError(msg)
    # WAL needs its -wal and -shm files beside the database.
    if not os.access(path.parent, os.W_OK):
        msg = f"the directory {path.parent} is not writable (SQLite keeps its journal there)"
        raise StoreError(msg)


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Run the missing migrations, each with its version bump in one transaction.

    The version is read again inside each transaction: another process may have migrated
    the file between our first look and our turn at the write lock.
    """
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _transaction(conn: sqlite3.Connection, fn: Callable[[], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def begin_sync(conn: sqlite3.Connection, account_id: str, filters: str) -> SyncStart:
    def begin() -> SyncStart:
        row = conn.execute(
            "SELECT id, checkpoint FROM syncs WHERE account_id = ? AND filters = ? "
            "AND finished IS NULL ORDER BY id DESC LIMIT 1", (account_id, filters),
        ).fetchone()
        if row is not None:
            return SyncStart(sync_id=row[0], checkpoint=json.loads(row[1]) if row[1] else None,
                             resumed=True)
        firsts = [conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                  for table in ("views", "events", "anonymous")]
        cursor = conn.execute(
            "INSERT INTO syncs (account_id, filters, started, first_view, first_event, "
            "first_anonymous) VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, filters, time.time(), *firsts),
        )
        assert cursor.lastrowid is not None
        return SyncStart(sync_id=cursor.lastrowid, checkpoint=None)

    return _transaction(conn, begin)


def write_page(
    conn: sqlite3.Connection,
    sync_id: int,
    account_id: str,
    visitors: Sequence[Visitor],
    received_at: float,
    checkpoint: Callable[[], dict[str, Any] | None],
) -> PageOutcome:
    observations = observe(visitors, received_at)
    position = checkpoint()
    encoded = None if position is None else json.dumps(position, separators=(",", ":"))
    return _transaction(
        conn, lambda: apply_page(conn, sync_id, account_id, observations, received_at, encoded)
    )


def finish_sync(
    conn: sqlite3.Connection, sync_id: int, error: str | None, collect: bool
) -> SyncResult:
    def finish() -> None:
        if error is None:
            conn.execute("UPDATE syncs SET finished = ?, error = NULL, checkpoint = NULL "
                         "WHERE id = ?", (time.time(), sync_id))
        else:
            conn.execute("UPDATE syncs SET error = ? WHERE id = ?", (error, sync_id))

    _transaction(conn, finish)
    return read_sync(conn, sync_id, collect=collect)


def ack(conn: sqlite3.Connection, event_ids: Sequence[int]) -> int:
    if not event_ids:
        return 0
    now = time.time()
    return _transaction(conn, lambda: sum(
        conn.execute("UPDATE events SET acked = ? WHERE id = ? AND acked IS NULL",
                     (now, event_id)).rowcount
        for event_id in event_ids
    ))


def get_meta(conn: sqlite3.Connection, key: str, default: str | None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    _transaction(conn, lambda: conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)))


def seconds(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        msg = f"since/until must be datetimes, got {type(moment).__name__}"
        raise TypeError(msg)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
