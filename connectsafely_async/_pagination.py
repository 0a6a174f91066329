"""The one pagination loop behind every walk: pages and visitors are two views of it.

What each request asks for is decided by ``plan_request``, a pure function, because the
service's ``maxVisitors`` is ambiguous. It may be read three ways:

1. a cap on this one response;
2. a total cap counted from offset 0;
3. as 2, with ``hasMore`` computed against the cap rather than against all visitors.

Sending ``count = size`` and ``maxVisitors = start + size + 1`` is right under all three:
the page is ``size`` long under each reading (``count`` is the tighter cap), and under the
third the cap sits one past the page, so ``hasMore`` still says whether anything follows.

Offsets drift: the list is newest first, so a view that arrives during a walk shifts every
row down by one and the next page starts with the row the last page ended on. The loop drops
such repeats: a named visitor is recognised by ``entity_urn`` (remembered in bounded memory);
an anonymous one only inside an overlap at a page boundary that a named visitor proves (two
anonymous viewers can look exactly alike). A row shifted the other way (a viewer who drops
out of the range during the walk) can be missed: offset paging cannot see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import operator
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from collections.abc import Set as AbstractSet
from operator import length_hint
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from ._checkpoint import RECENT_URNS, TAIL_ROWS, Checkpoint, filters_fingerprint
from ._errors import ConnectSafelyError, PaginationStalledError
from ._models import Visitor, VisitorsPage
from ._protocol import VisitorsQuery

__all__ = [
    "Walk",
    "WalkSpec",
    "WalkStats",
    "boundary_overlap",
    "identity",
    "plan_request",
    "resumed_overlap",
    "row_digest",
]

logger = logging.getLogger("connectsafely_async")

T = TypeVar("T")

#: Named visitors a walk remembers to drop repeats: at least half this many, at most all
#: (about 100 bytes each), whatever the length of the walk.
SEEN_LIMIT = 10_000
#: Times in a row the service may answer with the very page it just sent (while ``hasMore``
#: says there is more) before the walk gives up on a server that ignores ``start``.
STALL_LIMIT = 3


@attrs.define
class WalkStats:
    """What one walk did. Counters only grow; read them any time, during or after the walk."""

    requests: int = 0
    pages: int = 0
    visitors: int = 0
    retries: int = 0
    duplicates_dropped: int = 0
    rate_limit_wait_seconds: float = 0.0


Fetch = Callable[[VisitorsQuery, WalkStats], Awaitable[VisitorsPage]]


@attrs.frozen(kw_only=True)
class WalkSpec:
    """The filters and limits of one walk, checked by the client."""

    count: int
    max_visitors: int | None
    account_id: str | None
    time_range: str | None
    prefetch: int = 0
    fingerprint: str = attrs.field(init=False)

    @fingerprint.default
    def _fingerprint(self) -> str:
        return filters_fingerprint(self.account_id, self.time_range)


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


def identity(visitor: Visitor) -> tuple[str | None, ...]:
    """What identifies a row from one request to the next: every field but the relative
    ``viewed_at`` text, which ticks over ("Viewed 59m ago", "Viewed 1h ago") between requests.
    """
    v = visitor
    return (v.entity_urn, v.public_identifier, v.name, v.headline, v.profile_picture,
            v.connection_degree, v.profile_url)


def row_digest(visitor: Visitor) -> str:
    """A short, stable digest of ``identity(visitor)``, as a checkpoint carries it."""
    import hashlib  # here, not at module level: a few ms of import time

    return hashlib.blake2b(repr(identity(visitor)).encode(), digest_size=6).hexdigest()


def boundary_overlap(
    previous: Sequence[Visitor],
    page: Sequence[Visitor],
    *,
    previous_urns: AbstractSet[str] | None = None,
) -> int:
    """How many rows at the head of ``page`` repeat the tail of ``previous``.

    An overlap counts only when it holds a named visitor: identical anonymous rows alone
    prove nothing. A page whose first row is a named visitor absent from ``previous`` (the
    common case) is settled by one set of URNs, without comparing rows.
    """
    if not previous or not page:
        return 0
    urn = page[0].entity_urn
    if urn and urn not in (
        {v.entity_urn for v in previous} if previous_urns is None else previous_urns
    ):
        return 0
    head = page[: len(previous)]
    return _overlap([identity(v) for v in previous], [identity(v) for v in head], head)


def resumed_overlap(tail: Sequence[str], page: Sequence[Visitor]) -> int:
    """``boundary_overlap`` for the first page of a resumed walk, against the digests of the
    rows the walk yielded before it stopped (``Checkpoint.tail``)."""
    if not tail or not page:
        return 0
    head = page[: len(tail)]
    return _overlap(list(tail), [row_digest(v) for v in head], head)


def _overlap(previous: list[Any], head: list[Any], rows: Sequence[Visitor]) -> int:
    # The largest k with head[:k] == previous[-k:] and a named visitor among those k rows.
    first = head[0]
    for position in range(len(previous) - 1, -1, -1):
        size = len(previous) - position
        if (
            previous[position] == first
            and size <= len(head)
            and head[:size] == previous[position:]
            and any(not v.is_anonymous for v in rows[:size])
        ):
            return size
    return 0


class _Seen:
    """The entity URNs a walk yielded recently, in bounded memory.

    Two generations of sets: new URNs go into the young one; when it holds ``limit / 2``
    it becomes the old one and the previous old one is dropped. So at least the last
    ``limit / 2`` and at most ``limit`` URNs are remembered, with whole-page set operations
    (no per-URN bookkeeping of an eviction order).
    """

    def __init__(self, limit: int, urns: Iterable[str] = ()) -> None:
        self._young: set[str] = set()
        self._old: set[str] = set()
        self._half = max(1, limit // 2)
        self.extend(urns)

    def isdisjoint(self, urns: set[str]) -> bool:
        return self._young.isdisjoint(urns) and self._old.isdisjoint(urns)

    def add(self, urn: str) -> bool:
        """Remember ``urn``; False when it was already there."""
        if urn in self._young or urn in self._old:
            return False
        self.extend((urn,))
        return True

    def extend(self, urns: Iterable[str]) -> None:
        """Remember URNs known to be new (a whole page at once on the common path)."""
        self._young.update(urns)
        if len(self._young) >= self._half:
            self._old, self._young = self._young, set()


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
    urns = (*(carried.recent_urns if carried else ()), *_urns(recent[-RECENT_URNS:]))
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
    seen = _Seen(SEEN_LIMIT, resumed.recent_urns if resumed else ())
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
            urns = _PageUrns.of(received)
            previous, previous_urns = received, urns.unique
            kept, offsets = _fresh(received, overlap, start, seen, urns)
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


_ENTITY_URN: Final = operator.attrgetter("entity_urn")


@attrs.frozen
class _PageUrns:
    """A page's entity URNs, read once (in C): the set of the named ones, and whether any
    named visitor appears twice on the page."""

    unique: set[str]
    distinct: bool

    @classmethod
    def of(cls, received: Sequence[Visitor]) -> _PageUrns:
        urns: list[str | None] = list(map(_ENTITY_URN, received))
        unique = set(urns)
        unique.discard(None)
        unique.discard("")  # an empty URN names nobody: two of them are two viewers
        named = cast("set[str]", unique)
        return cls(named, len(named) == len(urns) - urns.count(None) - urns.count(""))


def _fresh(
    received: tuple[Visitor, ...], overlap: int, start: int, seen: _Seen, urns: _PageUrns
) -> tuple[tuple[Visitor, ...], Sequence[int]]:
    """The visitors of a page not yielded before, and their offsets."""
    if not overlap and urns.distinct and seen.isdisjoint(urns.unique):
        # The common case: nothing repeats. Whole-page set operations, no per-row work.
        seen.extend(urns.unique)
        return received, range(start, start + len(received))
    kept: list[Visitor] = []
    offsets: list[int] = []
    for index in range(overlap, len(received)):
        urn = received[index].entity_urn
        if urn and not seen.add(urn):
            continue
        kept.append(received[index])
        offsets.append(start + index)
    return tuple(kept), offsets


def _urns(visitors: Sequence[Visitor]) -> list[str]:
    return [v.entity_urn for v in visitors if v.entity_urn]


async def _drain(tasks: list[asyncio.Task[VisitorsPage]]) -> None:
    """Wait for cancelled look-ahead requests to finish, so no connection outlives the walk."""
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, ConnectSafelyError):
            await task
