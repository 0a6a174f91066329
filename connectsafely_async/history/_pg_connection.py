"""A blocking PostgreSQL connection for the store's thread: asyncpg on that thread's own loop.

The store's operations are blocking functions written against the small DB-API part that
``sqlite3`` has (``_connection``). ``PgConnection`` gives them that API over asyncpg: each
call runs its query to completion on an event loop that belongs to the store's thread,
never to the application. It translates the few places where the dialects differ:

- ``?`` placeholders become ``$1, $2, ...``;
- ``BEGIN IMMEDIATE`` (SQLite: take the write lock now) becomes ``BEGIN`` and a
  transaction-level advisory lock, so the writers of every process take turns per page,
  as SQLite's writers do: ids handed out as ``max(id) + 1`` never collide, and events are
  committed in id order, so a reader paging by id never skips one;
- an ``INSERT`` into a table with a generated id returns it, as ``lastrowid``.

Every driver error leaves here as a ``StoreError`` naming the server without its password
(and scrubbed of it). The DSN is a ``SecretURL``, revealed only in the call into asyncpg: no
frame of ours holds it as a local, so an error reporter that records locals never sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._secrets import SecretURL
from ._errors import StoreError

__all__ = ["PgConnection", "split_schema"]

logger = logging.getLogger("connectsafely_async")

T = TypeVar("T")

_PLACEHOLDER: Final = re.compile(r"\?")
_GENERATED_IDS: Final = re.compile(r"^\s*INSERT INTO (syncs|events|anonymous|actions)\b",
                                   re.IGNORECASE)
_READS: Final = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
_BEGIN_IMMEDIATE: Final = "BEGIN IMMEDIATE"


def _asyncpg() -> Any:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]  # the postgres extra

    return asyncpg


def _debug_only(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    logger.debug("on the store's connection: %s", context.get("message"))


def split_schema(dsn: SecretURL) -> tuple[SecretURL, str | None]:
    """``dsn`` without its ``schema`` query parameter (ours, not the server's), and it."""
    try:
        parts = urlsplit(dsn.reveal())
    except ValueError:
        return dsn, None  # asyncpg says what is wrong with it, when connecting
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if not schemas:
        return dsn, None
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return SecretURL(urlunsplit(parts._replace(query=rest))), schemas[-1]


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, bool]:
    """``sql`` with ``$n`` placeholders, and whether it now returns the new row's id."""
    counter = itertools.count(1)
    text = _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)
    returns_id = _GENERATED_IDS.match(text) is not None
    return (f"{text} RETURNING id" if returns_id else text), returns_id


def _rowcount(status: str) -> int:
    """The rows a command touched, from its status (``UPDATE 3``, ``INSERT 0 1``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgCursor:
    """The rows (as tuples) and counts of one statement, read like an ``sqlite3.Cursor``."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int,
                 lastrowid: int | None = None) -> None:
        self._rows = iter(rows)
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> tuple[Any, ...] | None:
        return next(self._rows, None)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self._rows


