"""What a sync returns and what a store hands out: frozen attrs classes.

Times of views are estimates: the service only says "Viewed 2d ago". Each view therefore
carries the interval it must lie in (``viewed_after``, ``viewed_before``) and a best
estimate (``estimated_viewed_at``, the middle), all labelled as estimates.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._errors import ConnectSafelyError
from .._models import Visitor
from .._pagination import WalkStats

__all__ = ["AnonymousSighting", "SeenVisitor", "SyncResult", "VisitorEvent"]


@attrs.frozen(kw_only=True)
class SeenVisitor:
    """A named visitor's latest view, as the store knows it.

    Attributes:
        account_id: the LinkedIn account that was viewed (``""``: the workspace default).
        key: the store's identity key of the visitor (see ``identity_keys``).
        visitor: the visitor as last received.
        viewed_after: the view happened after this moment (an estimate's lower bound).
        viewed_before: ... and at or before this one (its upper bound).
        estimated_viewed_at: the middle of that interval: an estimate, not a timestamp.
        first_seen_at: when the store first saw this visitor.
        views: how many distinct views of this visitor the store has recorded.
    """

    account_id: str
    key: str
    visitor: Visitor
    viewed_after: datetime | None
    viewed_before: datetime | None
    estimated_viewed_at: datetime | None
    first_seen_at: datetime
    views: int = 1


@attrs.frozen(kw_only=True)
class AnonymousSighting:
    """An entry without identity (a private profile): recorded as seen, never merged.

    Attributes:
        account_id: the account that was viewed.
        name: the service's generic line, e.g. ``"LinkedIn Member"``.
        headline: the description line, e.g. ``"Someone at a company in Software"``.
        viewed_at: the service's relative text.
        viewed_after, viewed_before, estimated_viewed_at: the view's interval and estimate.
        observed_at: when the entry was received.
    """

    account_id: str
    name: str | None
    headline: str | None
    viewed_at: str | None
    viewed_after: datetime | None
    viewed_before: datetime | None
    estimated_viewed_at: datetime | None
    observed_at: datetime


@attrs.frozen(kw_only=True)
class VisitorEvent:
    """A visitor event, pending until acknowledged: someone new, or someone back.

    Attributes:
        id: the event's id in the store (what ``ack()`` takes).
        kind: ``"new_visitor"`` (seen for the first time) or ``"returning_visitor"`` (seen
            before, with a view the store did not have).
        created_at: when the sync that found the view recorded it.
        visitor: the visitor, as the store knows it now.
        visits: the visitor's views the store had recorded with this one (1 for a new
            visitor; 3 means this is their third recorded visit).
    """

    id: int
    kind: str
    created_at: datetime
    visitor: SeenVisitor
    visits: int = 1

    @property
    def is_returning(self) -> bool:
        """True for a visitor seen before (``kind == "returning_visitor"``)."""
        return self.kind == "returning_visitor"


@attrs.frozen(kw_only=True)
class SyncResult:
    """What one sync of one account found.

    A sync that was interrupted and resumed reports the whole sync: visitors recorded by
    the interrupted run are in ``new``/``returning`` too.

    Attributes:
        account_id: the account (``""``: the workspace default).
        new: visitors seen for the first time.
        returning: visitors seen before whose latest view is new.
        unchanged: how many visitors showed a view the store already had.
        anonymous: this sync's entries without identity.
        new_count, returning_count, anonymous_count: the sizes of ``new``, ``returning``
            and ``anonymous``, also when they were not collected (``collect=False``).
        resumed: the sync continued an interrupted one.
        error: why the sync stopped early (``None``: it completed). What it recorded
            before stays recorded; the next sync resumes from there.
        stats: requests, pages, retries of the walk (of this run only).
    """

    account_id: str
    new: tuple[SeenVisitor, ...] = ()
    returning: tuple[SeenVisitor, ...] = ()
    unchanged: int = 0
    anonymous: tuple[AnonymousSighting, ...] = ()
    new_count: int = 0
    returning_count: int = 0
    anonymous_count: int = 0
    resumed: bool = False
    error: ConnectSafelyError | None = None
    stats: WalkStats = attrs.field(factory=WalkStats, eq=False)

    @property
    def ok(self) -> bool:
        """True when the sync completed."""
        return self.error is None
