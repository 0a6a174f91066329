"""The store's work, run on its thread: one transaction per page, opening and finishing a
sync, acknowledging events, settings.

Every function takes the connection first and blocks. The same functions serve every
engine through the store's ``Connection`` (``_connection``): statements written once as
templates, each write a transaction scoped to the account it writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from .._models import Visitor
from ._accounts import adopt, resolve
from ._connection import Connection
from ._models import SyncResult
from ._queries import read_sync
from ._run import Run
from ._store import PageOutcome, SyncStart
from ._text import storable_visitors
from ._writes import apply_page

__all__ = [
    "Begun", "account_for", "ack", "begin_sync", "finish_sync", "get_meta", "seconds", "set_meta",
    "write_page",
]

@attrs.frozen
class Begun:
    """A sync as ``begin_sync`` opened it, and the run that keeps its rows (``None``: it
    keeps none, its result is read back)."""

    start: SyncStart
    run: Run | None


def begin_sync(
    conn: Connection, account_id: str, filters: str, now: float, resume_within: float | None,
    collect: bool = False,
) -> Begun:
    with conn.write(account_id):
        row = conn.fetch_one(
            "SELECT id, checkpoint, coalesce(clock, started) FROM syncs "
            "WHERE account_id = {1} AND filters = {2} AND finished IS NULL "
            "ORDER BY id DESC LIMIT 1", (account_id, filters),
        )
        if row is not None:
            if resume_within is None or row[2] >= now - resume_within:
                start = SyncStart(sync_id=row[0], resumed=True,
                                  checkpoint=json.loads(row[1]) if row[1] else None)
                # This run's rows begin here; the sync's earlier runs' are below.
                return Begun(start, _run(_firsts(conn)) if collect else None)
            # Too old to continue: the newest visitors are at the top, so start there.
            conn.execute(
                "UPDATE syncs SET finished = {1}, checkpoint = NULL, error = {2} WHERE id = {3}",
                (time.time(), "interrupted, and not resumed: older than the resume window",
                 row[0]))
        # Where the sync's rows begin, for reading them back (read_sync): every id the
        # engine makes from now on is above every id already committed. A bound, not an id.
        firsts = _firsts(conn)
        sync_id = conn.insert_id(
            "INSERT INTO syncs (account_id, filters, started, clock, first_view, first_event, "
            "first_anonymous) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7})",
            (account_id, filters, time.time(), now, *firsts),
        )
        return Begun(SyncStart(sync_id=sync_id, checkpoint=None),
                     _run(firsts) if collect else None)


def _run(firsts: list[int]) -> Run:
    return Run(first_view=firsts[0], first_event=firsts[1], first_anonymous=firsts[2])


def _firsts(conn: Connection) -> list[int]:
    """The least id a new view, event and anonymous sighting can get: every id the engine
    makes from now on is above every id already committed. A bound, not an id."""
    return [conn.fetch_value(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")  # noqa: S608 - fixed names
            for table in ("views", "events", "anonymous")]


def write_page(
    conn: Connection,
    sync_id: int,
    account_id: str,
    visitors: Sequence[Visitor],
    received_at: float,
    checkpoint: Callable[[], dict[str, Any] | None],
    default_is: str | None,
    run: Run | None = None,
) -> PageOutcome:
    visitors = storable_visitors(visitors)
    position = checkpoint()
    encoded = None if position is None else json.dumps(position, separators=(",", ":"))

    if default_is and default_is != account_id:
        # A sync of the default account, and the page says which account that is: the
        # rows of both names move, so the write holds both.
        with conn.write(account_id, default_is):
            adopt(conn, sync_id, account_id, default_is)
            outcome = apply_page(conn, sync_id, default_is, visitors, received_at, encoded)
        if run is not None:
            run.drop()  # the rows it kept may have moved or gone: read back at the end
        return outcome
    rows = None if run is None else run.page()
    with conn.write(account_id):
        outcome = apply_page(conn, sync_id, account_id, visitors, received_at, encoded,
                             rows)
    if rows is not None and run is not None:
        run.absorb(rows)  # committed
    return outcome


def account_for(conn: Connection, name: str) -> str:
    return resolve(conn, name)


def finish_sync(
    conn: Connection, sync_id: int, error: str | None, resumable: bool, collect: bool,
    run: Run | None = None, meta: Mapping[str, str] | None = None,
) -> SyncResult:
    with conn.write():  # the sync's own row (and, as it closes, the settings given with it)
        if error is None:
            conn.execute("UPDATE syncs SET finished = {1}, error = NULL, checkpoint = NULL "
                         "WHERE id = {2}", (time.time(), sync_id))
        elif resumable:
            conn.execute("UPDATE syncs SET error = {1} WHERE id = {2}", (error, sync_id))
        else:
            # The same answer would stop the walk at the same page again: the reason stays,
            # the position goes, and the next sync starts from the top.
            conn.execute("UPDATE syncs SET finished = {1}, error = {2}, checkpoint = NULL "
                         "WHERE id = {3}", (time.time(), error, sync_id))
        if error is None or not resumable:
            for key, value in (meta or {}).items():
                _put_meta(conn, key, value)
    return read_sync(conn, sync_id, collect=collect, run=run)


def ack(conn: Connection, event_ids: Sequence[int]) -> int:
    if not event_ids:
        return 0
    now = time.time()
    with conn.write():  # each row by its id; the engine makes "if still pending" atomic
        return sum(conn.execute("UPDATE events SET acked = {1} WHERE id = {2} AND acked IS NULL",
                                (now, event_id))
                   for event_id in event_ids)


def get_meta(conn: Connection, key: str, default: str | None) -> str | None:
    row = conn.fetch_one("SELECT value FROM meta WHERE key = {1}", (key,))
    return default if row is None else str(row[0])


def set_meta(conn: Connection, key: str, value: str) -> None:
    with conn.write():
        _put_meta(conn, key, value)


def _put_meta(conn: Connection, key: str, value: str) -> None:
    # An upsert: the engine makes it atomic.
    conn.execute("INSERT INTO meta (key, value) VALUES ({1}, {2}) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def seconds(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        msg = f"since/until must be datetimes, got {type(moment).__name__}"
        raise TypeError(msg)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
