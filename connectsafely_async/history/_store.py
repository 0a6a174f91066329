"""The store interface a sync writes through, and what crosses it.

A store keeps, per account, the visitors seen (by identity key and aliases), each of their
views with the interval it happened in, the anonymous sightings, the "new visitor" events
and the syncs with their checkpoints. The sync runner never writes SQL: it hands the store
one page of observations and the walk's checkpoint, and the store records both in one
transaction. ``SQLiteStore`` is the embedded default and ``PostgresStore`` the shared one;
both implement this protocol and pass the same tests, and so must any other backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from .._checkpoint import RESUME_WITHIN
from .._models import Visitor
from ._identity import identity_keys
from ._intervals import ViewInterval, view_interval
from ._models import SyncResult, VisitorEvent
from ._text import storable_visitors

__all__ = [
    "RESUME_WITHIN", "Observation", "PageOutcome", "SyncStart", "VisitorStore", "observe",
]


@attrs.frozen
class Observation:
    """One row of a page, prepared for the store (pure: identity and interval computed).

    Attributes:
        visitor: the row as the store records it (see ``storable_visitor``).
        keys: its identity keys, strongest first; ``()`` for an anonymous entry.
        interval: when the view happened, or ``None`` when the text was unreadable.
    """

    visitor: Visitor
    keys: tuple[str, ...]
    interval: ViewInterval | None


def observe(visitors: Sequence[Visitor], received_at: float) -> list[Observation]:
    """The rows of a page as a store records them (``storable_visitor``: the one text rule
    of every store), with their identity keys and view intervals (pure)."""
    # A page's texts repeat ("Viewed 2d ago"), and at one receive time so do their intervals.
    intervals: dict[str | None, ViewInterval | None] = {}
    observations = []
    for visitor in storable_visitors(visitors):
        viewed_at = visitor.viewed_at
        try:
            interval = intervals[viewed_at]
        except KeyError:
            interval = intervals[viewed_at] = view_interval(viewed_at, received_at)
        observations.append(Observation(visitor, identity_keys(visitor), interval))
    return observations


@attrs.frozen(kw_only=True)
class SyncStart:
    """A sync as the store opened it.

    Attributes:
        sync_id: the sync's id in the store.
        checkpoint: the walk's checkpoint (a JSON-ready dict) after the last page an
            interrupted sync of the same account and filters recorded; ``None``: start over.
        resumed: this continues an interrupted sync.
    """

    sync_id: int
    checkpoint: dict[str, Any] | None
    resumed: bool = False


@attrs.frozen
class PageOutcome:
    """How one page's rows were classified."""

    new: int = 0
    returning: int = 0
    unchanged: int = 0
    anonymous: int = 0


@runtime_checkable
class VisitorStore(Protocol):
    """Where syncs record what they see. Every method is a coroutine; none blocks the loop."""

    async def begin_sync(
        self, account_id: str, filters: str, *, now: float | None = None,
        resume_within: float | None = RESUME_WITHIN, collect: bool = True,
    ) -> SyncStart:
        """Open a sync of ``account_id``, continuing an interrupted one with these filters
        whose last page was recorded at most ``resume_within`` seconds before ``now`` (the
        sync's clock; ``None``: the wall clock). ``collect``: ``finish_sync`` will be asked
        for the visitors (a store may keep them as the pages go; ``False``: counts only)."""
        ...

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
        """Record one page and the checkpoint after it, atomically.

        ``visitors`` become ``observe(visitors, received_at)``; ``checkpoint()`` gives the
        walk's checkpoint after the page as a JSON-ready dict. Both are pure and may run
        off the event loop, which is where a store should do its work. ``default_is``: in
        a sync of the workspace's default account, the id the page says it is (the sync
        and the default's history move to it).
        """
        ...

    async def account_for(self, name: str) -> str:
        """The account id a name stands for (``""``: the default account's last known id)."""
        ...

    async def finish_sync(
        self, sync_id: int, *, error: str | None = None, resumable: bool = True,
        collect: bool = True, meta: Mapping[str, str] | None = None,
    ) -> SyncResult:
        """Close a sync and report it. With ``error`` it stopped early: it stays open for the
        next sync to resume when ``resumable``, else it is closed with its reason. ``meta``:
        settings written with the sync's closing, in its transaction (when it completes or
        stops for good, not when it stays open), so that one is never without the other."""
        ...

    async def pending_events(
        self, *, account_id: str | None = None, after: int = 0, limit: int = 100
    ) -> list[VisitorEvent]:
        """Events not yet acknowledged, oldest first."""
        ...

    async def ack(self, *event_ids: int) -> int:
        """Mark events handled; returns how many were pending."""
        ...

    def events(self, *, account_id: str | None = None) -> AsyncIterator[VisitorEvent]:
        """Pending events; each is acknowledged when the consumer asks for the next."""
        ...

    async def history(
        self,
        *,
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_anonymous: bool = True,
    ) -> list[dict[str, Any]]:
        """Every recorded view as a flat record, newest estimate first."""
        ...
