"""The store machinery both backends share: one thread that owns the connection.

Every statement of a store runs on its own dedicated thread, so the event loop never waits
on the database, and the same blocking functions (``_operations``, ``_writes``, ``_queries``)
serve every backend through the store's ``Connection`` (``_connection``), which each engine
implements natively (``_sqlite_connection``, ``_pg_connection``). A backend says how to
connect, how to close, which of its errors mean what, and how two processes take turns (at
a sync, at the events).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import connectsafely_async.history._operations as ops

from .._arguments import check_bool, check_meta
from .._models import Visitor
from ._errors import StoreError, StoreLockedError
from ._models import SyncResult, VisitorEvent
from ._queries import HISTORY_FIELDS, history_records, read_events
from ._run import Run
from ._store import RESUME_WITHIN, PageOutcome, SyncStart

__all__ = ["ThreadedStore"]

_HISTORY_TIMES = ("viewed_after", "viewed_before", "estimated_viewed_at", "first_observed_at",
                  "last_observed_at")

T = TypeVar("T")
Store = TypeVar("Store", bound="ThreadedStore")


class ThreadedStore:
    """A ``VisitorStore`` whose work runs on one thread holding one connection.

    Subclasses implement ``_open_connection`` and ``_close_connection`` (called on that
    thread), ``_store_error`` (a driver error in our words) and the locks by which
    processes take turns: ``"sync"`` (a sync of an account, from ``begin_sync`` to
    ``finish_sync``) and ``"events"`` (one ``events()`` loop, so two consumers never both
    handle an event). A lock of a process that dies is released with it.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._conn: Any = None
        self._sync_locks: dict[int, str] = {}  # sync id -> its account
        self._runs: dict[int, Run] = {}  # sync id -> the rows its run keeps for its result

    # -- what a backend provides --------------------------------------------------------------

    def _open_connection(self) -> Any:
        """Connect (and create or migrate the schema); runs on the store's thread."""
        raise NotImplementedError

    def _close_connection(self, conn: Any) -> None:
        """Close ``conn``; runs on the store's thread."""
        raise NotImplementedError

    def _store_error(self, exc: Exception) -> StoreError | None:
        """The ``StoreError`` for a driver's exception, ``None`` for one that is not its."""
        raise NotImplementedError

    async def _lock(self, kind: str, account_id: str | None) -> None:
        """Wait for this process's turn at ``kind`` for ``account_id`` (``None``: every
        account's), at most ``lock_timeout`` seconds; then ``StoreLockedError``."""
        raise NotImplementedError

    async def _unlock(self, kind: str, account_id: str | None) -> None:
        raise NotImplementedError

    def _release_all(self) -> None:
        """Drop every lock (the store is closing); runs after the connection closed."""

    def _verify(self) -> None:
        """Raise ``StoreError`` when the open store can no longer be what it was opened as
        (e.g. its file was deleted); checked before every operation."""

    @staticmethod
    def _locked(where: str, kind: str, account_id: str | None, waited: float) -> StoreLockedError:
        whose = "the store" if account_id is None else f"account {account_id}"
        what = (f"{whose} is being synced" if kind == "sync"
                else f"{whose}'s events are being handled")
        msg = (f"{where}: {what} by another process (waited {waited:g}s); "
               "try again when it has finished")
        return StoreLockedError(msg)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self: Store) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Connect, creating or migrating the schema.

        Raises:
            StoreError: the store cannot be opened (see the class).
            SchemaVersionError: the schema is newer than this SDK's.
        """
        if self._executor is None:  # set before the await: a concurrent open() starts no 2nd
            await asyncio.to_thread(self._connect, self._start())

    async def aclose(self) -> None:
        """Close the connection and release the locks. Safe to call more than once."""
        await asyncio.to_thread(self._close)

    def _start(self) -> ThreadPoolExecutor:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="connectsafely-store")
        return self._executor

    def _connect(self, executor: ThreadPoolExecutor) -> None:
        """Connect on the store's thread; blocks until done, stops the thread on failure."""
        try:
            self._conn = executor.submit(self._open_connection).result()
        except BaseException:
            self._executor = None
            executor.shutdown(wait=False)
            raise

    def _close(self) -> None:
        """Close the connection on the store's thread, release the locks, stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        with contextlib.suppress(Exception):
            if conn is not None:
                executor.submit(self._close_connection, conn).result()
        self._sync_locks.clear()
        self._runs.clear()
        self._release_all()
        executor.shutdown(wait=True)

    # -- syncs -------------------------------------------------------------------------------

    async def begin_sync(
        self, account_id: str, filters: str, *, now: float | None = None,
        resume_within: float | None = RESUME_WITHIN, collect: bool = True,
    ) -> SyncStart:
        """Open a sync of ``account_id``, continuing an interrupted one with the same filters.

        Only a sync whose last page was recorded at most ``resume_within`` seconds before
        ``now`` (the sync's clock; ``None``: the wall clock) is continued; an older one is
        closed, and this one starts from the top. With ``collect``, the visitors each page
        records are kept in memory as it commits, for ``finish_sync(collect=True)``.

        Raises:
            StoreLockedError: another process kept the store for ``lock_timeout`` seconds.
        """
        await self._lock("sync", account_id)
        try:
            begun = await self._run(ops.begin_sync, self._connection(), account_id, filters,
                                    time.time() if now is None else now, resume_within,
                                    check_bool("collect", collect))
        except BaseException:
            await self._unlock("sync", account_id)
            raise
        start = begun.start
        self._sync_locks[start.sync_id] = account_id
        if begun.run is not None:
            self._runs[start.sync_id] = begun.run
        return start

    async def record_page(
        self,
        sync_id: int,
        account_id: str,
        visitors: Sequence[Visitor],
        *,
        received_at: float,
        checkpoint: Callable[[], dict[str, Any] | None],
        default_is: str | None = None,
    ) -> PageOutcome:
        """Record one page's rows and the checkpoint after it, in one transaction.

        Identity keys, intervals and the checkpoint are computed on the store's thread too,
        while the event loop fetches the next page. ``default_is``: in a sync of the
        workspace's default account, the account id the page says it is; the sync (and a
        history kept under the bare default name) moves to it in the same transaction.
        """
        return await self._run(
            ops.write_page, self._connection(), sync_id, account_id, visitors, received_at,
            checkpoint, default_is, self._runs.get(sync_id),
        )

    async def account_for(self, name: str) -> str:
        """The account id a name stands for: for ``""`` (the workspace's default account)
        the id its last sync learned from the service, else the name itself."""
        return await self._run(ops.account_for, self._connection(), name)

    async def finish_sync(
        self, sync_id: int, *, error: str | None = None, resumable: bool = True,
        collect: bool = True, meta: Mapping[str, str] | None = None,
    ) -> SyncResult:
        """Close a sync. With ``error`` it stopped early: it stays open for the next sync to
        resume when ``resumable``, else it is closed with its reason. ``meta``: settings
        (as ``set_meta``) written in the transaction that closes the sync, when it closes.

        Returns:
            The whole sync's result (earlier interrupted runs included); with
            ``collect=False`` only the counts, not the visitors.
        """
        run = self._runs.pop(sync_id, None)
        try:
            return await self._run(
                ops.finish_sync, self._connection(), sync_id, error,
                check_bool("resumable", resumable), check_bool("collect", collect), run,
                check_meta(meta),
            )
        finally:
            locked = self._sync_locks.pop(sync_id, None)
            if locked is not None:
                await self._unlock("sync", locked)

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
        handling an event gets that event again from the next ``events()``. Two loops
        over the same account's events (in two processes, or two tasks) take turns, so
        an event is never handed to both.

        Raises:
            StoreLockedError: another loop kept these events for ``lock_timeout`` seconds.
        """
        if account_id is not None:
            account_id = await self.account_for(account_id)
        await self._lock("events", account_id)
        try:
            after = 0
            while True:
                chunk = await self.pending_events(account_id=account_id, after=after,
                                                  limit=batch)
                if not chunk:
                    return
                for event in chunk:
                    yield event
                    # Reached only when the consumer asked for the next event: it is done.
                    await self.ack(event.id)
                    after = event.id
        finally:
            await self._unlock("events", account_id)

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
            ``estimated_viewed_at`` (ISO-8601 estimates), observation counts, and
            ``visits``: how many views of the visitor the store has (a repeat visitor has 2
            or more; ``None`` for an anonymous sighting).
        """
        return await self._run(
            history_records, self._connection(), account_id, ops.seconds(since), ops.seconds(until),
            check_bool("include_anonymous", include_anonymous),
        )

    async def records(self, /, **filters: Any) -> list[dict[str, Any]]:
        """``history(**filters)``: the notebook spelling, for ``pandas.DataFrame(records)``."""
        return await self.history(**filters)

    async def to_pandas(self, /, **filters: Any) -> Any:
        """``history(**filters)`` as a ``pandas.DataFrame`` with datetime columns.

        Raises:
            ImportError: pandas is not installed (``pip install 'connectsafely-async[pandas]'``).
        """
        from .._frames import pandas_frame  # the one frame builder: out-of-range is NaT

        return pandas_frame(await self.history(**filters), columns=HISTORY_FIELDS,
                            times=_HISTORY_TIMES)

    async def meta(self, key: str, default: str | None = None) -> str | None:
        """A value stored under ``key`` in the store's own settings table."""
        return await self._run(ops.get_meta, self._connection(), key, default)

    async def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (e.g. the demo's clock)."""
        await self._run(ops.set_meta, self._connection(), key, value)

    # -- plumbing ----------------------------------------------------------------------------

    def _connection(self) -> Any:
        if self._conn is None:
            msg = "the store is not open: open it first ('async with store')"
            raise StoreError(msg)
        return self._conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` on the store's thread (the ledger's operations)."""
        return await self._run(fn, self._connection(), *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            msg = "the store is not open: open it first ('async with store')"
            raise StoreError(msg)
        self._verify()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except StoreError:
            raise
        except Exception as exc:
            error = self._store_error(exc)
            if error is None:
                raise
            raise error from None
