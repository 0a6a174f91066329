"""``SQLiteStore``: the embedded visitor store, one file, stdlib ``sqlite3``.

Every statement runs on one dedicated thread that owns the connection, so the event loop
never waits on the disk. The file is in WAL mode (readers, e.g. ``connectsafely history``,
never block a sync) with ``synchronous=NORMAL``: a committed page survives a killed process;
a power cut may lose the last pages but never corrupts the file, and the next sync fetches
them again. Each page is one ``BEGIN IMMEDIATE`` transaction holding its rows and the walk's
checkpoint, so a sync killed at any point resumes after the last whole page it recorded.

Two processes syncing into one file take turns: a sync holds an exclusive advisory lock on
``<file>.lock`` while it runs, and a second one waits up to ``lock_timeout`` seconds, then
raises ``StoreLockedError`` without writing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .._arguments import check_bool
from .._models import Visitor
from . import _sqlite_ops as ops
from ._errors import StoreError, StoreLockedError
from ._models import SyncResult, VisitorEvent
from ._queries import history_records, read_events
from ._store import PageOutcome, SyncStart

__all__ = ["SQLiteStore"]

T = TypeVar("T")


class SQLiteStore:
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
        self._lock_timeout = float(lock_timeout)
        self._busy_timeout = float(busy_timeout)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._syncing = 0

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        state = "open" if self._conn is not None else "closed"
        return f"SQLiteStore({str(self._path)!r}, {state})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> SQLiteStore:
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> SQLiteStore:
        # The store's work runs on its own thread whichever loop awaits it, so opening and
        # closing need no event loop: a sync script waits for that thread directly.
        if self._executor is not None:
            msg = "the store is already open"
            raise StoreError(msg)
        self._connect(self._start())
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()

    async def open(self) -> None:
        """Open the file, creating or migrating its schema.

        Raises:
            StoreError: the path cannot hold a database (see the class).
            SchemaVersionError: the file's schema is newer than this SDK's.
        """
        if self._executor is None:  # set before the await: a concurrent open() starts no 2nd
            await asyncio.to_thread(self._connect, self._start())

    async def aclose(self) -> None:
        """Close the connection and release the sync lock. Safe to call more than once."""
        await asyncio.to_thread(self._close)

    def _start(self) -> ThreadPoolExecutor:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="connectsafely-store")
        return self._executor

    def _connect(self, executor: ThreadPoolExecutor) -> None:
        """Open the file on the store's thread; blocks until done, stops the thread on failure."""
        try:
            self._conn = executor.submit(ops.connect, self._path, self._busy_timeout).result()
        except BaseException:
            self._executor = None
            executor.shutdown(wait=False)
            raise

    def _close(self) -> None:
        """Close the connection on the store's thread, release the lock, stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        with contextlib.suppress(sqlite3.Error):
            if conn is not None:
                executor.submit(conn.close).result()
        self._release_lock()
        executor.shutdown(wait=True)

    # -- syncs -------------------------------------------------------------------------------

    async def begin_sync(self, account_id: str, filters: str) -> SyncStart:
        """Open a sync of ``account_id``, continuing an interrupted one with the same filters.

        Raises:
            StoreLockedError: another process kept the store for ``lock_timeout`` seconds.
        """
        await self._acquire_lock()
        self._syncing += 1
        try:
            return await self._run(ops.begin_sync, self._connection(), account_id, filters)
        except BaseException:
            self._end_syncing()
            raise

    async def record_page(
        self,
        sync_id: int,
        account_id: str,
        visitors: Sequence[Visitor],
        *,
        received_at: float,
        checkpoint: Callable[[], dict[str, Any] | None],
    ) -> PageOutcome:
        """Record one page's rows and the checkpoint after it, in one transaction.

        Identity keys, intervals and the checkpoint are computed on the store's thread too,
        while the event loop fetches the next page.
        """
        return await self._run(
            ops.write_page, self._connection(), sync_id, account_id, visitors, received_at,
            checkpoint,
        )

    async def finish_sync(
        self, sync_id: int, *, error: str | None = None, collect: bool = True
    ) -> SyncResult:
        """Close a sync; with ``error`` it stays open, and the next sync resumes it.

        Returns:
            The whole sync's result (earlier interrupted runs included); with
            ``collect=False`` only the counts, not the visitors.
        """
        try:
            return await self._run(
                ops.finish_sync, self._connection(), sync_id, error, check_bool("collect", collect)
            )
        finally:
            self._end_syncing()

    # -- events ------------------------------------------------------------------------------

    async def pending_events(
        self, *, account_id: str | None = None, after: int = 0, limit: int = 100
    ) -> list[VisitorEvent]:
        """Up to ``limit`` "new visitor" events not yet acknowledged, oldest first.

        Args:
            account_id: only this account's (``None``: every account's).
            after: only events with a larger id (paging through them).
            limit: the most events returned.
        """
        return await self._run(read_events, self._connection(), account_id, after, limit)

    async def ack(self, *event_ids: int) -> int:
        """Mark events handled: they are never delivered again. Idempotent.

        Returns:
            How many of them were still pending.
        """
        for event_id in event_ids:
            if isinstance(event_id, bool) or not isinstance(event_id, int):
                msg = f"event ids are ints (VisitorEvent.id), got {type(event_id).__name__}"
                raise TypeError(msg)
        return await self._run(ops.ack, self._connection(), event_ids)

    async def events(
        self, *, account_id: str | None = None, batch: int = 100
    ) -> AsyncIterator[VisitorEvent]:
        """Every pending event, oldest first, acknowledging each as the consumer moves on.

        An event is acknowledged when the next one is asked for (or the loop ends
        normally), never before: a consumer that crashes, raises or ``break``s while
        handling an event gets that event again from the next ``events()``.
        """
        after = 0
        while True:
            chunk = await self.pending_events(account_id=account_id, after=after, limit=batch)
            if not chunk:
                return
            for event in chunk:
                yield event
                # Reached only when the consumer asked for the next event: it is done.
                await self.ack(event.id)
                after = event.id

    # -- reading -----------------------------------------------------------------------------

    async def history(
        self,
        *,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_anonymous: bool = True,
    ) -> list[dict[str, Any]]:
        """Every recorded view as a flat record, newest estimate first.

        Args:
            account_id: only this account's views.
            since, until: only views whose estimated time lies in ``[since, until)``
                (aware datetimes; naive ones are read as UTC).
            include_anonymous: include the anonymous sightings (``is_anonymous`` true).

        Returns:
            JSON-ready dicts: the visitor's fields, ``viewed_after`` / ``viewed_before`` /
            ``estimated_viewed_at`` (ISO-8601 estimates), observation counts.
        """
        return await self._run(
            history_records, self._connection(), account_id, ops.seconds(since), ops.seconds(until),
            check_bool("include_anonymous", include_anonymous),
        )

    async def records(self, **filters: Any) -> list[dict[str, Any]]:
        """``history(**filters)``: the notebook spelling, for ``pandas.DataFrame(records)``."""
        return await self.history(**filters)

    async def to_pandas(self, **filters: Any) -> Any:
        """``history(**filters)`` as a ``pandas.DataFrame`` with datetime columns.

        Raises:
            ImportError: pandas is not installed (``pip install 'connectsafely-async[pandas]'``).
        """
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            msg = ("to_pandas() needs pandas: pip install 'connectsafely-async[pandas]' "
                   "(or use records(), plain dicts)")
            raise ImportError(msg) from None
        frame = pd.DataFrame.from_records(await self.history(**filters))
        for column in ("viewed_after", "viewed_before", "estimated_viewed_at",
                       "first_observed_at", "last_observed_at"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame

    async def meta(self, key: str, default: str | None = None) -> str | None:
        """A value stored under ``key`` in the store's own settings table."""
        return await self._run(ops.get_meta, self._connection(), key, default)

    async def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (e.g. the demo's clock)."""
        await self._run(ops.set_meta, self._connection(), key, value)

    # -- plumbing ----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            msg = "the store is not open: use 'async with SQLiteStore(path) as store'"
            raise StoreError(msg)
        return self._conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            msg = "the store is not open: use 'async with SQLiteStore(path) as store'"
            raise StoreError(msg)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.OperationalError as exc:
            if ops.is_locked(exc):
                msg = f"{self._path}: the database is locked by another process ({exc})"
                raise StoreLockedError(msg) from None
            msg = f"{self._path}: {exc}"
            raise StoreError(msg) from None
        except sqlite3.Error as exc:
            msg = f"{self._path}: {exc}"
            raise StoreError(msg) from None

    async def _acquire_lock(self) -> None:
        if self._lock_fd is not None:
            return
        try:
            import fcntl
        except ImportError:  # not POSIX: SQLite's own locking still keeps the file whole
            return
        lock_path = f"{self._path}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            msg = f"cannot create the sync lock {lock_path}: {exc.strerror}"
            raise StoreError(msg) from None
        deadline = time.monotonic() + self._lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    msg = (f"{self._path} is being synced by another process (waited "
                           f"{self._lock_timeout:g}s); try again when it has finished")
                    raise StoreLockedError(msg) from None
                await asyncio.sleep(ops.LOCK_POLL)
                continue
            break
        if self._lock_fd is not None:  # another task of ours got there while we slept
            os.close(fd)
            return
        self._lock_fd = fd

    def _end_syncing(self) -> None:
        self._syncing -= 1
        if self._syncing == 0:
            self._release_lock()

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock
