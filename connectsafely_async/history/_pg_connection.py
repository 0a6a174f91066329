"""``PgConnection``: the store's ``Connection`` (``_connection``) on asyncpg, for the store's
thread.

Each call runs its query to completion on an event loop that belongs to the store's thread,
never to the application. It speaks PostgreSQL in PostgreSQL's terms:

- templates get ``$1, $2...`` (asyncpg's own placeholders);
- a new row's id is its identity column's, returned by ``RETURNING id``;
- keys are found by their primary keys, which lead with the texts (``key_match``);
- a write transaction takes a transaction-level advisory lock per scope it names (an
  account): ``pg_advisory_xact_lock(<the schema's namespace>, <the scope's key>)``, both
  32-bit keys computed here, so the page commits of different accounts never wait for each
  other, and two writers of one account take turns (its visitors are inserted once; its
  events are committed in id order, so a reader paging one account's events by id never
  skips one). A schema-wide step (a migration) takes the namespace's key 0 and the lock
  older SDKs took for every write.

Every driver error leaves here as a ``StoreError`` naming the server without its password
(and scrubbed of it). The DSN is a ``SecretURL``, revealed only in the call into asyncpg: no
frame of ours holds it as a local, so an error reporter that records locals never sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._secrets import SecretURL
from ._connection import Row, fields
from ._errors import StoreError

__all__ = ["PgConnection", "lock_key", "split_schema"]

logger = logging.getLogger("connectsafely_async")

T = TypeVar("T")

# asyncpg's placeholders for the templates' fields (field 0 is never used; the longest
# statement has 1,540: _writes._unchanged_statement).
_MARKS: Final = tuple(f"${index}" for index in range(2000))


@functools.lru_cache(maxsize=512)
def _text(template: str) -> str:
    return template.format(*_MARKS)


def lock_key(name: str) -> int:
    """A stable signed 32-bit advisory-lock key for ``name`` (a schema, an account)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big",
                          signed=True)


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


def _returning(sql: str) -> str:
    """An ``INSERT`` template as asyncpg runs it, returning the new row's id."""
    return f"{_text(sql)} RETURNING id"


def _rowcount(status: str) -> int:
    """The rows a command touched, from its status (``UPDATE 3``, ``INSERT 0 1``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


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
        self._namespace = lock_key(f"connectsafely:{schema}")
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

    # -- the store's Connection ----------------------------------------------------------------

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> int:
        return _rowcount(self._run(self._statement().execute(_text(sql), *parameters)))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> None:
        self._run(self._statement().executemany(_text(sql), rows))

    def fetch_all(self, sql: str, parameters: Sequence[Any] = (), /) -> list[Row]:
        return [tuple(row) for row in self._run(self._statement().fetch(_text(sql), *parameters))]

    def fetch_one(self, sql: str, parameters: Sequence[Any] = (), /) -> Row | None:
        row = self._run(self._statement().fetchrow(_text(sql), *parameters))
        return None if row is None else tuple(row)

    def fetch_value(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self._run(self._statement().fetchval(_text(sql), *parameters))

    def insert_id(self, sql: str, parameters: Sequence[Any], /) -> int:
        return int(self._run(self._statement().fetchval(_returning(sql), *parameters)))

    def insert_ids(self, sql: str, rows: Sequence[Sequence[Any]], /) -> list[int]:
        if not rows:
            return []
        records = self._run(self._statement().fetchmany(_returning(sql), rows))
        return [int(record[0]) for record in records]

    @property
    def updates_returning(self) -> bool:
        return True

    def key_match(self, column: str, start: int, keys: Sequence[str],
                  numbers: Sequence[int], /) -> tuple[str, Sequence[Any]]:
        # The primary keys lead with the texts (a planner without statistics yet, on tables
        # a first big sync is filling, still takes them); no index holds the numbers.
        del numbers
        return f"{column} IN ({fields(start, len(keys))})", keys

    @contextlib.contextmanager
    def write(self, *scopes: str) -> Iterator[None]:
        # The scopes' locks in one order (no two writers wait for each other in a circle),
        # taken with BEGIN in one round trip: the keys are our own integers, safe as literals.
        keys = sorted({lock_key(scope) for scope in scopes})
        with self._transaction("".join(
                f"; SELECT pg_advisory_xact_lock({self._namespace}, {key})" for key in keys)):
            yield

    @contextlib.contextmanager
    def schema_write(self) -> Iterator[None]:
        """A transaction that excludes every other schema-wide one (a migration), and the
        page writes of older SDKs, which took one lock for every write of the schema."""
        older = f"SELECT pg_advisory_xact_lock(hashtextextended('write:{self._schema}', 0))"
        with self._transaction(
                f"; SELECT pg_advisory_xact_lock({self._namespace}, 0); {older}"):
            yield

    def execute_script(self, sql: str) -> None:
        """Run PostgreSQL statements without parameters (a migration's DDL), as they are."""
        self._run(self._statement().execute(sql))

    @contextlib.contextmanager
    def _transaction(self, locks: str) -> Iterator[None]:
        self._reconnect_if_lost()
        self._in_transaction = True
        try:
            self._run(self._conn.execute(f"BEGIN{locks}"))
        except StoreError:
            # E.g. a lock not had within command_timeout: the transaction is open and
            # aborted, and nothing will roll back what it never began.
            self.rollback_quietly()
            raise
        try:
            yield
        except BaseException:
            self.rollback_quietly()
            raise
        self._in_transaction = False
        self._run(self._conn.execute("COMMIT"))

    def rollback_quietly(self) -> None:
        """End the transaction, if any, whatever state the connection is in."""
        self._in_transaction = False
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(StoreError):
                self._run(self._conn.execute("ROLLBACK"))

    # -- sessions, locks and the end ---------------------------------------------------------

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
            self._run(self._conn.fetchval(f"SELECT {function}(hashtextextended($1, 0))", name))

    def _try_lock(self, name: str, shared: bool) -> bool:
        if (name, False) in self._held or (not shared and (name, True) in self._held):
            return False
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        if not self._run(self._statement().fetchval(
                f"SELECT {function}(hashtextextended($1, 0))", name)):
            return False
        self._held[(name, shared)] = self._held.get((name, shared), 0) + 1
        return True

    def close(self) -> None:
        self._held.clear()
        try:
            if self._conn is not None and not self._conn.is_closed():
                self._run(self._conn.close(timeout=self._command_timeout))
        finally:
            self._loop.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _connect(self) -> None:
        self._conn = self._run(_asyncpg().connect(
            self._dsn.reveal(), timeout=self._connect_timeout,
            command_timeout=self._command_timeout,
            server_settings={"search_path": self._schema, "application_name": "connectsafely"},
        ), connecting=True)

    def _statement(self) -> Any:
        """The asyncpg connection for one statement: connected again if it was lost outside
        a transaction (inside one, the loss is the statement's error)."""
        if not self._in_transaction:
            self._reconnect_if_lost()
        return self._conn

    def _reconnect_if_lost(self) -> None:
        # The loop runs only during our calls: let it see a close that happened in between.
        self._loop.run_until_complete(asyncio.sleep(0))
        if self._conn.is_closed() and not self._held:
            self._connect()

    def _run(self, step: Coroutine[Any, Any, T], *, connecting: bool = False) -> T:
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
