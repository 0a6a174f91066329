"""The sync runner: one walk of an account's visitors, recorded page by page in a store.

Like ``_many``, it takes a walk callable, never the client: ``walk_from(checkpoint)``
starts the page walk (from the beginning when ``None``). The store says whether an
interrupted sync of the same account and filters is open; if so, the walk resumes from the
checkpoint the store committed with the last page it recorded, so no page is recorded twice
and none is skipped.

A sync never pins an account to one page: a walk stopped by a crash or a transient error
(no answer, a 5xx, a 429) stays open and the next sync resumes it, but only within
``RESUME_WITHIN`` seconds of its last recorded page, judged by the sync's own clock; a walk
stopped by an answer that would come again (a page that does not fit, a 4xx) is closed with
its reason, and the next sync starts from the top (the history's dedupe makes that safe).

Writes are pipelined one page deep: while the store's thread records page ``n`` (rows and
checkpoint, one transaction), the walk already fetches page ``n + 1``. Pages are recorded
strictly in order, and a page counts as done only once its transaction committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .._checkpoint import Checkpoint
from .._converters import make_converter
from .._errors import ConnectSafelyError
from .._models import VisitorsPage
from .._pagination import Walk
from .._retry import transient
from ._blocking_store import BlockingStore
from ._models import SyncResult
from ._store import RESUME_WITHIN, VisitorStore

__all__ = [
    "RESUME_WITHIN", "Clock", "Redact", "WalkFrom", "check_store", "sync_account",
    "sync_accounts",
]

#: Starts an account's page walk, resuming from a checkpoint when one is given.
WalkFrom = Callable[[Checkpoint | None], Walk[VisitorsPage]]
#: Seconds since the epoch "now", when a sync should not use the pages' receive times.
Clock = Callable[[], float]
#: Scrubs a secret (the API key) out of a text before the store keeps it.
Redact = Callable[[str], str]

_converter = make_converter()
logger = logging.getLogger("connectsafely_async")


async def sync_account(
    walk_from: WalkFrom,
    store: VisitorStore,
    *,
    account_id: str,
    filters: str,
    clock: Clock | None = None,
    collect: bool = True,
    resume_within: float | None = RESUME_WITHIN,
    redact: Redact | None = None,
    meta: Mapping[str, str] | None = None,
) -> SyncResult:
    """Walk one account and record every page in ``store``.

    A failure of the walk (``ConnectSafelyError``: 403, retries exhausted...) ends the sync
    early: what was recorded stays, and the result carries the error; the sync stays open
    for the next one to resume only when the error was transient (see the module). A failure
    of the store (``StoreError``) or a cancellation propagates; the store is consistent
    either way, at the last committed page, and the sync stays resumable.

    Args:
        walk_from: starts the account's page walk (see the module).
        store: where the pages go.
        account_id: the store's name for the account (``""``: the workspace default).
        filters: the walk's filters fingerprint (``Checkpoint.filters``).
        clock: the time a page counts as received (``None``: when the SDK received it).
        collect: put the new/returning/anonymous visitors in the result (``False``: counts
            only; they stay readable in the store).
        resume_within: resume an interrupted sync only if its last page was recorded this
            many seconds ago or less, by ``clock`` (``None``: however old).
        redact: scrubs each error text before the store keeps it.
        meta: settings the store writes in the transaction that closes the sync (see
            ``VisitorStore.finish_sync``).
    """
    scrub = redact or _unchanged
    now = _clock_time(clock) if clock is not None else time.time()
    # The default account is an account: its sync runs under the id the store last learned
    # for it, and learns it (again) from the service's first answer.
    default = account_id == ""
    if default:
        account_id = await store.account_for("")
    start = await store.begin_sync(account_id, filters, now=now, resume_within=resume_within,
                                   collect=collect)
    resume = None
    if start.checkpoint is not None:
        resume = _converter.structure(start.checkpoint, Checkpoint)
    pages = walk_from(resume)
    try:
        error = await _record_pages(pages, store, start.sync_id, account_id, clock,
                                    learn=default)
    except BaseException as exc:
        # The store failed or we were cancelled: leave the sync open (the next one resumes
        # it) and give its lock back, or this process would keep the account until closed.
        with contextlib.suppress(Exception):
            await store.finish_sync(start.sync_id, error=f"interrupted ({type(exc).__name__})",
                                    collect=False)
        raise
    result = await store.finish_sync(
        start.sync_id, error=None if error is None else scrub(str(error)),
        resumable=error is not None and transient(error), collect=collect,
        **({"meta": meta} if meta else {}),  # (a store of the protocol before meta= too)
    )
    return attrs.evolve(result, resumed=start.resumed, error=error,
                        stats=pages.stats)


async def _record_pages(
    pages: Walk[VisitorsPage], store: VisitorStore, sync_id: int, account_id: str,
    clock: Clock | None, *, learn: bool,
) -> ConnectSafelyError | None:
    """Record every page of ``pages`` in order; the walk's error, if it ended on one.

    With ``learn`` (a sync of the default account), each page tells the store which account
    the default is; after the first that does, the sync is that account's.
    """
    error: ConnectSafelyError | None = None
    writing: asyncio.Future[Any] | None = None
    try:
        while True:
            try:
                page = await anext(pages)
            except StopAsyncIteration:
                break
            except ConnectSafelyError as exc:
                error = exc
                break
            received = _received_at(page, clock)
            if writing is not None:
                await writing  # strictly in order: page n commits before page n + 1 starts
            default_is = page.account_id if learn and page.account_id else None
            writing = asyncio.ensure_future(store.record_page(
                sync_id, account_id, page.visitors, received_at=received,
                checkpoint=functools.partial(_encoded_checkpoint, page), default_is=default_is,
            ))
            account_id = default_is or account_id
        if writing is not None:
            await writing
            writing = None
    finally:
        if writing is not None:
            # Leaving on a cancellation or an error: let the write in flight finish (its
            # transaction completes on the store's thread anyway), without hiding ours.
            await asyncio.gather(writing, return_exceptions=True)
        await pages.aclose()
    return error


async def sync_accounts(
    walk_for: Callable[[str], WalkFrom],
    store: VisitorStore,
    accounts: Iterable[tuple[str, str]],
    *,
    concurrency: int,
    clock: Clock | None = None,
    collect: bool = True,
    resume_within: float | None = RESUME_WITHIN,
    redact: Redact | None = None,
) -> dict[str, SyncResult]:
    """Sync many accounts into one store, at most ``concurrency`` at once.

    Nothing raised inside one account's sync (its walk, its store writes, an unexpected
    error) stops the others: it is that account's ``SyncResult.error``. Only a
    cancellation ends them all.

    Args:
        walk_for: the walk callable of an account id.
        accounts: ``(account_id, filters)`` pairs, each account once.
        clock, collect, resume_within, redact: as for ``sync_account``.

    Returns:
        Account id -> its ``SyncResult``, in input order.
    """
    pairs = list(accounts)
    gate = asyncio.Semaphore(concurrency)
    scrub = redact or _unchanged

    async def one(account_id: str, filters: str) -> SyncResult:
        async with gate:
            try:
                return await sync_account(
                    walk_for(account_id), store, account_id=account_id, filters=filters,
                    clock=clock, collect=collect, resume_within=resume_within, redact=redact)
            except ConnectSafelyError as exc:
                return SyncResult(account_id=account_id, error=exc)
            except Exception as exc:  # a bug must not cost the other accounts their sync
                logger.exception("the sync of account %s failed unexpectedly", account_id)
                failure = ConnectSafelyError(
                    scrub(f"unexpected {type(exc).__name__} while syncing: {exc}"))
                return SyncResult(account_id=account_id, error=failure)

    tasks = [asyncio.ensure_future(one(a, f)) for a, f in pairs]
    try:
        results = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {account_id: result for (account_id, _), result in zip(pairs, results, strict=True)}


def check_store(value: Any) -> VisitorStore:
    """The store to sync into: ``value`` itself, or the async store behind a
    ``BlockingStore`` (what a plain ``with`` gives).

    Raises:
        TypeError: ``value`` is not a store.
    """
    if isinstance(value, BlockingStore):
        value = value.store
    if not isinstance(value, VisitorStore):
        msg = f"store must be a VisitorStore (e.g. SQLiteStore), got {type(value).__name__}"
        raise TypeError(msg)
    return value


def _unchanged(text: str) -> str:
    return text


def _encoded_checkpoint(page: VisitorsPage) -> dict[str, Any] | None:
    # The page's checkpoint is a snapshot of the walk after it: safe to build later, on the
    # store's thread.
    checkpoint = page.checkpoint
    return None if checkpoint is None else _converter.unstructure(checkpoint)


def _clock_time(clock: Clock) -> float:
    """``clock()``, which must give finite seconds since the epoch: anything else is the
    caller's mistake, said before it reaches a request or the store."""
    value = clock()
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        msg = f"clock() must return seconds since the epoch, got {type(value).__name__}"
        raise TypeError(msg) from None
    if not math.isfinite(seconds):
        msg = f"clock() must return finite seconds since the epoch, got {seconds!r}"
        raise ValueError(msg)
    return seconds


def _received_at(page: VisitorsPage, clock: Clock | None) -> float:
    if clock is not None:
        return _clock_time(clock)
    if page.fetched_at is not None:
        return page.fetched_at.timestamp()
    return time.time()
