"""Reading the store back: a sync's result, pending events, the history records.

Called on the store's thread. Rows become the public models here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, Final

from .._models import Visitor
from ._accounts import resolve
from ._connection import Connection
from ._intervals import EARLIEST
from ._models import AnonymousSighting, SeenVisitor, SyncResult, VisitorEvent
from ._run import Run

__all__ = [
    "PageTimes", "anonymous_sighting", "history_records", "read_events", "read_sync", "seen",
    "seen_visitor", "utc_time", "view_times",
]

_LATEST: Final = datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp()

# The visitor's columns (aliased v) and its latest view's (aliased w), as seen_visitor() reads them.
_SEEN_COLUMNS: Final = (
    "v.account_id, v.key, v.entity_urn, v.public_identifier, v.name, v.headline, "
    "v.profile_picture, v.viewed_at, v.connection_degree, v.profile_url, v.navigation_url, "
    "v.last_seen, v.first_seen, v.views, w.earliest, w.latest"
)

# The visitor (aliased v) of a view or an event (aliased by the argument): found by its
# key's number (SQLite's only index of visitors), the key itself telling colliding numbers
# apart.
_VISITOR_OF: Final = (
    "v.key_number = {0}.key_number AND v.key = {0}.key AND v.account_id = {0}.account_id"
)


def utc_time(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    if not EARLIEST <= seconds <= _LATEST:
        # Clamped like view_interval(): a file written by anything else still reads back
        # (a NaN too, which PostgreSQL can store).
        seconds = EARLIEST if seconds < EARLIEST else _LATEST
    return _from_timestamp(seconds, timezone.utc)


# (The zone by position: half the cost of tz=, for every time of a sync's result.)
_from_timestamp: Final = datetime.fromtimestamp

ViewTimes = tuple[datetime | None, datetime | None, datetime | None]


def view_times(earliest: float | None, latest: float | None) -> ViewTimes:
    """A view's ``viewed_after``, ``viewed_before`` and ``estimated_viewed_at``."""
    if earliest is not None and latest is not None and EARLIEST <= earliest <= latest <= _LATEST:
        # (A readable view within the clamp, the common case, without three more calls: a
        # sync's result makes its times for every visitor.)
        utc = timezone.utc
        return (_from_timestamp(earliest, utc), _from_timestamp(latest, utc),
                _from_timestamp((earliest + latest) / 2, utc))
    return utc_time(earliest), utc_time(latest), utc_time(_middle(earliest, latest))


class PageTimes(dict[tuple[float | None, float | None], ViewTimes]):
    """A memo of ``view_times`` by ``(earliest, latest)``, for rows that share their views'
    bounds (a page's texts repeat: "Viewed 2d ago")."""

    def __missing__(self, bounds: tuple[float | None, float | None]) -> ViewTimes:
        times = self[bounds] = view_times(*bounds)
        return times


def _middle(earliest: float | None, latest: float | None) -> float | None:
    return None if earliest is None or latest is None else (earliest + latest) / 2


def _iso(seconds: float | None) -> str | None:
    moment = utc_time(seconds)
    return None if moment is None else moment.isoformat()


def seen_visitor(row: Sequence[Any], visitor: Visitor | None = None) -> SeenVisitor:
    """The visitor of a row of ``_SEEN_COLUMNS``; ``visitor``: the row's visitor when the
    caller holds it already (the page's own)."""
    (account_id, key, urn, public_id, name, headline, picture, viewed_at, degree, url, nav,
     last_seen, first_seen, views, earliest, latest) = row
    if visitor is None:
        visitor = Visitor(
            entity_urn=urn, public_identifier=public_id, name=name, headline=headline,
            profile_picture=picture, viewed_at=viewed_at, connection_degree=degree,
            profile_url=url, navigation_url=nav, fetched_at=utc_time(last_seen),
        )
    first = utc_time(first_seen)
    assert first is not None
    return seen(account_id, key, visitor, first, views, view_times(earliest, latest))


def seen(account_id: str, key: str, visitor: Visitor, first_seen_at: datetime, views: int,
         times: ViewTimes) -> SeenVisitor:
    """``seen_visitor`` of a visitor at hand, with its view's ``view_times``."""
    after, before, estimate = times
    return SeenVisitor(
        account_id=account_id, key=key, visitor=visitor, viewed_after=after,
        viewed_before=before, estimated_viewed_at=estimate, first_seen_at=first_seen_at,
        views=views,
    )