class PgConnection:
    """One asyncpg connection driven from one thread. Create it with :meth:`open`.

    Session advisory locks (``try_lock``/``unlock``) are how two workers take turns syncing
    one account; the server drops them when the connection ends, however it ends. A lost
    connection is opened again at the next statement outside a transaction while this one
    holds no session lock (with one held, the loss is an error: the lock is gone too).
    """

    def __init__(self, dsn: SecretURL, *, schema: str, connect_timeout: float,
                 command_timeout: float) -> None:
        self._dsn = dsn
        self._where = dsn.described
        self._schema = schema
        # One round trip; the schema is a checked identifier (PostgresStore), safe as a literal.
        self._begin = (f"BEGIN; SELECT pg_advisory_xact_lock("
                       f"hashtextextended('write:{schema}', 0))")
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._loop = asyncio.new_event_loop()
        # asyncpg leaves a future behind when a timed-out query ends its connection: on
        # this private loop that is ours to know (the next statement connects again), not
        # an error for the application's logs.
        self._loop.set_exception_handler(_debug_only)
        self._conn: Any = None
        self._held: dict[tuple[str, bool], int] = {}  # (name, shared) -> holds
        self._in_transaction = False

    @classmethod
    def open(cls, dsn: SecretURL, *, schema: str, connect_timeout: float,
             command_timeout: float) -> PgConnection:
        connection = cls(dsn, schema=schema, connect_timeout=connect_timeout,
                         command_timeout=command_timeout)
        try:
            connection._connect()
        except BaseException:
            connection._loop.close()
            raise
        return connection

    @property
    def where(self) -> str:
        return self._where

    # -- the DB-API part ---------------------------------------------------------------------

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> PgCursor:
        if sql == _BEGIN_IMMEDIATE:
            self._reconnect_if_lost()
            self._in_transaction = True
            try:
                self._call(self._conn.execute(self._begin))
            except StoreError:
                # E.g. the write lock not had within command_timeout: the transaction is
                # open and aborted, and no caller will roll back what it never began.
                self.rollback_quietly()
                raise
            return PgCursor([], -1)
        if sql in ("COMMIT", "ROLLBACK"):
            self._in_transaction = False
            self._call(self._conn.execute(sql))
            return PgCursor([], -1)
        if not self._in_transaction:
            self._reconnect_if_lost()
        text, returns_id = translate(sql)
        if returns_id:
            new_id = self._call(self._conn.fetchval(text, *parameters))
            return PgCursor([], 1, new_id)
        if _READS.match(text):
            rows = self._call(self._conn.fetch(text, *parameters))
            return PgCursor([tuple(row) for row in rows], -1)
        return PgCursor([], _rowcount(self._call(self._conn.execute(text, *parameters))))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        self._call(self._conn.executemany(translate(sql)[0], list(parameters)))

    def rollback_quietly(self) -> None:
        """End the transaction, if any, whatever state the connection is in."""
        self._in_transaction = False
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(StoreError):
                self._call(self._conn.execute("ROLLBACK"))

    # -- sessions, locks and the end ---------------------------------------------------------

    def fetch_value(self, sql: str, *parameters: Any) -> Any:
        """One value of a query written for PostgreSQL (``$n`` placeholders)."""
        if not self._in_transaction:
            self._reconnect_if_lost()
        return self._call(self._conn.fetchval(sql, *parameters))

    def try_locks(self, locks: Sequence[tuple[str, bool]]) -> bool:
        """Take every session lock ``(name, shared)`` of ``locks``, or none of them.

        An exclusive lock excludes every other holder, a shared one only the exclusive
        holders; this connection's own holds count as other holders here (the server lets
        a session take what it already holds, so two tasks of one worker would not wait).
        """
        taken: list[tuple[str, bool]] = []
        for name, shared in locks:
            if not self._try_lock(name, shared):
                for held in reversed(taken):
                    self.unlock(*held)
                return False
            taken.append((name, shared))
        return True

    def unlock(self, name: str, shared: bool) -> None:
        count = self._held.get((name, shared), 0)
        if count == 0:
            return
        if count == 1:
            del self._held[(name, shared)]
        else:
            self._held[(name, shared)] = count - 1
        if not self._conn.is_closed():
            function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
            self._call(self._conn.fetchval(
                f"SELECT {function}(hashtextextended($1, 0))", name))

    def _try_lock(self, name: str, shared: bool) -> bool:
        if (name, False) in self._held or (not shared and (name, True) in self._held):
            return False
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        if not self.fetch_value(f"SELECT {function}(hashtextextended($1, 0))", name):
            return False
        self._held[(name, shared)] = self._held.get((name, shared), 0) + 1
        return True

    def close(self) -> None:
        self._held.clear()
        try:
            if self._conn is not None and not self._conn.is_closed():
                self._call(self._conn.close(timeout=self._command_timeout))
        finally:
            self._loop.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _connect(self) -> None:
        self._conn = self._call(_asyncpg().connect(
            self._dsn.reveal(), timeout=self._connect_timeout,
            command_timeout=self._command_timeout,
            server_settings={"search_path": self._schema, "application_name": "connectsafely"},
        ), connecting=True)

    def _reconnect_if_lost(self) -> None:
        # The loop runs only during our calls: let it see a close that happened in between.
        self._loop.run_until_complete(asyncio.sleep(0))
        if self._conn.is_closed() and not self._held:
            self._connect()

    def _call(self, step: Coroutine[Any, Any, T], *, connecting: bool = False) -> T:
        asyncpg = _asyncpg()
        errors: tuple[type[BaseException], ...] = (
            asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError,
            asyncio.TimeoutError,  # a class of its own before Python 3.11
        )
        if connecting:
            errors += (ValueError,)  # what asyncpg makes of a DSN's parameters
        try:
            return self._loop.run_until_complete(step)
        except errors as exc:
            if not connecting and self._conn is not None and self._conn.is_closed():
                self._in_transaction = False
            action = "cannot connect to" if connecting else "error from"
            timed_out = isinstance(exc, (TimeoutError, asyncio.TimeoutError))
            detail = "timed out" if timed_out else str(exc) or type(exc).__name__
            msg = f"{action} {self._where}: {self._dsn.redact(detail)}"
            raise StoreError(msg) from None
