"""Rows a walk already handed out, recognised when offset drift brings them back.

Offsets drift: the list is newest first, so a view that arrives during a walk shifts every
row down by one and the next page starts with the row the last page ended on. A walk drops
such repeats: a named visitor is recognised by ``entity_urn`` (remembered in bounded memory,
``SeenUrns``); an anonymous one only inside an overlap at a page boundary that a named
visitor proves (two anonymous viewers can look exactly alike). A row shifted the other way
(a viewer who drops out of the range during the walk) can be missed: offset paging cannot
see it. Pure: no I/O; the loop that uses these is ``_pagination._batches``.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Final, cast

import attrs

from ._models import Visitor

__all__ = [
    "SEEN_LIMIT",
    "PageUrns",
    "SeenUrns",
    "boundary_overlap",
    "fresh_rows",
    "identity",
    "named_urns",
    "resumed_overlap",
    "row_digest",
]

#: Named visitors a walk remembers to drop repeats: at least half this many, at most all
#: (about 100 bytes each), whatever the length of the walk.
SEEN_LIMIT = 10_000


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


class SeenUrns:
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


_ENTITY_URN: Final = operator.attrgetter("entity_urn")


@attrs.frozen
class PageUrns:
    """A page's entity URNs, read once (in C): the set of the named ones, and whether any
    named visitor appears twice on the page."""

    unique: set[str]
    distinct: bool

    @classmethod
    def of(cls, received: Sequence[Visitor]) -> PageUrns:
        urns: list[str | None] = list(map(_ENTITY_URN, received))
        unique = set(urns)
        unique.discard(None)
        unique.discard("")  # an empty URN names nobody: two of them are two viewers
        named = cast("set[str]", unique)
        return cls(named, len(named) == len(urns) - urns.count(None) - urns.count(""))


def fresh_rows(
    received: tuple[Visitor, ...], overlap: int, start: int, seen: SeenUrns, urns: PageUrns
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


def named_urns(visitors: Sequence[Visitor]) -> list[str]:
    return [v.entity_urn for v in visitors if v.entity_urn]