def anonymous_sighting(row: Sequence[Any]) -> AnonymousSighting:
    """The sighting of a row of ``anonymous``."""
    account_id, name, headline, viewed_at, earliest, latest, observed = row
    observed_at = utc_time(observed)
    assert observed_at is not None
    after, before, estimate = view_times(earliest, latest)
    return AnonymousSighting(
        account_id=account_id, name=name, headline=headline, viewed_at=viewed_at,
        viewed_after=after, viewed_before=before, estimated_viewed_at=estimate,
        observed_at=observed_at,
    )


def read_sync(conn: Connection, sync_id: int, *, collect: bool,
              run: Run | None = None) -> SyncResult:
    """The result of a whole sync (every run of it), from what the store recorded.

    ``run``: the rows this run kept as it went (see ``_run``); only the sync's rows of
    earlier runs, numbered below the run's first ids, are read back.
    """
    row = conn.fetch_one(
        "SELECT account_id, first_view, first_event, first_anonymous, unchanged_count, "
        "new_count, returning_count, anonymous_count FROM syncs WHERE id = {1}", (sync_id,),
    )
    assert row is not None
    account_id, first_view_id, first_event, first_anonymous, unchanged = row[:5]
    counts = {"new_count": row[5], "returning_count": row[6], "anonymous_count": row[7]}
    if not collect:
        return SyncResult(account_id=account_id, unchanged=unchanged, **counts)
    ends: tuple[int | None, int | None, int | None] = (None, None, None)
    if run is not None and not run.kept:
        run = None
    if run is not None:
        ends = (run.first_event, run.first_view, run.first_anonymous)
    new = _read_new(conn, sync_id, first_event, ends[0])
    returning = _read_returning(conn, sync_id, first_view_id, ends[1])
    anonymous = _read_anonymous(conn, sync_id, first_anonymous, ends[2])
    if run is not None:
        seen = run.seen
        new += tuple(seen[key] for key in run.new)
        returning += tuple(seen[key] for key in run.returning)
        anonymous += tuple(run.anonymous)
    return SyncResult(account_id=account_id, new=new, returning=returning,
                      unchanged=unchanged, anonymous=anonymous, **counts)


def _below(column: str, end: int | None, field: int) -> str:
    """The condition that ``column`` is below ``end`` (``None``: no bound)."""
    return "" if end is None else f" AND {column} < {{{field}}}"


def _read_new(conn: Connection, sync_id: int, first: int,
              end: int | None) -> tuple[SeenVisitor, ...]:
    if end is not None and end <= first:
        return ()
    return tuple(seen_visitor(r) for r in conn.fetch_all(
        f"SELECT {_SEEN_COLUMNS} FROM events e JOIN visitors v ON {_VISITOR_OF.format('e')} "  # noqa: S608 - fixed columns
        "JOIN views w ON w.id = v.view_id "
        f"WHERE e.id >= {{1}} AND e.sync_id = {{2}} AND e.kind = 'new_visitor'"
        f"{_below('e.id', end, 3)} ORDER BY e.id",
        (first, sync_id) if end is None else (first, sync_id, end)))


def _read_returning(conn: Connection, sync_id: int, first: int,
                    end: int | None) -> tuple[SeenVisitor, ...]:
    if end is not None and end <= first:
        return ()
    return tuple(seen_visitor(r) for r in conn.fetch_all(
        f"SELECT {_SEEN_COLUMNS} FROM views x JOIN visitors v ON {_VISITOR_OF.format('x')} "  # noqa: S608 - fixed columns
        "JOIN views w ON w.id = v.view_id "
        f"WHERE x.id >= {{1}} AND x.sync_id = {{2}} AND x.first_view = 0"
        f"{_below('x.id', end, 3)} ORDER BY x.id",
        (first, sync_id) if end is None else (first, sync_id, end)))


def _read_anonymous(conn: Connection, sync_id: int, first: int,
                    end: int | None) -> tuple[AnonymousSighting, ...]:
    if end is not None and end <= first:
        return ()
    return tuple(anonymous_sighting(r) for r in conn.fetch_all(
        "SELECT account_id, name, headline, viewed_at, earliest, latest, observed "  # noqa: S608 - fixed text
        f"FROM anonymous WHERE id >= {{1}} AND sync_id = {{2}}{_below('id', end, 3)} "
        "ORDER BY id",
        (first, sync_id) if end is None else (first, sync_id, end)))


