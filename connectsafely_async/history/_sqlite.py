"""``SQLiteStore``: the embedded visitor store, one file, stdlib ``sqlite3``.

Every statement runs on one dedicated thread that owns the connection, so the event loop
never waits on the disk. The file is in WAL mode (readers, e.g. ``connectsafely history``,
never block a sync) with ``synchronous=NORMAL``: a committed page survives a killed process;
a power cut may lose the last pages but never corrupts the file, and the next sync fetches
them again. Each page is one ``BEGIN IMMEDIATE`` transaction holding its rows and the walk's
checkpoint, so a sync killed at any point resumes after the last whole page it recorded.

Two processes syncing into one file take turns: a sync holds an exclusive advisory lock on
``<file>.lock`` while it runs, and a second one waits up to ``lock_timeout`` seconds, then
raises ``StoreLockedError`` without writing anything. An ``events()`` loop holds
``<file>.events.lock`` the same way, so no event is handed to two processes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import connectsafely_async.history._sqlite_file as sqlite_file

from ._blocking_store import StoreBase
from ._errors import StoreError, StoreLockedError, StoreUnavailableError
from ._sqlite_connection import SQLiteConnection

__all__ = ["SQLiteStore"]


class SQLiteStore(StoreBase):
    """A visitor history in one SQLite file, created on first use.

    Use it as an async context manager::

        async with SQLiteStore("visitors.db") as store:
            result = await client.sync_visitors(store, max_visitors=200)

    or, beside the sync client, as a plain one (its reading methods stay async)::

        with ConnectSafely() as client, SQLiteStore("visitors.db") as store:
            result = client.sync_visitors(store, max_visitors=200)

    Args:
        path: the database file; created (with its schema) when missing.
        lock_timeout: seconds a sync waits for another process's sync of the same file.
        busy_timeout: seconds a statement waits for a lock SQLite holds (a reader's
            checkpoint, a writer from an older SDK).

    Raises:
        TypeError, ValueError: a bad argument (at the call). Opening (``async with`` or
        ``open()``) raises ``StoreError`` for a directory, a read-only or non-SQLite file,
        and ``SchemaVersionError`` for a file from a newer SDK (left untouched).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, lock_timeout: float = 10.0,
        busy_timeout: float = 5.0,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            msg = f"path must be a str or os.PathLike, got {type(path).__name__}"
            raise TypeError(msg)
        self._path = Path(path)
        for name, value in (("lock_timeout", lock_timeout), ("busy_timeout", busy_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                msg = f"{name} must be a non-negative number of seconds, got {value!r}"
                raise ValueError(msg)
        super().__init__()
        self._lock_timeout = float(lock_timeout)
        self._busy_timeout = float(busy_timeout)
        self._held: dict[str, list[Any]] = {}  # lock file -> [descriptor, tasks holding it]
        self._identity: tuple[int, int] | None = None  # the open file's device and inode

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        state = "open" if self._conn is not None else "closed"
        return f"SQLiteStore({str(self._path)!r}, {state})"

    # -- the backend ---------------------------------------------------------------------------

    def _open_connection(self) -> SQLiteConnection:
        conn = sqlite_file.connect(self._path, self._busy_timeout)
        self._identity = sqlite_file.file_identity(self._path)
        return SQLiteConnection(conn)

    def _verify(self) -> None:
        # A file deleted (or replaced) under an open connection still takes writes, into
        # the unlinked inode: the next run would start from an empty history and announce
        # everyone as new again. One stat per operation is a few microseconds.
        if self._identity is not None and sqlite_file.file_identity(self._path) != self._identity:
            msg = (f"{self._path} was deleted or replaced while open; nothing more is written "
                   "to it: open the store again")
            raise StoreUnavailableError(msg)

    def _close_connection(self, conn: SQLiteConnection) -> None:
        conn.close()

    def _store_error(self, exc: Exception) -> StoreError | None:
        if isinstance(exc, sqlite3.OperationalError) and sqlite_file.is_locked(exc):
            msg = f"{self._path}: the database is locked by another process ({exc})"
            return StoreLockedError(msg)
        if isinstance(exc, sqlite3.Error):
            msg = f"{self._path}: {exc}"
            return StoreError(msg)
        return None

    async def _lock(self, kind: str, account_id: str | None) -> None:
        # One file, one sync and one events loop at a time across processes, whatever the
        # account. The syncs of this process share their turn (sync_visitors_many runs
        # several at once); an events loop is alone even here, or two tasks would be handed
        # the same events.
        lock_path = self._lock_path(kind)
        deadline = time.monotonic() + self._lock_timeout
        while kind != "sync" and lock_path in self._held:
            if time.monotonic() >= deadline:
                raise self._locked(str(self._path), kind, None, self._lock_timeout)
            await asyncio.sleep(sqlite_file.LOCK_POLL)
        if lock_path not in self._held:
            fd = await self._flock(lock_path, kind, deadline)
            if lock_path not in self._held:  # no other task of ours got there while we slept
                self._held[lock_path] = [fd, 0]
            elif fd is not None:
                os.close(fd)
        self._held[lock_path][1] += 1

    async def _unlock(self, kind: str, account_id: str | None) -> None:
        held = self._held.get(self._lock_path(kind))
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del self._held[self._lock_path(kind)]
            if held[0] is not None:
                os.close(held[0])  # closing the descriptor releases the flock

    def _lock_path(self, kind: str) -> str:
        return f"{self._path}.lock" if kind == "sync" else f"{self._path}.{kind}.lock"

    def _release_all(self) -> None:
        held, self._held = self._held, {}
        for fd, _count in held.values():
            if fd is not None:
                os.close(fd)

    async def _flock(self, lock_path: str, kind: str, deadline: float) -> int | None:
        """An exclusive flock on ``lock_path``, waited for until ``deadline``."""
        try:
            import fcntl
        except ImportError:  # not POSIX: SQLite's own locking still keeps the file whole
            return None
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            msg = f"cannot create the lock {lock_path}: {exc.strerror}"
            raise StoreError(msg) from None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self._locked(str(self._path), kind, None, self._lock_timeout) from None
                await asyncio.sleep(sqlite_file.LOCK_POLL)
                continue
            return fd
