"""One page into the store: look up, classify (pure ``decide_bounds``), write in batches.

Called inside the page's transaction, on the store's thread. Where the engine runs
``UPDATE ... FROM ... RETURNING``, the page's visitors seen before, unchanged, in the same
view (most rows of a daily sync) are recorded first by one statement a page
(``_observe_unchanged``): the engine intersects their intervals, without the Python side
reading their rows back, and outside the interpreter's lock. The rest go the general way,
which any row may take with the same outcome (``tests/test_history_unchanged.py``).

The general way runs one lookup per page when every row is a visitor seen before with the
same identifiers (see ``_resolve``), two when some are new or changed (the second finds
their other keys, as aliases or as visitors' own keys), one of every row's keys when the
page's sample is new (``_any_known``: a first sync), and one more only for visitors found
by another key than their own; then one ``executemany`` per kind of write, so the cost is a
handful of statements per page, not per visitor. Every key's number (``key_number``) is
computed once per page: the lookups find rows by it (SQLite) and every row written carries
it. The new views' ids are the engine's (``insert_ids``): the rows that point at a view
made in this page are completed once its id is known.
"""

from __future__ import annotations

import collections
import functools
import operator
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from .._models import Visitor
from ._connection import Connection, fields
from ._identity import identity_keys, visitor_key
from ._intervals import SLACK, Bounds, ViewDecision, decide_bounds, view_bounds
from ._queries import PageTimes, anonymous_sighting, seen, seen_visitor, utc_time
from ._run import PageRows
from ._store import PageOutcome
from ._text import key_number

__all__ = ["apply_page"]

# SQLite's default limit on host parameters is 999 in old builds: a lookup stays well under
# it (one per key, and the account).
_CHUNK: Final = 400
_NEW_VISITOR: Final = "new_visitor"
_RETURNING_VISITOR: Final = "returning_visitor"


# What a page's memo of its texts' intervals (``intervals``) gives for a text not read yet,
# told apart by identity: ``dict.get`` costs no exception per new text, and most of a
# page's texts may be new.
_NOT_READ: Final[Bounds] = (0.0, 0.0)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for index in range(0, len(items), _CHUNK):
        yield items[index : index + _CHUNK]


def _lookup_others(
    conn: Connection, account_id: str, keys: Sequence[str], numbers: dict[str, int]
) -> dict[str, str]:
    """The visitor key each of ``keys`` stands for in the account: as an alias, or as a
    visitor's own key (then itself, which is never an alias: see ``apply_page``).

    The rows are found as the engine indexes them (``Connection.key_match``: SQLite by the
    keys' numbers, PostgreSQL by the texts). A row of a key not asked for (its number
    collides with one asked for) names its own text and visitor: true, and kept as well.
    """
    found: dict[str, str] = {}
    for chunk in _chunks(keys):
        numbered = [numbers[key] for key in chunk]
        aliases, values = conn.key_match("alias", 2, chunk, numbered)
        own, _ = conn.key_match("key", 2, chunk, numbered)  # the same fields and values
        for text, key in conn.fetch_all(
            f"SELECT alias, key FROM aliases WHERE {aliases} AND account_id = {{1}} "  # noqa: S608 - fields only
            f"UNION ALL SELECT key, key FROM visitors WHERE {own} AND account_id = {{1}}",
            (account_id, *values),
        ):
            if found.get(text) != text:  # a visitor's own key wins over an alias
                found[text] = key
    return found


