"""Many accounts at once: a bounded pool of workers, one page walk per account.

The one fan-in of the package: ``fetch_many`` collects every account's visitors,
``iter_many`` streams the pages of every account as they arrive (the client's
``iter_visitors_many`` and the command line's ``visitors --account A --account B`` both
read it). Each account is walked by exactly one worker, with the client's ordinary page walk, so
retries, checkpoints and the client's shared rate limiter apply to it unchanged. A failure
the SDK raises (401, 403, 404, retries exhausted...) ends that account's walk only: it is
recorded in that account's ``AccountVisitors`` and every other account carries on. Anything
else (a bug, a cancellation) stops all workers: no task outlives the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, Final, NamedTuple

import attrs

from ._errors import ConnectSafelyError
from ._models import Visitor, VisitorsPage
from ._pagination import Walk, WalkStats

__all__ = [
    "AccountPage",
    "AccountVisitor",
    "AccountVisitors",
    "PageWalk",
    "check_account_ids",
    "fetch_many",
    "iter_many",
    "iter_many_visitors",
]

#: Starts the page walk of one account.
PageWalk = Callable[[str], Walk[VisitorsPage]]
OnComplete = Callable[["AccountVisitors"], object]

# Pages buffered per worker in the streaming form before workers wait for the consumer.
_PAGES_PER_WORKER: Final = 2


class AccountPage(NamedTuple):
    """One page of one account, as ``iter_many`` streams them."""

    account_id: str
    page: VisitorsPage


class AccountVisitor(NamedTuple):
    """One visitor of one account, as ``iter_visitors_many`` streams them."""

    account_id: str
    visitor: Visitor


@attrs.frozen(kw_only=True)
class AccountVisitors:
    """The outcome of one account's walk.

    Attributes:
        account_id: the account.
        visitors: the visitors fetched, newest first; those fetched before a failure are
            kept. Empty in the streaming form, where they were handed out as they came.
        error: why the walk stopped early, or ``None`` when it completed.
        stats: requests, pages, visitors, retries and seconds waited for rate limits.
        elapsed_seconds: wall time from the first request to the end of the walk.
    """

    account_id: str
    visitors: tuple[Visitor, ...] = ()
    error: ConnectSafelyError | None = None
    stats: WalkStats = attrs.field(factory=WalkStats, eq=False)
    elapsed_seconds: float = attrs.field(default=0.0, eq=False)

    @property
    def ok(self) -> bool:
        """True when the account's walk completed."""
        return self.error is None


def check_account_ids(account_ids: Iterable[str]) -> list[str]:
    """The ids in order, each once.

    Raises:
        TypeError: a single string (it would be walked letter by letter) or a non-string id.
        ValueError: an empty id.
    """
    if isinstance(account_ids, (str, bytes)):
        msg = "account_ids must be a collection of ids, not one string"
        raise TypeError(msg)
    ids: dict[str, None] = {}
    for account_id in account_ids:
        if not isinstance(account_id, str):
            msg = f"every account id must be a string, got {type(account_id).__name__}"
            raise TypeError(msg)
        if not account_id.strip():
            msg = "an account id must not be empty"
            raise ValueError(msg)
        ids[account_id] = None
    return list(ids)


async def _walk_account(
    walk: PageWalk,
    account_id: str,
    *,
    keep: bool,
    emit: Callable[[AccountPage], Awaitable[None]] | None = None,
) -> AccountVisitors:
    began = time.perf_counter()
    visitors: list[Visitor] = []
    error: ConnectSafelyError | None = None
    pages = walk(account_id)
    try:
        async for page in pages:
            if keep:
                visitors.extend(page.visitors)
            if emit is not None:
                await emit(AccountPage(account_id, page))
    except ConnectSafelyError as exc:
        error = exc
    finally:
        await pages.aclose()
    return AccountVisitors(
        account_id=account_id,
        visitors=tuple(visitors),
        error=error,
        stats=pages.stats,
        elapsed_seconds=time.perf_counter() - began,
    )


async def _run_workers(worker: Callable[[], Coroutine[Any, Any, None]], count: int) -> None:
    tasks = [asyncio.create_task(worker()) for _ in range(count)]
    try:
        await asyncio.gather(*tasks)
    finally:
        # A crash or a cancellation of one stops them all, and we wait for them to stop.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fetch_many(
    walk: PageWalk,
    account_ids: list[str],
    *,
    concurrency: int,
    on_complete: OnComplete | None = None,
) -> dict[str, AccountVisitors]:
    """Walk every account with at most ``concurrency`` walks at once; results in input order."""
    results: dict[str, AccountVisitors] = {}
    # One shared iterator: each id is taken by exactly one worker.
    pending: Iterator[str] = iter(account_ids)

    async def worker() -> None:
        for account_id in pending:
            result = await _walk_account(walk, account_id, keep=True)
            results[account_id] = result
            if on_complete is not None:
                on_complete(result)

    await _run_workers(worker, min(concurrency, len(account_ids)))
    return {account_id: results[account_id] for account_id in account_ids}


class _Finished:
    """A worker's last word on the queue (with its exception, if it crashed)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def iter_many(
    walk: PageWalk,
    account_ids: list[str],
    *,
    concurrency: int,
    on_complete: OnComplete | None = None,
) -> AsyncGenerator[AccountPage, None]:
    """Stream ``(account_id, page)`` as pages arrive, from at most ``concurrency`` walks.

    Pages of one account keep their order, accounts interleave. A failed account ends its
    own walk only: its ``AccountVisitors`` (error and stats; ``visitors`` empty, they were
    streamed) goes to ``on_complete``. Workers wait when the consumer falls behind (the
    queue holds a few pages per worker). Closing the generator (``break`` inside
    ``async with aclosing(...)``, ``aclose()``) cancels every worker and waits for them.

    Args:
        walk: starts the page walk of one account.
        account_ids: the accounts, each once.
        concurrency: how many accounts are walked at once.
        on_complete: called with each account's outcome as soon as its walk ends.

    Raises:
        Exception: anything but a ``ConnectSafelyError`` that a walk raised (a bug): it
            stops every worker.
    """
    workers = min(concurrency, len(account_ids))
    queue: asyncio.Queue[AccountPage | _Finished] = asyncio.Queue(
        maxsize=max(1, workers) * _PAGES_PER_WORKER
    )
    pending: Iterator[str] = iter(account_ids)

    async def worker() -> None:
        try:
            for account_id in pending:
                result = await _walk_account(walk, account_id, keep=False, emit=queue.put)
                if on_complete is not None:
                    on_complete(result)
        except Exception as exc:  # handed to the consumer, who re-raises it
            await queue.put(_Finished(exc))
        else:
            await queue.put(_Finished())

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        finished = 0
        while finished < workers:
            item = await queue.get()
            if isinstance(item, _Finished):
                if item.error is not None:
                    raise item.error
                finished += 1
                continue
            yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def iter_many_visitors(
    walk: PageWalk,
    account_ids: list[str],
    *,
    concurrency: int,
    on_complete: OnComplete | None = None,
) -> AsyncGenerator[AccountVisitor, None]:
    """``iter_many``, one ``(account_id, visitor)`` at a time (same arguments)."""
    pages = iter_many(walk, account_ids, concurrency=concurrency, on_complete=on_complete)
    try:
        async for account_id, page in pages:
            for visitor in page.visitors:
                yield AccountVisitor(account_id, visitor)
    finally:
        await pages.aclose()
