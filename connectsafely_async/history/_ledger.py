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


def used(conn: Connection, account_id: str, kind: ActionKind, now: float) -> int:
    """Actions of ``kind`` this account may have performed in the window of ``now``."""
    return int(conn.fetch_value(
        "SELECT count(*) FROM actions WHERE account_id = {1} AND kind = {2} "
        "AND decided >= {3} AND state IN ('pending', 'sent', 'unknown')",
        (account_id, kind, window_start(kind, now)),
    ))


def held_until(conn: Connection, account_id: str, kind: ActionKind, now: float) -> float | None:
    """Until when the service holds this account's actions of ``kind`` (``None``: not held)."""
    row = conn.fetch_one(
        "SELECT hold_until FROM action_holds WHERE account_id = {1} AND kind = {2}",
        (account_id, kind))
    return None if row is None or row[0] <= now else float(row[0])


def claim(
    conn: Connection, account_id: str, key: str, kind: ActionKind, recipient: str, text: str,
    event_id: int, now: float, cap: int,
) -> int | str:
    """Record an action as about to be sent; its row id, or why it may not be:
    ``"contacted"`` (this person has a row already), ``"held"`` or ``"budget"``."""
    with conn.write(account_id):  # the account's budget: one claim at a time
        if conn.fetch_one("SELECT 1 FROM actions WHERE account_id = {1} AND key = {2}",
                          (account_id, key)) is not None:
            return "contacted"
        if held_until(conn, account_id, kind, now) is not None:
            return "held"
        if used(conn, account_id, kind, now) >= cap:
            return "budget"
        return conn.insert_id(
            "INSERT INTO actions (account_id, key, kind, recipient, text, state, event_id, "
            "decided) VALUES ({1}, {2}, {3}, {4}, {5}, 'pending', {6}, {7})",
            (account_id, key, kind, recipient, text, event_id, now),
        )


def settle(
    conn: Connection, action_id: int, state: str, detail: str | None, event_id: int | None,
) -> None:
    """Record an action's outcome and acknowledge its event, in one transaction."""
    with conn.write():  # rows by their ids
        conn.execute("UPDATE actions SET state = {1}, detail = {2}, settled = {3} "
                     "WHERE id = {4}",
                     (state, detail, time.time(), action_id))
        if event_id is not None:
            _follow(conn, event_id)


def release(conn: Connection, action_id: int) -> None:
    """Forget a claimed action that provably never went out (its event stays pending)."""
    with conn.write():  # a row by its id
        conn.execute("DELETE FROM actions WHERE id = {1} AND state = 'pending'", (action_id,))


def hold(conn: Connection, account_id: str, kind: ActionKind, until: float) -> None:
    """Remember that the service holds this account's actions of ``kind`` until ``until``."""
    with conn.write():  # an upsert: the engine makes it atomic
        conn.execute(
            "INSERT INTO action_holds (account_id, kind, hold_until) VALUES ({1}, {2}, {3}) "
            "ON CONFLICT (account_id, kind) DO UPDATE SET hold_until = excluded.hold_until",
            (account_id, kind, until))


def interrupted(conn: Connection, account_id: str) -> Sequence[tuple[Any, ...]]:
    """The actions a killed run claimed and never settled: (id, key, kind, recipient,
    event id), oldest first."""
    return conn.fetch_all(
        "SELECT id, key, kind, recipient, event_id FROM actions WHERE account_id = {1} "
        "AND state = 'pending' ORDER BY id", (account_id,))


def unfollowed(conn: Connection, account_id: str, limit: int) -> list[VisitorEvent]:
    """The account's events the follow-up has not settled, oldest first: its own mark on
    each event (``followed``), whatever other consumers (``watch``) acknowledged."""
    return read_events(conn, account_id, 0, limit, "followed")


def ack_event(conn: Connection, event_id: int) -> None:
    """Mark one event followed up (a person the ledger has nothing more to do for)."""
    with conn.write():  # a row by its id
        _follow(conn, event_id)


def _follow(conn: Connection, event_id: int) -> None:
    conn.execute("UPDATE events SET followed = {1} WHERE id = {2} AND followed IS NULL",
                 (time.time(), event_id))
