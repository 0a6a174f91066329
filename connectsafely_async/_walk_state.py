"""Where a walk stands: its spec, its counters, its position, its checkpoint, and the
``Walk`` users hold.

The loop that moves a walk is ``_pagination._batches``; it hands each deduplicated page to a
view as a ``Batch`` and keeps the position in a ``WalkState``, which builds a ``Checkpoint``
only when one is asked for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Sequence
from operator import length_hint
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ._checkpoint import RECENT_URNS, TAIL_ROWS, Checkpoint, filters_fingerprint
from ._duplicates import named_urns, row_digest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._models import Visitor, VisitorsPage

__all__ = ["Batch", "Walk", "WalkSpec", "WalkState", "WalkStats"]

T = TypeVar("T")


@attrs.define
class WalkStats:
    """What one walk did. Counters only grow; read them any time, during or after the walk."""

    requests: int = 0
    pages: int = 0
    visitors: int = 0
    retries: int = 0
    duplicates_dropped: int = 0
    rate_limit_wait_seconds: float = 0.0


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


@attrs.frozen
class Batch:
    """A deduplicated page as handed to a view, and where to resume after each visitor."""

    page: VisitorsPage
    offsets: Sequence[int]  # the offset of each kept visitor
    end: int  # where the walk resumes once the whole batch is consumed

    def resume_after(self, consumed: int) -> int:
        # After the i-th kept visitor the walk resumes at the next kept one's offset: the
        # rows between them were repeats, dropped on purpose.
        return self.offsets[consumed] if consumed < len(self.offsets) else self.end


@attrs.define
class WalkState:
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
    batch: Batch | None = None
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
    def begin(cls, spec: WalkSpec, start: int, resume: Checkpoint | None) -> WalkState:
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

    def __init__(self, source: AsyncGenerator[T, None], state: WalkState) -> None:
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
