"""The walk: its plan, its loop, its state and its checkpoint, side by side.

A walk is planned once, at the client's call (``plan_walk``: every argument checked into a
frozen ``WalkSpec``), then started as a view (``walk_pages``, ``walk_visitors``) over the
client's ``Sender`` with the call's ``CallOptions`` (``page_fetch``). Every page goes out
through ``fetch_page``, so nothing of a walk calls back into the client: its arguments go
client -> walk -> protocol -> sender.
Pages and visitors are two views of the one loop (``_batches``).

What each request asks for is decided by ``plan_request``, a pure function, because the
service's ``maxVisitors`` is ambiguous. It may be read three ways:

1. a cap on this one response;
2. a total cap counted from offset 0;
3. as 2, with ``hasMore`` computed against the cap rather than against all visitors.

Sending ``count = size`` and ``maxVisitors = start + size + 1`` is right under all three:
the page is ``size`` long under each reading (``count`` is the tighter cap), and under the
third the cap sits one past the page, so ``hasMore`` still says whether anything follows.

Offsets drift while a walk runs; the rows it brings back are recognised and dropped by
``_duplicates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Sequence,
)
from collections.abc import Set as AbstractSet
from operator import length_hint
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ._arguments import (
    check_non_negative_int,
    check_optional_text,
    check_positive_int,
    check_prefetch,
)
from ._checkpoint import RECENT_URNS, TAIL_ROWS, Checkpoint, filters_fingerprint
from ._duplicates import (
    SEEN_LIMIT,
    PageUrns,
    SeenUrns,
    boundary_overlap,
    fresh_rows,
    named_urns,
    resumed_overlap,
    row_digest,
)
from ._errors import ConnectSafelyError, PaginationStalledError
from ._models import VisitorsPage
from ._protocol.visitors import VisitorsQuery, build_visitors_request, parse_visitors_page
from ._walk_stats import WalkStats

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._call_options import CallOptions
    from ._models import RateLimit, Visitor
    from ._sender import Sender

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "Fetch",
    "Walk",
    "WalkSpec",
    "WalkStats",
    "account_walks",
    "fetch_page",
    "page_fetch",
    "plan_request",
    "plan_walk",
    "resumable_walk",
    "resumed",
    "walk_pages",
    "walk_visitors",
]

logger = logging.getLogger("connectsafely_async")

T = TypeVar("T")

#: The page size of a walk that names none (and the service's own default).
DEFAULT_PAGE_SIZE = 20
#: Times in a row the service may answer with the very page it just sent (while ``hasMore``
#: says there is more) before the walk gives up on a server that ignores ``start``.
STALL_LIMIT = 3


#: Sends one page's query: ``fetch_page`` bound to a sender and a call's options.
Fetch = Callable[[VisitorsQuery, WalkStats], Awaitable[VisitorsPage]]


@attrs.frozen(kw_only=True)
class WalkSpec:
    """The filters and limits of one walk, checked by ``plan_walk``."""

    count: int
    max_visitors: int | None
    account_id: str | None
    time_range: str | None
    prefetch: int = 0
    fingerprint: str = attrs.field(init=False)

    @fingerprint.default
    def _fingerprint(self) -> str:
        return filters_fingerprint(self.account_id, self.time_range)


# -- the plan --------------------------------------------------------------------------------


def plan_walk(
    *,
    account: str | None,
    max_visitors: int | None,
    count: int | None,
    start: int,
    time_range: str | None,
    resume: Checkpoint | None,
    prefetch: int,
) -> WalkSpec:
    """The checked spec of one walk; ``resume`` must match its filters.

    Args:
        account: the resolved account (``None``: the workspace's default).
        max_visitors: the most visitors the whole walk yields (``None``: all of them).
        count: the page size (``None``: 20, or the checkpoint's when resuming).
        start: the offset to begin at (``0`` when resuming).
        time_range: the service's time range filter (``None``: its default).
        resume: the checkpoint to continue from.
        prefetch: pages to request ahead.

    Returns:
        The frozen ``WalkSpec`` the walk reads.

    Raises:
        TypeError, ValueError: a bad argument, ``start`` with ``resume``, or a checkpoint
            made by a walk with other filters.
    """
    if resume is not None and not isinstance(resume, Checkpoint):
        msg = f"resume must be a Checkpoint, got {type(resume).__name__}"
        raise TypeError(msg)
    spec = WalkSpec(
        count=DEFAULT_PAGE_SIZE if count is None else check_positive_int("count", count),
        max_visitors=None if max_visitors is None
        else check_positive_int("max_visitors", max_visitors),
        account_id=account,
        time_range=check_optional_text("time_range", time_range),
        prefetch=check_prefetch(prefetch),
    )
    if check_non_negative_int("start", start) and resume is not None:
        msg = "pass either start= or resume=, not both: the checkpoint knows where to start"
        raise ValueError(msg)
    if resume is None:
        return spec
    return resumed(spec, resume, keep_count=count is not None)


def resumed(spec: WalkSpec, resume: Checkpoint, *, keep_count: bool) -> WalkSpec:
    """``spec`` continued from ``resume``: with its page size unless ``keep_count``.

    Raises:
        ValueError: the checkpoint was made by a walk with another account or time range.
    """
    if resume.filters != spec.fingerprint:
        msg = (
            "this checkpoint was made by a walk with another account or time range; "
            "resume with the same account_id and time_range"
        )
        raise ValueError(msg)
    return spec if keep_count else attrs.evolve(spec, count=resume.page_size)


def plan_request(
    *,
    start: int,
    count: int,
    remaining: int | None,
    account_id: str | None,
    time_range: str | None,
) -> VisitorsQuery:
    """The query for the next page: never more than ``remaining`` visitors."""
    size = count if remaining is None else min(count, remaining)
    return VisitorsQuery(
        account_id=account_id,
        time_range=time_range,
        count=size,
        start=start,
        max_visitors=start + size + 1,
    )


# -- starting walks --------------------------------------------------------------------------


async def fetch_page(
    sender: Sender,
    options: CallOptions,
    query: VisitorsQuery,
    stats: WalkStats | None = None,
) -> VisitorsPage:
    """One visitors page, through the one door: the request of every walk.

    Args:
        sender: the client's sender.
        options: the call's timeout and retry settings.
        query: the page to ask for.
        stats: the walk's counters (requests, retries, rate-limit waits).

    Returns:
        The parsed page.

    Raises:
        ConnectSafelyError: what the sender raised, after retries.
    """
    # The default account is an account too: its reads count under the key "".
    return await sender.send(
        build_visitors_request(query), parse_visitors_page, account=query.account_id or "",
        options=options, stats=stats, rate_limit_of=_page_rate_limit,
    )


def page_fetch(sender: Sender, options: CallOptions) -> Fetch:
    """``fetch_page`` bound to ``sender`` and ``options``: what a walk fetches its pages by."""
    return functools.partial(fetch_page, sender, options)


def account_walks(
    sender: Sender,
    options: CallOptions,
    *,
    max_visitors: int | None,
    count: int | None,
    time_range: str | None,
    prefetch: int,
) -> Callable[[str], Walk[VisitorsPage]]:
    """The page walk of each account of a many-account run, planned once.

    Planned once, so a bad argument fails the call rather than every account; each
    account's walk is the same frozen spec with its own account.

    Raises:
        TypeError, ValueError: as ``plan_walk``.
    """
    spec = plan_walk(account=None, max_visitors=max_visitors, count=count, start=0,
                     time_range=time_range, resume=None, prefetch=prefetch)
    fetch = page_fetch(sender, options)

    def walk(account_id: str) -> Walk[VisitorsPage]:
        return walk_pages(fetch, attrs.evolve(spec, account_id=account_id))

    return walk


def resumable_walk(
    fetch: Fetch, spec: WalkSpec, *, keep_count: bool
) -> Callable[[Checkpoint | None], Walk[VisitorsPage]]:
    """A sync's walk: ``spec``'s pages, from a stored checkpoint when there is one.

    Args:
        keep_count: keep ``spec``'s page size rather than the checkpoint's.
    """

    def walk_from(resume: Checkpoint | None) -> Walk[VisitorsPage]:
        if resume is None:
            return walk_pages(fetch, spec)
        return walk_pages(fetch, resumed(spec, resume, keep_count=keep_count), resume=resume)

    return walk_from


def _page_rate_limit(page: VisitorsPage) -> RateLimit | None:
    return page.rate_limit


# -- where a walk stands ---------------------------------------------------------------------


@attrs.frozen
class _Batch:
    """A deduplicated page as handed to a view, and where to resume after each visitor."""

    page: VisitorsPage
    offsets: Sequence[int]  # the offset of each kept visitor
    end: int  # where the walk resumes once the whole batch is consumed

    def resume_after(self, consumed: int) -> int:
        # After the i-th kept visitor the walk resumes at the next kept one's offset: the
        # rows between them were repeats, dropped on purpose.
        return self.offsets[consumed] if consumed < len(self.offsets) else self.end


@attrs.define
class _State:
    """Where the consumer of a walk stands.

    The visitors view hands out a batch through one iterator (``rows``) and reads how far it
    got from the iterator itself, so no Python code runs per visitor; everything else is
    settled per batch, and the checkpoint is built only when asked for.
    """

    spec: WalkSpec
    next_start: int
    yielded: int
    resumed_from: Checkpoint | None = None
    recent: deque[Visitor] = attrs.Factory(lambda: deque(maxlen=RECENT_URNS))
    stats: WalkStats = attrs.Factory(WalkStats)
    batch: _Batch | None = None
    rows: Iterator[Visitor] | None = None  # None: the whole batch is consumed

    @property
    def consumed(self) -> int:
        """How many visitors of the current batch were handed out."""
        batch = self.batch
        if batch is None:
            return 0
        total = len(batch.page.visitors)
        # A tuple iterator knows how many items it still holds: exact, also when exhausted.
        return total if self.rows is None else total - length_hint(self.rows)

    @classmethod
    def begin(cls, spec: WalkSpec, start: int, resume: Checkpoint | None) -> _State:
        if resume is None:
            return cls(spec, start, 0)
        return cls(spec, resume.next_start, resume.yielded, resume)

    def settle(self) -> None:
        """Fold the consumed part of the current batch into the position."""
        batch, consumed = self.batch, self.consumed
        if batch is None:
            return
        self.next_start = batch.resume_after(consumed) if consumed else self.next_start
        self.yielded += consumed
        visitors = batch.page.visitors
        self.recent.extend(visitors if consumed == len(visitors) else visitors[:consumed])
        if consumed == len(visitors):
            self.next_start = batch.end
        self.batch, self.rows = None, None

    def checkpoint(self) -> Checkpoint:
        batch, consumed = self.batch, self.consumed
        next_start, yielded, recent = self.next_start, self.yielded, list(self.recent)
        if batch is not None and consumed:
            next_start = batch.resume_after(consumed)
            yielded += consumed
            recent += batch.page.visitors[:consumed]
        return _checkpoint(self.spec, next_start, yielded, recent, self.resumed_from)

    def settled_checkpoint(self) -> Callable[[], Checkpoint]:
        """The checkpoint of the settled position, built on first call.

        A page of the pages view carries this instead of a checkpoint: the row digests cost
        about as much as structuring the page, and most pages' checkpoints are never read.
        """
        assert self.batch is None, "settle() first"
        return _LazyCheckpoint(
            self.spec, self.next_start, self.yielded, tuple(self.recent), self.resumed_from
        )


class _LazyCheckpoint:
    """A settled position's checkpoint, built on first call; pickles like the page it is on."""

    __slots__ = ("_checkpoint", "_position")

    def __init__(self, *position: Any) -> None:
        self._position = position
        self._checkpoint: Checkpoint | None = None

    def __call__(self) -> Checkpoint:
        if self._checkpoint is None:
            self._checkpoint = _checkpoint(*self._position)
        return self._checkpoint


def _checkpoint(
    spec: WalkSpec,
    next_start: int,
    yielded: int,
    recent: Sequence[Visitor],
    carried: Checkpoint | None,
) -> Checkpoint:
    """The checkpoint after ``recent`` (the last visitors yielded, oldest first)."""
    urns = (*(carried.recent_urns if carried else ()), *named_urns(recent[-RECENT_URNS:]))
    tail = (*(carried.tail if carried else ()), *map(row_digest, recent[-TAIL_ROWS:]))
    return Checkpoint(
        next_start=next_start,
        page_size=spec.count,
        yielded=yielded,
        filters=spec.fingerprint,
        recent_urns=urns[-RECENT_URNS:],
        tail=tail[-TAIL_ROWS:],
    )


class Walk(AsyncIterator[T], Generic[T]):
    """An async generator over a walk, plus its ``stats`` and a resumable ``checkpoint``.

    Use it like any async generator (``async for``, ``anext``, ``asend``, ``athrow``,
    ``aclose``; it is a ``collections.abc.AsyncGenerator``). ``checkpoint`` is the position
    after the last item handed out: give it to ``resume=`` to continue.
    """

    def __init__(self, source: AsyncGenerator[T, None], state: _State) -> None:
        self._source = source
        self._state = state

    @property
    def stats(self) -> WalkStats:
        return self._state.stats

    @property
    def checkpoint(self) -> Checkpoint:
        return self._state.checkpoint()

    def __aiter__(self) -> AsyncIterator[T]:
        # ``async for`` steps the generator itself: no Python-level call per visitor.
        return self._source

    def __anext__(self) -> Coroutine[Any, Any, T]:
        return self._source.__anext__()

    def asend(self, value: None) -> Coroutine[Any, Any, T]:
        return self._source.asend(value)

    def athrow(self, error: BaseException) -> Coroutine[Any, Any, T]:
        return self._source.athrow(error)

    def aclose(self) -> Coroutine[Any, Any, None]:
        return self._source.aclose()

    def __repr__(self) -> str:
        return f"<Walk {self._state.stats!r} at {self._state.checkpoint()!r}>"


# -- the loop --------------------------------------------------------------------------------


def walk_pages(
    fetch: Fetch, spec: WalkSpec, *, start: int = 0, resume: Checkpoint | None = None
) -> Walk[VisitorsPage]:
    """The pages view: each page deduplicated, cut to ``max_visitors``, with its checkpoint."""
    state = _State.begin(spec, start, resume)

    async def pages() -> AsyncGenerator[VisitorsPage, None]:
        batches = _batches(fetch, state)
        try:
            async for batch in batches:
                state.batch, state.rows = batch, None
                state.settle()
                yield attrs.evolve(batch.page, checkpoint_factory=state.settled_checkpoint())
        finally:
            await batches.aclose()

    return Walk(pages(), state)


def walk_visitors(
    fetch: Fetch, spec: WalkSpec, *, start: int = 0, resume: Checkpoint | None = None
) -> Walk[Visitor]:
    """The visitors view of the same loop; the checkpoint moves with every visitor."""
    state = _State.begin(spec, start, resume)

    async def visitors() -> AsyncGenerator[Visitor, None]:
        batches = _batches(fetch, state)
        try:
            async for batch in batches:
                rows = iter(batch.page.visitors)
                state.batch, state.rows = batch, rows
                for visitor in rows:
                    yield visitor
                state.settle()
        finally:
            await batches.aclose()

    return Walk(visitors(), state)


async def _batches(fetch: Fetch, state: _State) -> AsyncGenerator[_Batch, None]:
    """Fetch pages from ``state.next_start`` until ``hasMore`` is false, a page is empty, or
    ``max_visitors`` visitors were handed out; ``spec.prefetch`` pages are requested ahead.

    ``start`` advances by what each page actually held, since pages can be short while
    ``hasMore`` is true. An error that ends the walk carries the checkpoint to resume from.
    """
    spec, stats = state.spec, state.stats
    start, taken = state.next_start, state.yielded
    # A resumed walk remembers what it yielded: URNs for the seen-set, row digests for the
    # overlap at the head of its first page.
    resumed = state.resumed_from
    seen = SeenUrns(SEEN_LIMIT, resumed.recent_urns if resumed else ())
    tail = resumed.tail if resumed else ()
    previous: tuple[Visitor, ...] = ()
    previous_urns: AbstractSet[str] = frozenset()
    repeats = 0
    ahead: deque[tuple[VisitorsQuery, asyncio.Task[VisitorsPage]]] = deque()

    def plan(at: int, handed_out: int) -> VisitorsQuery | None:
        remaining = None if spec.max_visitors is None else spec.max_visitors - handed_out
        if remaining is not None and remaining <= 0:
            return None
        return plan_request(
            start=at, count=spec.count, remaining=remaining,
            account_id=spec.account_id, time_range=spec.time_range,
        )

    def send_ahead(query: VisitorsQuery) -> bool:
        """Queue the pages after ``query`` (offsets are predictable while pages come back
        full); True when a request was added."""
        added = False
        while len(ahead) < spec.prefetch:
            last = ahead[-1][0] if ahead else query
            assert last.start is not None  # plan() always sets both
            assert last.count is not None
            expected = taken + sum(q.count or 0 for q, _ in ahead) + (query.count or 0)
            following = plan(last.start + last.count, expected)
            if following is None:
                break
            ahead.append((following, asyncio.ensure_future(fetch(following, stats))))
            added = True
        return added

    def cancel_ahead() -> list[asyncio.Task[VisitorsPage]]:
        tasks = [task for _, task in ahead]
        for task in tasks:
            task.cancel()
        ahead.clear()
        return tasks

    query = plan(start, taken)
    try:
        while query is not None:
            try:
                if ahead:
                    _, task = ahead.popleft()
                    if send_ahead(query) and task.done():
                        # A new task starts only when the loop runs, and awaiting a finished
                        # one does not run it: without this step the request would go out
                        # only after the consumer is done with this page (a client slower
                        # than its server would get no overlap at all).
                        await asyncio.sleep(0)
                    page = await task
                else:
                    pending = fetch(query, stats)
                    added = send_ahead(query)
                    page = await pending
                    if added:
                        await asyncio.sleep(0)  # as above: `pending` may not have suspended
            except ConnectSafelyError as error:
                error.checkpoint = state.checkpoint()
                raise
            stats.pages += 1
            received = page.visitors
            if tail:
                overlap, tail = resumed_overlap(tail, received), ()
            else:
                overlap = boundary_overlap(previous, received, previous_urns=previous_urns)
            repeats = repeats + 1 if received and received == previous else 0
            urns = PageUrns.of(received)
            previous, previous_urns = received, urns.unique
            kept, offsets = fresh_rows(received, overlap, start, seen, urns)
            stats.duplicates_dropped += len(received) - len(kept)
            end = start + len(received)
            room = None if spec.max_visitors is None else spec.max_visitors - taken
            if room is not None and len(kept) > room:
                kept, offsets = kept[:room], offsets[:room]
                end = offsets[-1] + 1 if offsets else start
            taken += len(kept)
            stats.visitors += len(kept)
            if len(received) != query.count:
                await _drain(cancel_ahead())  # their offsets assumed a full page
            start = start + len(received)
            if kept is not received:
                page = attrs.evolve(page, visitors=kept)
            yield _Batch(page, offsets, end)
            if not page.has_more or not received:
                if page.has_more:
                    logger.warning(
                        "the service sent an empty page with hasMore=true at start=%d; "
                        "stopping", start,
                    )
                return
            if repeats >= STALL_LIMIT:
                msg = (
                    f"the service sent the same page {repeats + 1} times in a row while "
                    f"saying hasMore (last start={start - len(received)}); stopping"
                )
                stall = PaginationStalledError(msg)
                stall.checkpoint = state.checkpoint()
                raise stall
            query = ahead[0][0] if ahead else plan(start, taken)
    finally:
        await _drain(cancel_ahead())




async def _drain(tasks: list[asyncio.Task[VisitorsPage]]) -> None:
    """Wait for cancelled look-ahead requests to finish, so no connection outlives the walk."""
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, ConnectSafelyError):
            await task
