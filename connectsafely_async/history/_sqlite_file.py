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

from ._errors import (
    ForeignDatabaseError,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from ._schema import MIGRATIONS, SCHEMA_VERSION
from ._text import key_number, storable_key

__all__ = ["LOCK_POLL", "connect", "file_identity", "is_locked"]

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
LOCK_POLL: Final = 0.05


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    try:
        _check_path(path)
    except OSError as exc:  # a folder this user may not enter, a file gone meanwhile
        msg = f"cannot use {path}: {exc.strerror or exc}; check the path and its permissions"
        raise StoreUnavailableError(msg) from None
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        msg = f"cannot open {path}: {exc}; check the path and its permissions"
        raise StoreUnavailableError(msg) from None
    try:
        # Read before anything writes: a newer file, or another application's, stays byte
        # for byte as it was (not even switched to WAL).
        version, tables = _read_state(conn)
        _check_ours(path, version, tables)
        # Switching to WAL takes an exclusive lock and does not always wait for it: another
        # process opening the same new file at the same moment is retried, not fatal.
        deadline = time.monotonic() + busy_timeout
        _when_unlocked(lambda: conn.execute("PRAGMA journal_mode=WAL"), deadline)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.create_function("connectsafely_storable_key", 1, storable_key, deterministic=True)
        conn.create_function("connectsafely_key_number", 1, key_number, deterministic=True)
        _when_unlocked(lambda: _migrate(conn, version), deadline)
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_locked(exc):
            msg = f"{path} is locked by another process ({exc}); try again later"
            raise StoreLockedError(msg) from None
        msg = f"{path} is not a usable SQLite database ({exc}); give another file"
        raise StoreError(msg) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        msg = f"{path} is not a usable SQLite database ({exc}); give another file"
        raise StoreError(msg) from None
    except BaseException:
        conn.close()
        raise
    return conn


def file_identity(path: Path) -> tuple[int, int] | None:
    """The device and inode of ``path`` (``None``: there is no such file), to notice a
    database file deleted or replaced while it is open."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _read_state(conn: sqlite3.Connection) -> tuple[int, int]:
    """The schema version and the number of schema objects, read in one snapshot: another
    process may be creating our tables at this very moment, and a version read before its
    commit with the tables read after it would look like another application's file."""
    conn.execute("BEGIN")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    finally:
        conn.execute("COMMIT")
    return int(version), int(tables)


def _check_ours(path: Path, version: int, tables: int) -> None:
    """Refuse a file from a newer SDK, or one that is not a visitor history at all."""
    if version > SCHEMA_VERSION:
        msg = (f"{path} has schema version {version}, newer than this SDK's "
               f"({SCHEMA_VERSION}); upgrade connectsafely-async to use it")
        raise SchemaVersionError(msg)
    if version < 0:
        msg = (f"{path} is another application's database (schema version {version}); "
               "give another file")
        raise ForeignDatabaseError(msg)
    if version == 0 and tables:
        # Our first migration sets the version in the transaction that creates the tables:
        # a file with tables and no version is someone else's.
        msg = f"{path} is another application's SQLite database; give another file"
        raise ForeignDatabaseError(msg)


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
        raise StoreUnavailableError(msg)
    if not path.parent.is_dir():
        msg = f"cannot create {path}: the folder {path.parent} does not exist; create it first"
        raise StoreUnavailableError(msg)
    if not os.access(path.parent, os.X_OK):
        msg = f"cannot use {path}: this user may not enter the folder {path.parent}"
        raise StoreUnavailableError(msg)
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            msg = f"{path} is not readable and writable by this user; check its permissions"
            raise StoreUnavailableError(msg)
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            msg = f"{path} exists and is not an SQLite database; refusing to touch it"
            raise ForeignDatabaseError(msg)
    # WAL needs its -wal and -shm files beside the database.
    if not os.access(path.parent, os.W_OK):
        msg = (f"the folder {path.parent} is not writable (SQLite keeps its journal there); "
               "check its permissions")
        raise StoreUnavailableError(msg)


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
                for statement in MIGRATIONS[version].split(";"):  # ours: no ";" in text
                    if statement.strip():
                        conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
