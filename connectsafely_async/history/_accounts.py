"""One LinkedIn account, one history, whichever way it was named: run on the store's thread.

A sync of the workspace's default account (no id) learns which account that is from the
service's answers (every page names its ``accountId``). The store remembers the name it was
last seen under (``account_names``: ``""`` -> the id), records the sync under the id, and
readers that ask for the default account read the id's history. A history that an older SDK
kept under the bare name is merged into the id's the first time the id is learned: visitors
the id's history already knows keep its record, and their events under the old name are
acknowledged (they were announced already), so nobody is announced twice.
"""

from __future__ import annotations

import time

from ._connection import Connection

__all__ = ["DEFAULT", "adopt", "resolve"]

#: The store's name for the workspace's default account, before it is known.
DEFAULT = ""


def resolve(conn: Connection, account_id: str) -> str:
    """The account a name stands for: the id last learned for it, else the name itself."""
    row = conn.fetch_one("SELECT account_id FROM account_names WHERE name = {1}",
                         (account_id,))
    return account_id if row is None else str(row[0])


def adopt(conn: Connection, sync_id: int, previous: str, account_id: str) -> None:
    """Record that the default account is ``account_id`` (a sync of it, begun under
    ``previous``, was just told so by the service): the sync moves to it, and a history kept
    under the bare default name moves with it. The caller holds a write transaction scoped
    to both names."""
    conn.execute("UPDATE syncs SET account_id = {1} WHERE id = {2}", (account_id, sync_id))
    conn.execute("INSERT INTO account_names (name, account_id) VALUES ({1}, {2}) "
                 "ON CONFLICT (name) DO UPDATE SET account_id = excluded.account_id",
                 (DEFAULT, account_id))
    if previous != DEFAULT:
        return  # the workspace's default became another account: each keeps its own history
    name = DEFAULT
    known = "SELECT key FROM visitors WHERE account_id = {2}"
    # Visitors both histories know: the id's record stays, the name's goes, and its
    # pending events are done for every consumer (the id's history announced them already).
    now = time.time()
    conn.execute(f"UPDATE events SET acked = coalesce(acked, {{3}}), "  # noqa: S608 - fixed text
                 f"followed = coalesce(followed, {{3}}) WHERE account_id = {{1}} "
                 f"AND key IN ({known})",
                 (name, account_id, now))
    for table in ("views", "aliases", "visitors"):
        conn.execute(f"DELETE FROM {table} WHERE account_id = {{1}} AND key IN ({known})",  # noqa: S608 - fixed names
                     (name, account_id))
    conn.execute("DELETE FROM aliases WHERE account_id = {1} AND alias IN "
                 "(SELECT alias FROM aliases WHERE account_id = {2})", (name, account_id))
    for table in ("visitors", "aliases", "views", "events", "anonymous", "syncs"):
        conn.execute(f"UPDATE {table} SET account_id = {{1}} WHERE account_id = {{2}}",  # noqa: S608 - fixed names
                     (account_id, name))
