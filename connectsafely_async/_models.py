"""The typed results: frozen attrs classes with snake_case fields.

Every field the service may leave out is optional: anonymous visitors lack most of them, and
the documented example is inconsistent about pagination. Structuring from the service's
camelCase JSON happens in ``_converters``, never here.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Callable
from datetime import datetime, timedelta
from typing import Any

import attrs

from ._checkpoint import Checkpoint
from ._relative_time import instant_before, parse_relative_age, parse_relative_bucket

__all__ = [
    "AppliedFilters",
    "Pagination",
    "RateLimit",
    "TimeRange",
    "Visitor",
    "VisitorList",
    "VisitorsPage",
    "collect",
]


class TimeRange(str, enum.Enum):
    """The documented time ranges. Any other string is still accepted and passed on as is."""

    PAST_7_DAYS = "past_7_days"
    PAST_30_DAYS = "past_30_days"
    PAST_90_DAYS = "past_90_days"
    PAST_1_YEAR = "past_1_year"
    ALL_TIME = "ALL_TIME"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Visitor:
    """One person who viewed the profile; anonymous viewers lack most fields.

    Attributes:
        viewed_at: the service's own text, e.g. ``"Viewed 47m ago"``.
        fetched_at: when the SDK received the page this visitor came on (UTC).
    """

    entity_urn: str | None = None
    public_identifier: str | None = None
    name: str | None = None
    headline: str | None = None
    profile_picture: str | None = None
    viewed_at: str | None = None
    connection_degree: str | None = None
    profile_url: str | None = None
    navigation_url: str | None = None
    fetched_at: datetime | None = attrs.field(default=None, eq=False)

    def to_dict(self) -> dict[str, object]:
        """This visitor as one flat record of JSON-ready values, snake_case keys.

        The record ``to_dicts()`` makes per visitor: the fields, plus ``is_anonymous``,
        ``viewed_ago_seconds`` and ``estimated_viewed_at``; datetimes as ISO-8601 strings.
        """
        from ._display import visitor_record  # the display layer sits above the models

        return visitor_record(self)

    @property
    def is_anonymous(self) -> bool:
        """True when the visitor hid their identity: no URN, public id or profile link."""
        return not (self.entity_urn or self.public_identifier or self.profile_url)

    @property
    def viewed_ago(self) -> timedelta | None:
        """How long ago the view happened, read from ``viewed_at`` (``None`` if unreadable)."""
        return parse_relative_age(self.viewed_at)

    @property
    def estimated_viewed_at(self) -> datetime | None:
        """When the view happened, best estimate: the middle of the interval the rounded
        text allows ("Viewed 2h ago", received at ``T``: between ``T - 3h`` and ``T - 2h``,
        so ``T - 2h30``), the same estimate the history gives.

        An age older than a ``datetime`` can reach ("Viewed 999999y ago") gives year 1
        (``instant_before`` clamps it), never an ``OverflowError``.
        """
        bucket = parse_relative_bucket(self.viewed_at)
        if bucket is None or self.fetched_at is None:
            return None
        age, width = bucket
        return instant_before(self.fetched_at, age + width / 2)


@attrs.frozen
class Pagination:
    """The service's pagination block. Informational only: every field may be missing or wrong."""

    start: int | None = None
    count: int | None = None
    total: int | None = None


@attrs.frozen
class AppliedFilters:
    """The filters the service says it applied (``filters`` in the response)."""

    time_range: str | None = None
    count: int | None = None
    start: int | None = None
    fetch_all: bool | None = None
    max_visitors: int | None = None


@attrs.frozen
class RateLimit:
    """The ``X-RateLimit-*`` headers of one response, parsed.

    ``reset_at`` is aware UTC; the service sends ISO-8601 (current docs) or a Unix
    timestamp (older docs), both are read.
    """

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    action: str | None = None
    reset_at: datetime | None = None


@attrs.frozen
class VisitorsPage:
    """One answer of ``POST /linkedin/profile/visitors``.

    Attributes:
        visitors: the visitors on this page, newest first.
        has_more: the service's ``hasMore``, the only trustworthy "is there more" signal.
        time_range: the applied time range (the top-level value, else ``filters.timeRange``).
        request_id: the service's request id header, when sent.
        rate_limit: the rate-limit headers, when sent.
        fetched_at: when the SDK received the answer (UTC).
    """

    visitors: tuple[Visitor, ...]
    has_more: bool
    account_id: str | None = None
    pagination: Pagination | None = None
    time_range: str | None = None
    filters: AppliedFilters | None = None
    request_id: str | None = None
    rate_limit: RateLimit | None = None
    fetched_at: datetime | None = attrs.field(default=None, eq=False)
    # Built on first read: most pages' checkpoints never are, and they cost about as much
    # as the page itself. Not part of the wire format (the converter omits private fields).
    _checkpoint: Callable[[], Checkpoint] | None = attrs.field(
        default=None, eq=False, repr=False, alias="checkpoint_factory"
    )

    @property
    def checkpoint(self) -> Checkpoint | None:
        """Where a walk resumes after this page; ``None`` on a page that is not from a walk."""
        return None if self._checkpoint is None else self._checkpoint()

    def to_dicts(self) -> list[dict[str, object]]:
        """The page's visitors as plain records (see ``VisitorList.to_dicts``)."""
        from ._display import records

        return records(self.visitors)

    def _repr_html_(self) -> str:
        # Jupyter's rich display hook: the page as a table, its context in the caption.
        more = "more available" if self.has_more else "no more"
        caption = f"{len(self.visitors)} visitor(s), account {self.account_id or 'default'}, {more}"
        from ._display import visitors_html

        return visitors_html(self.visitors, caption=caption)


class VisitorList(list[Visitor]):
    """A plain ``list`` of visitors that shows itself as a table in Jupyter.

    Build one with ``await collect(client.iter_visitors(...))`` or ``VisitorList(visitors)``.
    """

    def to_dicts(self) -> list[dict[str, object]]:
        """One flat record per visitor, snake_case keys, ready for ``pandas.DataFrame``.

        Besides the ``Visitor`` fields: ``is_anonymous``, ``viewed_ago_seconds`` and
        ``estimated_viewed_at`` (ISO-8601); datetimes are ISO-8601 strings.
        """
        from ._display import records

        return records(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``, one row per visitor, the columns of ``to_dicts()``.

        ``fetched_at`` and ``estimated_viewed_at`` are timezone-aware datetimes.

        Raises:
            ImportError: pandas is not installed (``pip install 'connectsafely-async[pandas]'``).
        """
        from ._frames import to_pandas

        return to_pandas(self)

    def to_polars(self) -> Any:
        """A ``polars.DataFrame``, one row per visitor, the columns of ``to_dicts()``.

        Raises:
            ImportError: polars is not installed (``pip install 'connectsafely-async[polars]'``).
        """
        from ._frames import to_polars

        return to_polars(self)

    def _repr_html_(self) -> str:
        from ._display import visitors_html

        return visitors_html(self, caption=f"{len(self)} visitor(s)")


async def collect(visitors: AsyncIterable[Visitor]) -> VisitorList:
    """Gather an async iterable of visitors (e.g. ``client.iter_visitors()``) into a list.

    ``await collect(client.iter_visitors(max_visitors=100))`` is the notebook spelling of
    ``[v async for v in ...]`` that displays as a table.

    Returns:
        A new ``VisitorList`` in iteration order.
    """
    return VisitorList([visitor async for visitor in visitors])
