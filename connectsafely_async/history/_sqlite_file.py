"""Opening an SQLite history file: refuse what is not ours, WAL mode, migrations.

Runs on the store's thread. The operations on an open file are the shared ``_operations``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from ._errors import SchemaVersionError, StoreError, StoreLockedError
from ._schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["LOCK_POLL", "connect", "is_locked"]

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