def _lookup_known(
    conn: Connection, account_id: str, keys: Sequence[str], numbers: dict[str, int]
) -> dict[str, tuple[Any, ...]]:
    """The account's visitors of ``keys``, each with its latest view, found as
    ``_lookup_others`` finds them; a visitor of another key (a colliding number) is left out
    (``known`` holds the visitors the page names)."""
    known: dict[str, tuple[Any, ...]] = {}
    for chunk in _chunks(keys):
        wanted = set(chunk)
        match, values = conn.key_match("v.key", 2, chunk, [numbers[key] for key in chunk])
        for row in conn.fetch_all(
            "SELECT v.key, v.view_id, w.earliest, w.latest, w.first_observed, v.views, "  # noqa: S608 - fields only
            "v.entity_urn, v.public_identifier, v.name, v.headline, v.profile_picture, "
            "v.connection_degree, v.profile_url, v.navigation_url, v.viewed_at, v.first_seen, "
            "v.last_seen FROM visitors v JOIN views w ON w.id = v.view_id "
            f"WHERE {match} AND v.account_id = {{1}}",
            (account_id, *values),
        ):
            if row[0] in wanted:
                known[row[0]] = row[1:]
    return known


def _number(numbers: dict[str, int], keys: Iterable[str]) -> None:
    """Put the number of each of ``keys`` not numbered yet in ``numbers``."""
    fresh = [key for key in keys if key not in numbers]
    numbers.update(zip(fresh, map(key_number, fresh), strict=True))


@attrs.define
class _Resolved:
    """Who each row of a page is (see ``_resolve``).

    Attributes:
        key_of: each row's visitor key (``None``: an anonymous entry).
        keys_of: each row's identity keys, strongest first; ``None`` for a row settled by
            its strongest key (its identifiers are its visitor's, all recorded already),
            ``()`` for an anonymous entry.
        known: the visitors the page names, each with its latest view (see ``_lookup_known``).
        aliases: every key met so far -> its visitor's key (a visitor's own key: itself).
        numbers: the number of every key looked up or written (``key_number``).
    """

    key_of: list[str | None]
    keys_of: list[tuple[str, ...] | None]
    known: dict[str, tuple[Any, ...]]
    aliases: dict[str, str]
    numbers: dict[str, int]


# The identifiers identity_keys() reads, as a visitor's row holds them in ``known``.
_IDENTIFIERS: Final = operator.attrgetter("entity_urn", "public_identifier", "profile_url",
                                          "navigation_url")


def _resolve(conn: Connection, account_id: str, visitors: Sequence[Visitor], *,
             settle: bool) -> _Resolved:
    """Find who each of ``visitors`` is: a known visitor, a new one, or anonymous.

    Most rows of a sync are visitors seen before with the same identifiers: their
    strongest key is their row's key, and every other key of theirs was recorded (as an
    alias, or found to be another visitor's) when the row last took those identifiers. So
    with ``settle``, the visitors are first looked up by their strongest keys alone; only
    the other rows (new, changed identifiers, seen before under a weaker key) have all their
    keys computed and looked up. (A change to the identity rules therefore needs a migration
    that records the new keys of the stored visitors.) Without it (a page of new visitors,
    ``_any_known``), every row's keys are looked up at once: the first lookup would find
    no one. Either way, the same visitors are found.
    """
    key_of: list[str | None]
    keys_of: list[tuple[str, ...] | None]
    if settle:
        key_of = list(map(visitor_key, visitors))
        numbers = {key: key_number(key) for key in key_of if key is not None}
        known = _lookup_known(conn, account_id, list(numbers), numbers) if numbers else {}
        keys_of = [None if key else () for key in key_of]
        unsettled: list[int] = []
        for index, key in enumerate(key_of):
            if key is None:
                continue
            state = known.get(key)
            # (known: view, its interval and first observation, visits, the fields...)
            if (state is None or _IDENTIFIERS(visitors[index])
                    != (state[5], state[6], state[11], state[12])):
                keys_of[index] = identity_keys(visitors[index])
                unsettled.append(index)
    else:
        keys_of = list(map(identity_keys, visitors))
        key_of = [keys[0] if keys else None for keys in keys_of]
        numbers, known = {}, {}
        unsettled = [index for index, key in enumerate(key_of) if key is not None]
    aliases = {key: key for key in known}
    if unsettled:
        others = list(dict.fromkeys(key for index in unsettled for key in keys_of[index] or ()
                                    if key not in known))
        _number(numbers, others)
        aliases.update(_lookup_others(conn, account_id, others, numbers) if others else {})
        unloaded: dict[str, None] = {}  # visitors found by another key than their own
        # (No key recorded, a page of new visitors: each row keeps its strongest key.)
        for index in unsettled if aliases else ():
            keys = keys_of[index] or ()
            found = _recorded_key(keys, aliases)
            key_of[index] = keys[0] if found is None else found
            if found is not None and found not in known:
                unloaded[found] = None
        if unloaded:
            _number(numbers, unloaded)
            known.update(_lookup_known(conn, account_id, list(unloaded), numbers))
            aliases.update((key, key) for key in unloaded if key in known)
    return _Resolved(key_of, keys_of, known, aliases, numbers)


