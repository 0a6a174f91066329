"""The typed results: frozen attrs classes with snake_case fields.

Every field the service may leave out is optional: anonymous visitors lack most of them, and
the documented example is inconsistent about pagination. Structuring from the service's
camelCase JSON happens in ``_converters``, never here.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from ._relative_time import parse_relative_age

__all__ = [
    "AppliedFilters",
    "Pagination",
    "RateLimit",
    "TimeRange",
    "Visitor",
    "VisitorsPage",
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
        """``fetched_at - viewed_ago``: as precise as the service's rounded text allows."""
        age = self.viewed_ago
        if age is None or self.fetched_at is None:
            return None
        return self.fetched_at - age


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
