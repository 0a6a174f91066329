"""``SQLiteConnection``: the store's ``Connection`` (``_connection``) on stdlib ``sqlite3``.

Templates get ``?1, ?2...`` (SQLite's numbered parameters, bound from a sequence); new ids
are ``cursor.lastrowid`` of an ``INTEGER PRIMARY KEY``; keys are found by their numbers
(``key_match``); a write is ``BEGIN IMMEDIATE``: the file has one writer at a time,
whatever the scope, and takes the lock before it reads.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Final

from ._connection import Row, fields

__all__ = ["SQLiteConnection"]

# Enough for any statement of ours: the longest is the unchanged views' statement of 128
# rows (_writes._unchanged_statement, 1,540 fields), which runs only on SQLite 3.35+, whose
# limit is 32,766; every other stays under the 999 of old builds.
_MARKS: Final = tuple(f"?{index}" for index in range(2000))


@functools.lru_cache(maxsize=512)
def _text(template: str) -> str:
    return template.format(*_MARKS)


class SQLiteConnection:
    """One ``sqlite3`` connection in autocommit mode (transactions are ours: ``write``)."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> int:
        return self.raw.execute(_text(sql), parameters).rowcount

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> None:
        self.raw.executemany(_text(sql), rows)

    def fetch_all(self, sql: str, parameters: Sequence[Any] = (), /) -> list[Row]:
        return self.raw.execute(_text(sql), parameters).fetchall()

    def fetch_one(self, sql: str, parameters: Sequence[Any] = (), /) -> Row | None:
        row: Row | None = self.raw.execute(_text(sql), parameters).fetchone()
        return row

    def fetch_value(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        row = self.fetch_one(sql, parameters)
        return None if row is None else row[0]

    def insert_id(self, sql: str, parameters: Sequence[Any], /) -> int:
        new_id = self.raw.execute(_text(sql), parameters).lastrowid
        assert new_id is not None
        return new_id

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]], /) -> list[int]:
        # The first row by execute() (its lastrowid), the others by one executemany(): a new
        # INTEGER PRIMARY KEY is one past the largest in the table, and in a write
        # transaction no one else inserts, so their ids follow the first. Only a table whose
        # largest id is 2**63 - 1 gets random ones: then, seen by the last id, the others
        # are taken back and inserted one by one.
        if not rows:
            return []
        text, execute = _text(sql), self.raw.execute
        first = execute(text, rows[0]).lastrowid
        assert first is not None
        if len(rows) == 1:
            return [first]
        execute("SAVEPOINT insert_ids")
        self.raw.executemany(text, rows[1:])
        last = execute("SELECT last_insert_rowid()").fetchone()[0]
        consecutive = last == first + len(rows) - 1
        if not consecutive:
            execute("ROLLBACK TO insert_ids")
        execute("RELEASE insert_ids")
        if consecutive:
            return list(range(first, last + 1))
        ids = [first, *(execute(text, row).lastrowid for row in rows[1:])]
        assert None not in ids
        return ids  # type: ignore[return-value]  # not None, asserted

    @property
    def updates_returning(self) -> bool:
        return sqlite3.sqlite_version_info >= (3, 35, 0)

    def key_match(self, column: str, start: int, keys: Sequence[str],
                  numbers: Sequence[int], /) -> tuple[str, Sequence[Any]]:
        # The number's index alone: checking the texts too, in SQL, costs a third more than
        # the lookup by numbers (an ephemeral index of the texts per statement).
        return f"{column}_number IN ({fields(start, len(numbers))})", numbers

    @contextlib.contextmanager
    def write(self, *scopes: str) -> Iterator[None]:
        del scopes  # one writer per file: every write excludes every other
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def close(self) -> None:
        self.raw.close()
