"""What one run of a sync recorded, kept in memory as its pages commit: its result.

A sync's result (``SyncResult.new``, ``returning``, ``anonymous``) is every visitor it
recorded, each as the store knows it when the sync finishes. Reading that back at the end
is one big query plus the objects, none of which can overlap the walk. So a run that will
report its visitors (``begin_sync(collect=True)``) keeps them as it goes: each page, inside
its own work on the store's thread, gives the rows it wrote (``PageRows``), in the order
the engine numbered them, and each visitor as its row stands once the page's statements
ran; a visitor a later page changes again is replaced. Only a committed page's rows are
kept (``Run.absorb`` runs after the commit).

Memory holds this run only. A resumed sync's earlier runs (a crash, a transient error)
recorded rows no process remembers: ``read_sync`` reads back those, the rows numbered below
this run's first ids (``Run.first_view``...). A run whose history moved to another account
name mid-run (``adopt``) forgets what it kept (``Run.drop``): its result is read back whole.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import attrs

from ._models import AnonymousSighting, SeenVisitor

__all__ = ["PageRows", "Run"]

Row = tuple[Any, ...]


@attrs.define
class PageRows:
    """One page's share of its run's result, filled by ``apply_page``.

    Attributes:
        new: the keys of its new visitors, in the order of their events.
        returning: the keys of its returning visitors, in the order of their new views.
        anonymous: its anonymous sightings, in the order they were inserted.
        seen: key -> the visitor as its row stands after the page, for every key of
            ``new`` and ``returning`` and every key of ``track`` the page touched.
        track: the keys the run already reports (a page changing one updates it).
    """

    track: Container[str]
    new: list[str] = attrs.Factory(list)
    returning: list[str] = attrs.Factory(list)
    anonymous: list[AnonymousSighting] = attrs.Factory(list)
    seen: dict[str, SeenVisitor] = attrs.Factory(dict)


@attrs.define
class Run:
    """One run of a sync, on the store's thread: its first ids and what it recorded.

    Attributes:
        first_view, first_event, first_anonymous: every row this run writes has an id at
            least these (the ids the engine makes are above every committed one); the
            sync's rows below them are its earlier runs'.
        kept: ``False`` once the run forgot its rows (see the module).
    """

    first_view: int
    first_event: int
    first_anonymous: int
    kept: bool = True
    new: list[str] = attrs.Factory(list)
    returning: list[str] = attrs.Factory(list)
    anonymous: list[AnonymousSighting] = attrs.Factory(list)
    seen: dict[str, SeenVisitor] = attrs.Factory(dict)

    def page(self) -> PageRows | None:
        """An empty share for the next page to fill (``None``: the run keeps nothing)."""
        return PageRows(self.seen) if self.kept else None

    def absorb(self, rows: PageRows) -> None:
        """Keep a committed page's rows."""
        self.new += rows.new
        self.returning += rows.returning
        self.anonymous += rows.anonymous
        self.seen.update(rows.seen)

    def drop(self) -> None:
        """Forget every row: the result will be read back from the store."""
        self.kept = False
        self.new.clear()
        self.returning.clear()
        self.anonymous.clear()
        self.seen.clear()
