"""The action ledger, on the store's thread: one row per person an account acted on.

A row is written, in a transaction of its own, *before* the request goes out (``claim``:
state ``pending``), and settled after it in the transaction that also marks the visitor's
event followed up (``settle``: the ledger's own acknowledgement, ``events.followed``, apart
from ``events.acked``, so ``watch`` and the follow-up each see every event). So whatever
crashes when, the ledger knows every person it may have contacted: a ``pending`` row left
by a killed run is resolved (checked, or reported unknown) before anything else is sent
(``interrupted``), and a person with a row is never contacted again. The budget is the same
rows counted in their window, so every process and run sharing the store shares one budget,
and a claim over it is refused atomically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Final, Literal

from ._connection import Connection
from ._models import VisitorEvent
from ._queries import read_events

__all__ = [
    "ActionKind",
    "claim",
    "held_until",
    "hold",
    "interrupted",
    "release",
    "settle",
    "unfollowed",
    "used",
    "window_start",
]

ActionKind = Literal["message", "invitation"]

_DAY: Final = 86400.0
_WEEK: Final = 7 * _DAY
_MONDAY: Final = 4 * _DAY  # 1970-01-01 was a Thursday: the first Monday 00:00 UTC
#: The states a row counts against the budget in: whatever may have gone out.
_SPENT: Final = ("pending", "sent", "unknown")


def window_start(kind: ActionKind, now: float) -> float:
    """Where the budget's window of ``now`` begins: the UTC day for messages, the week from
    Monday 00:00 UTC for invitations (pure)."""
    if kind == "message":
        return math.floor(now / _DAY) * _DAY
    return math.floor((now - _MONDAY) / _WEEK) * _WEEK + _MONDAY


def _begin(conn: Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


def used(conn: Connection, account_id: str, kind: ActionKind, now: float) -> int:
    """Actions of ``kind`` this account may have performed in the window of ``now``."""
    row = conn.execute(
        "SELECT count(*) FROM actions WHERE account_id = ? AND kind = ? AND decided >= ? "
        "AND state IN ('pending', 'sent', 'unknown')",
        (account_id, kind, window_start(kind, now)),
    ).fetchone()
    return int(row[0])


def held_until(conn: Connection, account_id: str, kind: ActionKind, now: float) -> float | None:
    """Until when the service holds this account's actions of ``kind`` (``None``: not held)."""
    row = conn.execute("SELECT hold_until FROM action_holds WHERE account_id = ? AND kind = ?",
                       (account_id, kind)).fetchone()
    return None if row is None or row[0] <= now else float(row[0])


def claim(
    conn: Connection, account_id: str, key: str, kind: ActionKind, recipient: str, text: str,
    event_id: int, now: float, cap: int,
) -> int | str:
    """Record an action as about to be sent; its row id, or why it may not be:
    ``"contacted"`` (this person has a row already), ``"held"`` or ``"budget"``."""
    _begin(conn)
    try:
        if conn.execute("SELECT 1 FROM actions WHERE account_id = ? AND key = ?",
                        (account_id, key)).fetchone() is not None:
            reason: str | None = "contacted"
        elif held_until(conn, account_id, kind, now) is not None:
            reason = "held"
        elif used(conn, account_id, kind, now) >= cap:
            reason = "budget"
        else:
            reason = None
            cursor = conn.execute(
                "INSERT INTO actions (account_id, key, kind, recipient, text, state, event_id, "
                "decided) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (account_id, key, kind, recipient, text, event_id, now),
            )
            assert cursor.lastrowid is not None
            action_id = cursor.lastrowid
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return reason if reason is not None else action_id


def settle(
    conn: Connection, action_id: int, state: str, detail: str | None, event_id: int | None,
) -> None:
    """Record an action's outcome and acknowledge its event, in one transaction."""
    _begin(conn)
    try:
        conn.execute("UPDATE actions SET state = ?, detail = ?, settled = ? WHERE id = ?",
                     (state, detail, time.time(), action_id))
        if event_id is not None:
            conn.execute("UPDATE events SET followed = ? WHERE id = ? AND followed IS NULL",
                         (time.time(), event_id))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def release(conn: Connection, action_id: int) -> None:
    """Forget a claimed action that provably never went out (its event stays pending)."""
    _begin(conn)
    try:
        conn.execute("DELETE FROM actions WHERE id = ? AND state = 'pending'", (action_id,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def hold(conn: Connection, account_id: str, kind: ActionKind, until: float) -> None:
    """Remember that the service holds this account's actions of ``kind`` until ``until``."""
    _begin(conn)
    try:
        conn.execute(
            "INSERT INTO action_holds (account_id, kind, hold_until) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id, kind) DO UPDATE SET hold_until = excluded.hold_until",
            (account_id, kind, until))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def interrupted(conn: Connection, account_id: str) -> Sequence[tuple[Any, ...]]:
    """The actions a killed run claimed and never settled: (id, key, kind, recipient,
    event id), oldest first."""
    return conn.execute(
        "SELECT id, key, kind, recipient, event_id FROM actions WHERE account_id = ? "
        "AND state = 'pending' ORDER BY id", (account_id,)).fetchall()


def unfollowed(conn: Connection, account_id: str, limit: int) -> list[VisitorEvent]:
    """The account's events the follow-up has not settled, oldest first: its own mark on
    each event (``followed``), whatever other consumers (``watch``) acknowledged."""
    return read_events(conn, account_id, 0, limit, "followed")


def ack_event(conn: Connection, event_id: int) -> None:
    """Mark one event followed up (a person the ledger has nothing more to do for)."""
    _begin(conn)
    try:
        conn.execute("UPDATE events SET followed = ? WHERE id = ? AND followed IS NULL",
                     (time.time(), event_id))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