def _trusted_views(
    conn: Connection, account_id: str, known: dict[str, tuple[Any, ...]], received_at: float
) -> set[str]:
    """Put back, in ``known``, the latest view each visitor had before a clock ran ahead.

    A visitor's latest view first recorded later than this page's clock (plus the slack)
    was recorded by a clock ahead of this one: judged against it, every later view would
    look like the same view until real time caught up. Its latest view recorded no later
    than now stands in for it (a visitor first seen by that clock keeps its view, flagged
    by ``decide(known_is_ahead=True)``). Rare, so one more query only when it happens.

    Returns:
        The keys whose stand-in view must become the visitor's latest again, if it is seen.
    """
    ahead = [key for key, state in known.items() if state[3] > received_at + SLACK]
    replaced: set[str] = set()
    for chunk in _chunks(ahead):
        for key, view_id, earliest, latest, first_observed in conn.fetch_all(
            "SELECT key, id, earliest, latest, first_observed FROM views "  # noqa: S608 - fields only
            f"WHERE account_id = {{1}} AND first_observed <= {{2}} "
            f"AND key IN ({fields(3, len(chunk))}) ORDER BY id",
            (account_id, received_at + SLACK, *chunk),
        ):
            known[key] = (view_id, earliest, latest, first_observed, *known[key][4:])
            replaced.add(key)
    return replaced


