"""When a view happened, as an interval: pure functions, no I/O.

The service says only "Viewed 2d ago". Received at ``T`` and rounded down (as LinkedIn
rounds), that text means the age lies in ``[2d, 3d)``, so the view happened in
``(T - 3d, T - 2d]``. Every later sync that still shows the same view gives another such
interval, and the view lies in all of them: their intersection is the estimate, and it gets
tighter run after run. Two intervals that cannot overlap cannot be the same view, so the
later one is a new view.

A small ``SLACK`` absorbs what is not in the text: the time between the service writing it
and the SDK receiving it, and clocks that are not exact. Intervals are stored as float
seconds since the epoch (UTC).

Each rule is written once, on plain ``(earliest, latest)`` pairs (``Bounds``), which is how
a store reads and writes them page after page; ``ViewInterval`` and ``decide`` give the same
rules with a named interval.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Final

import attrs

from .._relative_time import bucket_seconds

__all__ = [
    "SLACK", "Bounds", "ViewDecision", "ViewInterval", "decide", "decide_bounds", "view_bounds",
    "view_interval",
]

#: Seconds by which two intervals may miss each other and still be the same view.
SLACK: Final = 60.0
#: The earliest moment a ``datetime`` can hold (year 1, a day of margin for time zones):
#: "Viewed 999999y ago" is clamped here rather than failing to become a datetime.
EARLIEST: Final = datetime(1, 1, 2, tzinfo=timezone.utc).timestamp()

#: An interval as ``(earliest, latest)`` seconds since the epoch (see ``ViewInterval``).
Bounds = tuple[float, float]


def _overlap(a: Bounds, b: Bounds, slack: float = SLACK) -> bool:
    return a[0] < b[1] + slack and b[0] < a[1] + slack


def _intersection(a: Bounds, b: Bounds) -> Bounds:
    # (Comparisons, not max() and min(): decide_bounds runs this for most rows of a sync.)
    (a_earliest, a_latest), (b_earliest, b_latest) = a, b
    earliest = a_earliest if a_earliest > b_earliest else b_earliest
    latest = a_latest if a_latest < b_latest else b_latest
    if earliest > latest:
        # Within the slack only: the truth is near where they (almost) meet.
        middle = (earliest + latest) / 2
        return middle, middle
    return earliest, latest


@attrs.frozen
class ViewInterval:
    """When a view happened, as far as the relative text tells: ``earliest < t <= latest``.

    Attributes:
        earliest: seconds since the epoch (UTC), exclusive bound.
        latest: seconds since the epoch (UTC), inclusive bound.
    """

    earliest: float
    latest: float

    @property
    def estimate(self) -> float:
        """The best single estimate: the middle of the interval."""
        return (self.earliest + self.latest) / 2

    @property
    def width(self) -> float:
        """How many seconds the interval spans (its uncertainty)."""
        return self.latest - self.earliest

    @property
    def bounds(self) -> Bounds:
        """``(earliest, latest)``."""
        return self.earliest, self.latest

    def overlaps(self, other: ViewInterval, *, slack: float = SLACK) -> bool:
        """Whether both intervals can hold the same moment, give or take ``slack``."""
        return _overlap(self.bounds, other.bounds, slack)

    def intersect(self, other: ViewInterval) -> ViewInterval:
        """The moments both intervals allow; a point when they only touch within the slack."""
        return ViewInterval(*_intersection(self.bounds, other.bounds))

    def as_datetimes(self) -> tuple[datetime, datetime]:
        """``(earliest, latest)`` as aware UTC datetimes."""
        return _utc(self.earliest), _utc(self.latest)


def view_interval(viewed_at: str | None, received_at: float) -> ViewInterval | None:
    """The interval in which a view shown as ``viewed_at`` at ``received_at`` happened.

    Args:
        viewed_at: the service's text, e.g. ``"Viewed 2d ago"``.
        received_at: seconds since the epoch when the text was received.

    Returns:
        ``(received_at - age - bucket, received_at - age]``, or ``None`` when the text is
        unreadable.
    """
    bounds = view_bounds(viewed_at, received_at)
    return None if bounds is None else ViewInterval(*bounds)


def view_bounds(viewed_at: str | None, received_at: float) -> Bounds | None:
    """``view_interval(viewed_at, received_at)`` as ``(earliest, latest)``. (A page's texts
    repeat, "Viewed 2d ago": a store reads each once per page, at the page's one time.)"""
    bucket = bucket_seconds(viewed_at)
    if bucket is None:
        return None
    age, width = bucket
    # (Clamped by comparisons, not max(): a page of distinct texts calls this per visitor.)
    latest = received_at - age
    if latest <= EARLIEST:
        return EARLIEST, EARLIEST
    earliest = latest - width
    return (earliest if earliest > EARLIEST else EARLIEST), latest


class ViewDecision(str, enum.Enum):
    """What an observed view is, against the latest view a store knows of that visitor."""

    NEW_VISITOR = "new_visitor"
    NEW_VIEW = "new_view"
    SAME_VIEW = "same_view"


def decide(
    known: ViewInterval | None,
    observed: ViewInterval | None,
    *,
    is_known: bool,
    known_is_ahead: bool = False,
) -> tuple[ViewDecision, ViewInterval | None]:
    """Classify an observation and return the interval to keep for the visitor's latest view.

    - not known before: a new visitor, with the observed interval;
    - both intervals can hold the same moment: the same view, with their intersection;
    - the observed one lies after the known one: a new view, with the observed interval;
    - the observed one lies before the known one: the service shows only the latest view,
      so this is the same view seen through skewed clocks; the known interval is kept;
    - either text unreadable: nothing proves a new view, so the same view, and whichever
      interval exists is kept;
    - ``known_is_ahead`` (the known view was first recorded by a clock later than the one
      observing now, so that clock ran ahead): a later interval is still a new view, but an
      earlier one replaces the known one, so a clock that jumped ahead once does not hide
      every view until real time catches up with it.
    """
    decision, kept = decide_bounds(None if known is None else known.bounds,
                                   None if observed is None else observed.bounds,
                                   is_known=is_known, known_is_ahead=known_is_ahead)
    return decision, None if kept is None else ViewInterval(*kept)


def decide_bounds(
    known: Bounds | None,
    observed: Bounds | None,
    *,
    is_known: bool,
    known_is_ahead: bool = False,
) -> tuple[ViewDecision, Bounds | None]:
    """``decide()`` on ``(earliest, latest)`` pairs: the one place of its rules."""
    if not is_known:
        return ViewDecision.NEW_VISITOR, observed
    if known is None or observed is None:
        return ViewDecision.SAME_VIEW, known if known is not None else observed
    if _overlap(known, observed):
        return ViewDecision.SAME_VIEW, _intersection(known, observed)
    if observed[0] >= known[1]:
        return ViewDecision.NEW_VIEW, observed
    return ViewDecision.SAME_VIEW, observed if known_is_ahead else known


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
