"""The store's connection: the few operations the history needs, as a protocol.

Every operation of the history (``_operations``, ``_writes``, ``_queries``, ``_ledger``,
``_accounts``) is a blocking function of a ``Connection``, run on the store's thread. Two
engines implement it natively: ``SQLiteConnection`` (``_sqlite_connection``, stdlib
``sqlite3``) and ``PgConnection`` (``_pg_connection``, asyncpg).

Statements are written once, as templates whose parameters are numbered fields: ``{1}``,
``{2}``... Each engine fills the fields with its own placeholders, ``?1, ?2`` for sqlite3
and ``$1, $2`` for asyncpg, by ``str.format`` (cached per template): templating, chosen per
engine, never parsing the text. A list of values (an ``IN``) is spelled by ``fields(start,
n)``. Everything else in a statement must be SQL both engines speak alike; where they do
not, the difference is a method, implemented by each engine in its own terms:

- ``insert_id`` / ``insert_ids``: the id the engine made for a new row (an SQLite
  ``INTEGER PRIMARY KEY``, a PostgreSQL identity column): sqlite3's ``cursor.lastrowid``
  (no ``RETURNING``, which SQLite has only since 3.35); asyncpg's ``RETURNING id``, which
  that method adds to the statement it was given, an ``INSERT`` by contract;
- ``key_match``: how a lookup of keys finds their rows. SQLite indexes a key by its number
  alone (``_text.key_number``, 8-byte entries: a page of random new keys lands on a few index
  pages); PostgreSQL by its primary key, which leads with the text;
- ``updates_returning``: whether the engine runs an ``UPDATE ... FROM ... RETURNING`` (SQLite
  since 3.35, PostgreSQL always); without it a page's unchanged views are written the
  general way (``_writes``);
- ``write(*scopes)``: a write transaction, scoped to what it protects. SQLite has one
  writer per file (``BEGIN IMMEDIATE``), whatever the scope; PostgreSQL takes a
  transaction-level advisory lock per scope (an account id), so the page commits of
  different accounts never wait for each other, and two writers of one account's rows
  take turns. A write that touches rows no other write can (one row by its id; an upsert
  the engine makes atomic) names no scope.

How two processes take turns at a sync or an events loop is the store's, not the
connection's: a lock file beside an SQLite file, session advisory locks on PostgreSQL
(``PgConnection.try_locks``); the operations never see them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Connection", "fields"]

Row = tuple[Any, ...]


@functools.lru_cache(maxsize=256)
def fields(start: int, count: int) -> str:
    """The template fields ``{start}, {start + 1}, ...``: ``count`` of them (an IN list;
    the same few lengths come back page after page, so each is spelled once)."""
    return ", ".join(f"{{{index}}}" for index in range(start, start + count))


class Connection(Protocol):
    """One connection to a store, used from the store's thread only.

    ``sql`` is always a template (see the module); ``parameters`` fill its fields in order.
    """

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> None:
        """Run one statement once per row of parameters."""
        ...

    def fetch_all(self, sql: str, parameters: Sequence[Any] = (), /) -> list[Row]:
        """Every row a query returns, as tuples."""
        ...

    def fetch_one(self, sql: str, parameters: Sequence[Any] = (), /) -> Row | None:
        """The first row a query returns (``None``: no row)."""
        ...

    def fetch_value(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """The first column of the first row a query returns (``None``: no row)."""
        ...

    def insert_id(self, sql: str, parameters: Sequence[Any], /) -> int:
        """Run an ``INSERT`` of one row into a table with a generated ``id``; that id."""
        ...

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]], /) -> list[int]:
        """``insert_id`` once per row of parameters; the ids, in the order of ``rows``."""
        ...

    def key_match(self, column: str, start: int, keys: Sequence[str],
                  numbers: Sequence[int], /) -> tuple[str, Sequence[Any]]:
        """A condition on ``column`` (a key, whose number is ``<column>_number``) that selects
        the rows of ``keys`` (``numbers``: theirs) by the engine's index, with its fields from
        ``start``, and the values that fill them. It may select other keys' rows too (numbers
        collide, practically never): the caller checks the key of each row it gets."""
        ...

    @property
    def updates_returning(self) -> bool:
        """Whether ``UPDATE ... FROM ... RETURNING`` runs here (see the module)."""
        ...

    def write(self, *scopes: str) -> AbstractContextManager[None]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        ``scopes`` name what it writes that another writer may write too (account ids):
        writers of a common scope take turns; writers of different ones need not.
        """
        ...