def _recorded_key(keys: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    """The key of the recorded visitor a row with ``keys`` is: the first of its keys that is
    a visitor's own key, else the visitor one of them is an alias of; ``None`` when none of
    them is recorded (a new visitor, whose key is its strongest)."""
    for key in keys:
        if aliases.get(key) == key:
            return key
    for key in keys:
        found = aliases.get(key)
        if found is not None:
            return found
    return None


# A page's unchanged visitors, each seen again in its latest view, recorded by one statement
# a chunk (see _observe_unchanged). Its fields: {1} the account, {2} the page's clock, {3}
# the latest first observation trusted against it, {4} the slack; then each row's key, its
# number, its observed interval and its eight fields. Rules restated from decide_bounds
# (the overlap and the intersection) and _resolve (a settled row): tests hold the two ways
# to the same rows.
_VISITOR_FIELDS: Final = ("entity_urn", "public_identifier", "name", "headline",
                          "profile_picture", "connection_degree", "profile_url",
                          "navigation_url")
_ROW_FIELDS: Final = 4 + len(_VISITOR_FIELDS)
_UNCHANGED_FIELDS: Final = tuple(
    f"(v.{column} = p.{column} OR (v.{column} IS NULL AND p.{column} IS NULL))"
    for column in _VISITOR_FIELDS)
_LOW: Final = "CASE WHEN views.earliest > p.earliest THEN views.earliest ELSE p.earliest END"
_HIGH: Final = "CASE WHEN views.latest < p.latest THEN views.latest ELSE p.latest END"


def _unchanged_row(start: int) -> str:
    key, number, earliest, latest, *texts = (f"{{{index}}}" for index in
                                             range(start, start + _ROW_FIELDS))
    return (f"({key}, CAST({number} AS BIGINT), CAST({earliest} AS DOUBLE PRECISION), "
            f"CAST({latest} AS DOUBLE PRECISION), {', '.join(texts)})")


@functools.lru_cache(maxsize=8)
def _unchanged_statement(count: int) -> str:
    rows = ", ".join(map(_unchanged_row, range(5, 5 + count * _ROW_FIELDS, _ROW_FIELDS)))
    return (
        f"WITH p (key, key_number, earliest, latest, {', '.join(_VISITOR_FIELDS)}) AS "  # noqa: S608 - fields only
        f"(VALUES {rows}) "
        f"UPDATE views SET earliest = CASE WHEN {_LOW} <= {_HIGH} THEN {_LOW} "
        f"ELSE ({_LOW} + {_HIGH}) / 2 END, "
        f"latest = CASE WHEN {_LOW} <= {_HIGH} THEN {_HIGH} ELSE ({_LOW} + {_HIGH}) / 2 END, "
        "last_observed = {2}, observations = observations + 1 "
        "FROM p JOIN visitors v ON v.key = p.key AND v.key_number = p.key_number "
        "AND v.account_id = {1} "
        "WHERE views.id = v.view_id AND views.earliest IS NOT NULL "
        "AND views.latest IS NOT NULL AND views.first_observed <= {3} "
        "AND views.earliest < p.latest + {4} AND p.earliest < views.latest + {4} "
        f"AND {' AND '.join(_UNCHANGED_FIELDS)} RETURNING views.key")


# The statement's sizes in rows: a chunk is padded with rows that match nothing up to the
# next, so a few statements are prepared once each, whatever a page's count of candidates
# (preparing statements of 80 and 10 rows took 11.7 M instructions, more than a page's
# whole work), and a page pays for at most 15 rows of padding.
_UNCHANGED_SIZES: Final = tuple(range(16, 129, 16))
# A row that matches nothing (no key is empty), without NULLs: binding None costs Python's
# sqlite3 a failed adapter lookup, a formatted AttributeError, about 4,000 instructions.
_NO_ROW: Final = ("", 0, 0.0, 0.0, *("",) * (_ROW_FIELDS - 4))


def _any_known(conn: Connection, account_id: str, visitors: Sequence[Visitor]) -> bool:
    """Whether the page's first, middle or last visitor is known (or the three are
    anonymous): a page of new visitors, a first sync's, skips the statement and the lookup
    by strongest keys at this cost."""
    last = len(visitors) - 1
    sample = list(dict.fromkeys(filter(None, (
        visitor_key(visitors[index]) for index in (0, last // 2, last)))))
    if not sample:
        return True
    match, values = conn.key_match("key", 2, sample, [key_number(key) for key in sample])
    return bool(conn.fetch_value(f"SELECT count(*) FROM visitors WHERE {match} "  # noqa: S608 - fields only
                                 "AND account_id = {1}", (account_id, *values)))


def _observe_unchanged(conn: Connection, account_id: str, visitors: Sequence[Visitor],
                       received_at: float, rows: PageRows | None) -> dict[int, str] | None:
    """Record the page's visitors seen before, unchanged, in their latest view, as
    ``apply_page`` would, in one statement a chunk run by the engine, after the savepoint
    ``unchanged``; the rows done (their places in the page, and their keys). ``None``: no
    statement ran, and no savepoint was taken.

    A row qualifies when its strongest key is a visitor's own, with the same eight fields
    (so it is settled, see ``_resolve``), whose latest view overlaps the observed one and
    was first recorded by a clock no later than this page's (see ``_trusted_views``): the
    view's interval becomes the intersection, its last observation this page's. A key the
    page shows twice, one whose result is kept (``rows.track``), an unreadable text: the
    general way. (``apply_page`` skips it for a page of new visitors, ``_any_known``.)
    """
    keys = list(map(visitor_key, visitors))
    shown = collections.Counter(keys)
    tracked = rows.track if rows is not None else ()
    intervals: dict[str | None, Bounds | None] = {}
    candidates: list[tuple[int, str, Bounds]] = []
    for index, (v, key) in enumerate(zip(visitors, keys, strict=True)):
        if key is None or shown[key] > 1 or key in tracked:
            continue
        observed = intervals.get(v.viewed_at, _NOT_READ)
        if observed is _NOT_READ:
            observed = intervals[v.viewed_at] = view_bounds(v.viewed_at, received_at)
        if observed is not None:
            candidates.append((index, key, observed))
    if not candidates:
        return None
    conn.execute("SAVEPOINT unchanged")
    done: set[str] = set()
    largest = _UNCHANGED_SIZES[-1]
    for start in range(0, len(candidates), largest):
        chunk = candidates[start : start + largest]
        size = next(size for size in _UNCHANGED_SIZES if size >= len(chunk))
        parameters: list[Any] = [account_id, received_at, received_at + SLACK, SLACK]
        for index, key, (earliest, latest) in chunk:
            v = visitors[index]
            parameters += (key, key_number(key), earliest, latest, v.entity_urn,
                           v.public_identifier, v.name, v.headline, v.profile_picture,
                           v.connection_degree, v.profile_url, v.navigation_url)
        parameters += _NO_ROW * (size - len(chunk))
        done.update(key for key, in conn.fetch_all(_unchanged_statement(size), parameters))
    return {index: key for index, key, _ in candidates if key in done}


@attrs.frozen
class _NewView:
    """The place of a view among a page's new views, until the engine gives it its id."""

    index: int


def _with_ids(rows: list[tuple[Any, ...]], column: int,
              ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """``rows`` with a ``_NewView`` in ``column`` replaced by that view's id."""
    def filled(row: tuple[Any, ...]) -> tuple[Any, ...]:
        value = row[column]
        if not isinstance(value, _NewView):
            return row
        cells = list(row)
        cells[column] = ids[value.index]
        return tuple(cells)

    return [filled(row) for row in rows]


def apply_page(
    conn: Connection,
    sync_id: int,
    account_id: str,
    visitors: Sequence[Visitor],
    received_at: float,
    checkpoint: str | None,
    rows: PageRows | None = None,
) -> PageOutcome:
    """Record ``visitors`` (as every store records them: ``storable_visitors``) and
    ``checkpoint``; the caller holds the transaction.

    With ``rows``, also give the page's share of its sync's result there (see ``_run``).
    """
    page = visitors
    # A page whose first, middle and last visitors are new (a first sync's) is taken for a
    # page of new visitors: nothing for the statement, one lookup of every row's keys.
    seen_before = bool(page) and _any_known(conn, account_id, page)
    done = (_observe_unchanged(conn, account_id, page, received_at, rows)
            if seen_before and conn.updates_returning else None)
    if done:
        visitors = [v for index, v in enumerate(page) if index not in done]
    # A visitor's own key is its row's key; only its other identifiers are aliases. So the
    # common case (the URN) is one lookup in visitors, and a new visitor costs one alias row
    # less in a randomly ordered index (most of a page's commit).
    resolved = _resolve(conn, account_id, visitors, settle=seen_before)
    if done and not {*resolved.key_of}.isdisjoint(done.values()):
        # Another row of the page is one of those visitors under another key (an alias): the
        # order of the page's rows decides, so the whole page goes the general way.
        conn.execute("ROLLBACK TO unchanged")
        visitors = page
        resolved = _resolve(conn, account_id, visitors, settle=True)
    if done is not None:
        conn.execute("RELEASE unchanged")
    known, aliases, numbers = resolved.known, resolved.aliases, resolved.numbers
    repoint = _trusted_views(conn, account_id, known, received_at)
    before = dict(known) if rows is not None else {}
    # A visitor's state after its row is needed again only if the page shows it again.
    named = [key for key in resolved.key_of if key is not None]
    repeated = set() if len(set(named)) == len(named) else {
        key for key, times in collections.Counter(named).items() if times > 1}
    # A page's texts repeat ("Viewed 2d ago"), and at one receive time so do their intervals.
    intervals: dict[str | None, Bounds | None] = {}
    unreadable = (None, None)
    trusted_until = received_at + SLACK  # (a view first recorded later: see decide())
    same_view, new_visitor = ViewDecision.SAME_VIEW, ViewDecision.NEW_VISITOR

    new_visitors: list[tuple[Any, ...]] = []  # each with its view's place, at the same index:
    new_visitor_views: list[int] = []
    new_views: list[tuple[Any, ...]] = []
    new_aliases: list[tuple[str, str, str, int]] = []  # each alias once (see aliases)
    events: list[tuple[Any, ...]] = []
    moved: list[tuple[Any, ...]] = []  # visitors whose latest view is a new one
    refreshed: list[tuple[Any, ...]] = []  # visitors whose fields changed, same view
    same: list[tuple[Any, ...]] = []  # views seen again, interval intersected
    back: list[tuple[Any, ...]] = []  # visitors whose latest view is an earlier one again
    anonymous: list[tuple[Any, ...]] = []
    received: dict[str, Visitor] = {}  # key -> the page's visitor of a new or moved row
    returning = 0  # new views of known visitors (the new visitors are new_visitors)

    for v, key, keys in zip(visitors, resolved.key_of, resolved.keys_of, strict=True):
        observed = intervals.get(v.viewed_at, _NOT_READ)
        if observed is _NOT_READ:
            observed = intervals[v.viewed_at] = view_bounds(v.viewed_at, received_at)
        if key is None:
            bounds = observed or unreadable
            anonymous.append((account_id, v.name, v.headline, v.viewed_at, *bounds,
                              received_at, sync_id))
            continue
        fields = (v.entity_urn, v.public_identifier, v.name, v.headline, v.profile_picture,
                  v.connection_degree, v.profile_url, v.navigation_url)
        state = known.get(key)
        interval = None if state is None or state[1] is None else (state[1], state[2])
        # A view first recorded later than this page's clock came from a clock that ran
        # ahead: its interval cannot be trusted against this one (see decide()).
        ahead = state is not None and state[3] > trusted_until
        # (A visitor not known is new, with the observed interval: decide_bounds' first
        # rule, without a call for each of a fresh page's rows.)
        decision, kept = (decide_bounds(interval, observed, is_known=True, known_is_ahead=ahead)
                          if state is not None else (new_visitor, observed))
        bounds = kept or unreadable
        if keys:  # (None: settled, every key recorded; see _resolve)
            for alias in keys:
                if alias not in aliases:  # (a key is its own alias here, never in the table)
                    aliases[alias] = key
                    if alias != key:
                        new_aliases.append((account_id, alias, key, numbers[alias]))
        if decision is same_view:
            assert state is not None
            view_id = state[0]
            first_observed = min(state[3], received_at) if ahead else state[3]
            same.append((*bounds, received_at, first_observed, view_id))
            if key in repoint:
                back.append((view_id, numbers[key], key, account_id))
            # (known: view, its interval and first observation, visits, the fields, the
            # visitor's viewed_at, first_seen, last_seen.)
            if fields != state[5:13]:
                received.pop(key, None)
                refreshed.append((*fields, v.viewed_at, received_at, numbers[key], key,
                                  account_id))
                if key in repeated:
                    known[key] = (view_id, *bounds, first_observed, state[4], *fields,
                                  v.viewed_at, state[14], received_at)
            elif key in repeated:
                known[key] = (view_id, *bounds, first_observed, *state[4:])
            continue
        # The view's id is the engine's, known once it is inserted: until then, the rows
        # that point at it hold its place among this page's new views (a _NewView; a new
        # visitor's row gets its view's id last, see below).
        place = len(new_views)
        first = decision is new_visitor
        number = numbers[key]
        # (first_view as 1 or 0: Python's sqlite3 binds a bool only after a failed adapter
        # lookup, a formatted AttributeError, some 4,000 instructions a row.)
        new_views.append((account_id, key, v.viewed_at, *bounds, received_at,
                          received_at, 1 if first else 0, sync_id, number))
        if first:
            new_visitors.append((account_id, key, *fields, v.viewed_at, received_at,
                                 received_at, number))
            new_visitor_views.append(place)
            visits = 1
            events.append((account_id, key, _NEW_VISITOR, received_at, sync_id, visits, number))
        else:
            assert state is not None
            visits = state[4] + 1
            returning += 1
            moved.append((*fields, v.viewed_at, received_at, _NewView(place), number, key,
                          account_id))
            if key in repeated:
                # The page's later row stands: the statements run by kind (the moved rows
                # before the refreshed and the repointed), so an earlier row's goes.
                refreshed = [row for row in refreshed if row[-2] != key]
                back = [row for row in back if row[-2] != key]
            events.append((account_id, key, _RETURNING_VISITOR, received_at, sync_id, visits,
                           number))
        if rows is not None:
            received[key] = v
        if key in repeated:
            known[key] = (_NewView(place), *bounds, received_at, visits, *fields, v.viewed_at,
                          received_at if state is None else state[14], received_at)

    if new_views:
        view_ids = conn.insert_ids(
            "INSERT INTO views (account_id, key, viewed_at, earliest, latest, "
            "first_observed, last_observed, first_view, sync_id, key_number) "
            "VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10})",
            new_views)
        new_visitors = [(*row, view_ids[place])
                        for row, place in zip(new_visitors, new_visitor_views, strict=True)]
        moved = _with_ids(moved, 10, view_ids)
        same = _with_ids(same, -1, view_ids)
        back = _with_ids(back, 0, view_ids)
    if new_visitors:
        conn.executemany(
            "INSERT INTO visitors (account_id, key, entity_urn, public_identifier, name, "
            "headline, profile_picture, connection_degree, profile_url, navigation_url, "
            "viewed_at, first_seen, last_seen, key_number, view_id) VALUES ({1}, {2}, {3}, "
            "{4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13}, {14}, {15})",
            new_visitors)
    if new_aliases:
        conn.executemany("INSERT INTO aliases (account_id, alias, key, alias_number) "
                         "VALUES ({1}, {2}, {3}, {4}) ON CONFLICT DO NOTHING",
                         new_aliases)
    if events:
        conn.executemany("INSERT INTO events (account_id, key, kind, created, sync_id, visits, "
                         "key_number) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7})", events)
    if moved:
        conn.executemany(
            "UPDATE visitors SET entity_urn = {1}, public_identifier = {2}, name = {3}, "
            "headline = {4}, profile_picture = {5}, connection_degree = {6}, "
            "profile_url = {7}, navigation_url = {8}, viewed_at = {9}, last_seen = {10}, "
            "view_id = {11}, views = views + 1 "
            "WHERE key_number = {12} AND key = {13} AND account_id = {14}", moved)
    if refreshed:
        conn.executemany(
            "UPDATE visitors SET entity_urn = {1}, public_identifier = {2}, name = {3}, "
            "headline = {4}, profile_picture = {5}, connection_degree = {6}, "
            "profile_url = {7}, navigation_url = {8}, viewed_at = {9}, last_seen = {10} "
            "WHERE key_number = {11} AND key = {12} AND account_id = {13}", refreshed)
    if back:
        conn.executemany(
            "UPDATE visitors SET view_id = {1} "
            "WHERE key_number = {2} AND key = {3} AND account_id = {4}", back)
    if same:
        conn.executemany(
            "UPDATE views SET earliest = {1}, latest = {2}, last_observed = {3}, "
            "first_observed = {4}, observations = observations + 1 WHERE id = {5}", same)
    if anonymous:
        conn.executemany(
            "INSERT INTO anonymous (account_id, name, headline, viewed_at, earliest, latest, "
            "observed, sync_id) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})", anonymous)
    if rows is not None:
        _page_rows(rows, account_id, received_at, before, named, repeated, new_views,
                   view_ids if new_views else [], new_visitors, new_visitor_views, moved,
                   refreshed, back, same, received)
        rows.anonymous += (anonymous_sighting(row[:7]) for row in anonymous)
    outcome = PageOutcome(
        new=len(new_visitors), returning=returning,
        unchanged=len(page) - len(anonymous) - len(new_visitors) - returning,
        anonymous=len(anonymous),
    )
    conn.execute(
        "UPDATE syncs SET checkpoint = {1}, clock = {2}, error = NULL, pages = pages + 1, "
        "new_count = new_count + {3}, returning_count = returning_count + {4}, "
        "unchanged_count = unchanged_count + {5}, anonymous_count = anonymous_count + {6} "
        "WHERE id = {7}",
        (checkpoint, received_at, outcome.new, outcome.returning, outcome.unchanged,
         outcome.anonymous, sync_id),
    )
    return outcome


def _page_rows(
    rows: PageRows,
    account_id: str,
    received_at: float,
    before: dict[str, tuple[Any, ...]],
    touched: list[str],
    repeated: set[str],
    new_views: list[tuple[Any, ...]],
    view_ids: Sequence[int],
    new_visitors: list[tuple[Any, ...]],
    new_visitor_views: list[int],
    moved: list[tuple[Any, ...]],
    refreshed: list[tuple[Any, ...]],
    back: list[tuple[Any, ...]],
    same: list[tuple[Any, ...]],
    received: dict[str, Visitor],
) -> None:
    """Fill ``rows`` with the page's new and returning visitors, each as its row stands
    after the page's statements.

    A new visitor the page shows once stands as its row was written: its result is made
    from the page's own visitor at once. The others are replayed here in the order
    ``apply_page`` ran its statements (so a visitor seen twice in a page ends as the store
    has it, whichever way that went).

    ``received``: the page's own visitor of each key whose row it wrote last (a new or a
    new view's row, not refreshed since): the result's visitor is that object itself when
    it was received at the time the row says, as it is unless a sync has its own clock.
    ``new_visitor_views``: the place of each new visitor's view among ``new_views``."""
    rows.new = [row[1] for row in new_visitors]
    rows.returning = [row[1] for row in new_views if not row[7]]
    times = PageTimes()  # the page's views share their bounds
    now = utc_time(received_at)
    assert now is not None
    replayed = {*rows.returning}
    replayed.update(key for key in touched if key in rows.track)
    seen_rows = rows.seen
    for row, place in zip(new_visitors, new_visitor_views, strict=True):
        key = row[1]
        own = received.get(key)
        if own is None or key in repeated or own.fetched_at != now:
            replayed.add(key)
            continue
        view = new_views[place]
        seen_rows[key] = seen(account_id, key, own, now, 1, times[view[3], view[4]])
    if not replayed:
        return
    # key -> the visitor's row: its 8 fields, viewed_at, last_seen, first_seen, view, views
    state: dict[str, list[Any]] = {}
    bounds: dict[Any, tuple[Any, Any]] = {}
    for key in replayed:
        was = before.get(key)
        if was is not None:
            state[key] = [*was[5:13], was[13], was[15], was[14], was[0], was[4]]
            bounds[was[0]] = (was[1], was[2])
    for row in new_visitors:
        if row[1] in replayed:
            state[row[1]] = [*row[2:11], row[12], row[11], row[14], 1]
    for index, row in enumerate(new_views):
        bounds[view_ids[index]] = (row[3], row[4])
    for row in moved:
        visitor = state.get(row[-2])
        if visitor is not None:
            visitor[:10] = row[:10]
            visitor[11] = row[10]
            visitor[12] += 1
    for row in refreshed:
        visitor = state.get(row[-2])
        if visitor is not None:
            visitor[:10] = row[:10]
    for row in back:
        visitor = state.get(row[-2])
        if visitor is not None:
            visitor[11] = row[0]
    for row in same:
        bounds[row[-1]] = (row[0], row[1])
    for key in replayed:
        (urn, public_id, name, headline, picture, degree, url, nav, viewed_at, last_seen,
         first_seen, view_id, visits) = state[key]
        own = received.get(key)
        if own is not None and own.fetched_at != utc_time(last_seen):
            own = None
        seen_rows[key] = seen_visitor((
            account_id, key, urn, public_id, name, headline, picture, viewed_at, degree, url,
            nav, last_seen, first_seen, visits, *bounds[view_id]), own)
