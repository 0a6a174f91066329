"""``BlockingStore``: a store's methods without ``await``, for sync scripts and cron jobs.

What a plain ``with`` gives::

    with ConnectSafely() as client, SQLiteStore("visitors.db") as store:
        client.sync_visitors(store)
        for event in store.events():   # acknowledged when the loop moves on
            act_on(event)

Every method is the async store's own, run to completion on a private event loop (one daemon
thread, started by the first call, stopped by ``close()``), derived one line each as
``ConnectSafely``'s are from ``AsyncConnectSafely`` (``_twins``): same arguments, results and
errors, async iterators as plain iterators.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from .._closing import Closing
from .._loop_thread import LoopThread
from .._twins import blocking, iterating
from ._errors import StoreError
from ._threaded import ThreadedStore

__all__ = ["BLOCKING_NAMES", "BlockingStore", "StoreBase"]

Store = TypeVar("Store", bound="StoreBase")


class BlockingStore(Closing, Generic[Store]):
    """An open store seen from synchronous code: ``with SQLiteStore(...) as store``.

    ``store.store`` is the async store itself; a ``ConnectSafely`` or an
    ``AsyncConnectSafely`` takes either one.
    """

    def __init__(self, store: Store) -> None:
        self._async = store
        self._runner = LoopThread()

    @property
    def store(self) -> Store:
        """The async store this one runs."""
        return self._async

    def close(self) -> None:
        """Close the store, then stop this view's thread. Idempotent."""
        try:
            self._async._close()
        finally:
            self._runner.close()

    def __enter__(self) -> BlockingStore[Store]:
        return self

    def __repr__(self) -> str:
        return f"BlockingStore({self._async!r})"

    begin_sync = blocking(ThreadedStore.begin_sync)
    record_page = blocking(ThreadedStore.record_page)
    finish_sync = blocking(ThreadedStore.finish_sync)
    account_for = blocking(ThreadedStore.account_for)
    pending_events = blocking(ThreadedStore.pending_events)
    ack = blocking(ThreadedStore.ack)
    events = iterating(ThreadedStore.events)
    history = blocking(ThreadedStore.history)
    records = blocking(ThreadedStore.records)
    to_pandas = blocking(ThreadedStore.to_pandas)
    meta = blocking(ThreadedStore.meta)
    set_meta = blocking(ThreadedStore.set_meta)


#: Async store methods whose blocking twin has another name (the lifecycle's).
BLOCKING_NAMES = {"aclose": "close", "open": "__enter__"}


class StoreBase(ThreadedStore):
    """Every store: a ``ThreadedStore`` that ``async with`` opens for async code and a plain
    ``with`` opens for synchronous code (giving its ``BlockingStore``)."""

    _view: BlockingStore[StoreBase] | None = None

    def __enter__(self: Store) -> BlockingStore[Store]:
        # The store's work runs on its own thread whichever loop awaits it, so opening and
        # closing need no event loop of the caller's.
        if self._executor is not None:
            msg = "the store is already open"
            raise StoreError(msg)
        self._connect(self._start())
        view = BlockingStore(self)
        self._view = view  # type: ignore[assignment]
        return view

    def __exit__(self, *_exc: object) -> None:
        view, self._view = self._view, None
        if view is not None:
            view.close()
        else:
            self._close()