def read_events(
    conn: Connection, account_id: str | None, after: int, limit: int,
    pending: str = "acked",
) -> list[VisitorEvent]:
    """Pending events with an id above ``after``, oldest first, at most ``limit``.

    ``pending`` names the consumer's own mark: ``"acked"`` (``events()``, ``watch``), or
    ``"followed"`` (the follow-up ledger, which acts on every event whoever else read it).
    """
    assert pending in ("acked", "followed")
    where = f"e.{pending} IS NULL AND e.id > {{1}}"
    params: list[Any] = [after]
    if account_id is not None:
        where += " AND e.account_id = {2}"
        params.append(resolve(conn, account_id))
    rows = conn.fetch_all(
        f"SELECT e.id, e.kind, e.created, e.visits, {_SEEN_COLUMNS} FROM events e "  # noqa: S608 - fixed columns
        f"JOIN visitors v ON {_VISITOR_OF.format('e')} "
        f"JOIN views w ON w.id = v.view_id WHERE {where} ORDER BY e.id "
        f"LIMIT {{{len(params) + 1}}}",
        (*params, limit),
    )
    events = []
    for row in rows:
        created = utc_time(row[2])
        assert created is not None
        events.append(VisitorEvent(id=row[0], kind=row[1], created_at=created, visits=row[3],
                                   visitor=seen_visitor(row[4:])))
    return events


#: The columns of a history record, in order (also the CSV header of ``connectsafely history``).
HISTORY_FIELDS: Final = (
    "account_id", "visitor_key", "is_anonymous", "name", "headline", "public_identifier",
    "profile_url", "connection_degree", "viewed_at", "viewed_after", "viewed_before",
    "estimated_viewed_at", "first_view", "first_observed_at", "last_observed_at",
    "observations", "visits",
)


def history_records(
    conn: Connection,
    account_id: str | None,
    since: float | None,
    until: float | None,
    include_anonymous: bool,
) -> list[dict[str, Any]]:
    """Every view (and anonymous sighting) as a flat record, newest estimate first."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if account_id is not None:
        params.append(resolve(conn, account_id))
        where.append(f"account_id = {{{len(params)}}}")
    if since is not None:
        params.append(since)
        where.append(f"(earliest + latest) / 2 >= {{{len(params)}}}")
    if until is not None:
        params.append(until)
        where.append(f"(earliest + latest) / 2 < {{{len(params)}}}")
    condition = " AND ".join(where)
    named = (
        "SELECT x.account_id, x.key, 0, v.name, v.headline, v.public_identifier, "  # noqa: S608 - fixed text
        "v.profile_url, v.connection_degree, x.viewed_at, x.earliest, x.latest, "
        "x.first_view, x.first_observed, x.last_observed, x.observations, v.views "
        f"FROM views x JOIN visitors v ON {_VISITOR_OF.format('x')}"
    )
    anonymous = (
        "SELECT account_id, NULL AS key, 1, name, headline, NULL, NULL, NULL, viewed_at, "
        "earliest, latest, 0, observed, observed, 1, NULL FROM anonymous"
    )
    source = f"{named} UNION ALL {anonymous}" if include_anonymous else named
    query = (
        f"WITH h ({', '.join(_HISTORY_COLUMNS)}) AS ({source}) "  # noqa: S608 - fixed text
        f"SELECT * FROM h WHERE {condition} ORDER BY (earliest + latest) / 2 DESC NULLS LAST, "
        # Ties in a fixed order, so that two reads of a store agree.
        "account_id, is_anonymous, key, first_observed"
    )
    records = []
    for row in conn.fetch_all(query, params):
        (account, key, is_anonymous, name, headline, public_id, url, degree, viewed_at,
         earliest, latest, first_view, first_observed, last_observed, observations,
         visits) = row
        records.append({
            "account_id": account, "visitor_key": key, "is_anonymous": bool(is_anonymous),
            "name": name, "headline": headline, "public_identifier": public_id,
            "profile_url": url, "connection_degree": degree, "viewed_at": viewed_at,
            "viewed_after": _iso(earliest), "viewed_before": _iso(latest),
            "estimated_viewed_at": _iso(_middle(earliest, latest)),
            "first_view": bool(first_view), "first_observed_at": _iso(first_observed),
            "last_observed_at": _iso(last_observed), "observations": observations,
            "visits": visits,
        })
    return records


_HISTORY_COLUMNS: Final = (
    "account_id", "key", "is_anonymous", "name", "headline", "public_identifier",
    "profile_url", "connection_degree", "viewed_at", "earliest", "latest", "first_view",
    "first_observed", "last_observed", "observations", "visits",
)
