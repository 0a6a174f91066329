"""The store's work, run on its thread: one transaction per page, opening and finishing a
sync, acknowledging events, settings.

Every function takes the connection first and blocks. The same functions serve every
backend: an ``sqlite3.Connection``, or the PostgreSQL connection that speaks the same small
part of its API (``_pg_connection``). The SQL is written once, in the dialect both accept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from .._models import Visitor
from ._accounts import adopt, resolve
from ._connection import Connection
from ._models import SyncResult
from ._queries import read_sync
from ._store import PageOutcome, SyncStart, observe
from ._writes import apply_page

__all__ = [
    "account_for", "ack", "begin_sync", "finish_sync", "get_meta", "seconds", "set_meta",
    "write_page",
]

T = TypeVar("T")


def _transaction(conn: Connection, fn: Callable[[], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def begin_sync(
    conn: Connection, account_id: str, filters: str, now: float, resume_within: float | None
) -> SyncStart:
    def begin() -> SyncStart:
        row = conn.execute(
            "SELECT id, checkpoint, coalesce(clock, started) FROM syncs WHERE account_id = ? "
            "AND filters = ? AND finished IS NULL ORDER BY id DESC LIMIT 1", (account_id, filters),
        ).fetchone()
        if row is not None:
            if resume_within is None or row[2] >= now - resume_within:
                return SyncStart(sync_id=row[0], resumed=True,
                                 checkpoint=json.loads(row[1]) if row[1] else None)
            # Too old to continue: the newest visitors are at the top, so start there.
            conn.execute(
                "UPDATE syncs SET finished = ?, checkpoint = NULL, error = ? WHERE id = ?",
                (time.time(), "interrupted, and not resumed: older than the resume window",
                 row[0]))
        firsts = [conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                  for table in ("views", "events", "anonymous")]
        cursor = conn.execute(
            "INSERT INTO syncs (account_id, filters, started, clock, first_view, first_event, "
            "first_anonymous) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (account_id, filters, time.time(), now, *firsts),
        )
        assert cursor.lastrowid is not None
        return SyncStart(sync_id=cursor.lastrowid, checkpoint=None)

    return _transaction(conn, begin)


def write_page(
    conn: Connection,
    sync_id: int,
    account_id: str,
    visitors: Sequence[Visitor],
    received_at: float,
    checkpoint: Callable[[], dict[str, Any] | None],
    default_is: str | None,
) -> PageOutcome:
    observations = observe(visitors, received_at)
    position = checkpoint()
    encoded = None if position is None else json.dumps(position, separators=(",", ":"))

    def write() -> PageOutcome:
        account = account_id
        if default_is and default_is != account_id:
            # A sync of the default account, and the page says which account that is.
            adopt(conn, sync_id, account_id, default_is)
            account = default_is
        return apply_page(conn, sync_id, account, observations, received_at, encoded)

    return _transaction(conn, write)


def account_for(conn: Connection, name: str) -> str:
    return resolve(conn, name)


def finish_sync(
    conn: Connection, sync_id: int, error: str | None, resumable: bool, collect: bool
) -> SyncResult:
    def finish() -> None:
        if error is None:
            conn.execute("UPDATE syncs SET finished = ?, error = NULL, checkpoint = NULL "
                         "WHERE id = ?", (time.time(), sync_id))
        elif resumable:
            conn.execute("UPDATE syncs SET error = ? WHERE id = ?", (error, sync_id))
        else:
            # The same answer would stop the walk at the same page again: the reason stays,
            # the position goes, and the next sync starts from the top.
            conn.execute("UPDATE syncs SET finished = ?, error = ?, checkpoint = NULL "
                         "WHERE id = ?", (time.time(), error, sync_id))

    _transaction(conn, finish)
    return read_sync(conn, sync_id, collect=collect)


def ack(conn: Connection, event_ids: Sequence[int]) -> int:
    if not event_ids:
        return 0
    now = time.time()
    return _transaction(conn, lambda: sum(
        conn.execute("UPDATE events SET acked = ? WHERE id = ? AND acked IS NULL",
                     (now, event_id)).rowcount
        for event_id in event_ids
    ))


def get_meta(conn: Connection, key: str, default: str | None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else str(row[0])


def set_meta(conn: Connection, key: str, value: str) -> None:
    _transaction(conn, lambda: conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)))


def seconds(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        msg = f"since/until must be datetimes, got {type(moment).__name__}"
        raise TypeError(msg)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
