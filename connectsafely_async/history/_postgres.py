"""``PostgresStore``: the visitor history on PostgreSQL, shared by many workers.

The same store as ``SQLiteStore`` (the same operations, the same statements, the same
tests) over one asyncpg connection driven from the store's own thread (``_pg_connection``).
What differs is what many writers need:

- ids are the engine's (identity columns), and a page's write takes a transaction-level
  advisory lock on its account only: the page commits of different accounts never wait for
  each other; two writers of one account's rows take turns for the time of a commit;
- a sync holds a session advisory lock on its account for as long as it runs, so two
  workers never sync the same account at once, while different accounts sync in
  parallel; a second one waits up to ``lock_timeout`` seconds, then raises
  ``StoreLockedError`` without writing anything. An ``events()`` loop holds such a lock
  on its account's events, so no event is handed to two workers. The server drops the
  locks of a worker that dies (its connection ends): a SIGKILL never leaves one behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import re
import time
from typing import Final
from urllib.parse import urlsplit

from .._secrets import SecretURL
from .._urls import stray_at
from ._blocking_store import StoreBase
from ._errors import SchemaVersionError, StoreDependencyError, StoreError
from ._pg_connection import PgConnection, split_schema
from ._pg_schema import PG_MIGRATIONS, PG_SCHEMA_VERSION

__all__ = ["PostgresStore"]

_SCHEMES: Final = ("postgresql", "postgres")
_IDENTIFIER: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
LOCK_POLL: Final = 0.05


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        msg = f"{name} must be a non-negative number of seconds, got {value!r}"
        raise ValueError(msg)
    return float(value)


class PostgresStore(StoreBase):
    """A visitor history in a PostgreSQL database, safe for many workers at once.

    ::

        async with PostgresStore("postgresql://app@db.internal/app") as store:
            result = await client.sync_visitors(store, max_visitors=200)

    Needs PostgreSQL 11 or newer.

    Args:
        dsn: a ``postgresql://`` URL (a password in it never appears in a message).
        schema: the PostgreSQL schema that holds the store's tables, created on first
            use (``None``: the URL's ``?schema=``, else ``connectsafely``). Stores in
            different schemas are independent.
        lock_timeout: seconds a sync waits for another worker's sync of the same account.
        connect_timeout: seconds to connect.
        command_timeout: seconds any one statement may take.

    Raises:
        TypeError, ValueError: a bad argument (at the call).
        ImportError: asyncpg is not installed (``pip install 'connectsafely-async[postgres]'``).
        Opening raises ``StoreError`` when the server cannot be reached or refuses us, and
        ``SchemaVersionError`` for tables written by a newer SDK (left untouched).
    """

    def __init__(
        self, dsn: str, *, schema: str | None = None, lock_timeout: float = 10.0,
        connect_timeout: float = 10.0, command_timeout: float = 30.0,
    ) -> None:
        if not isinstance(dsn, str):
            msg = f"dsn must be a postgresql:// URL string, got {type(dsn).__name__}"
            raise TypeError(msg)
        url = SecretURL(dsn)
        # The plain DSN must not outlive this line as a local: a traceback rendered with
        # locals would print its password if a check below failed (as the client's key).
        del dsn
        if url.reveal().split("://", 1)[0] not in _SCHEMES or "://" not in url.reveal():
            msg = "dsn must be a postgresql:// (or postgres://) URL"  # never echo it
            raise ValueError(msg)
        try:
            urlsplit(url.reveal()).port  # noqa: B018 (reading it checks the host and port)
        except ValueError:
            msg = "dsn is not a valid URL (check the host and port)"  # never echo it
            raise ValueError(msg) from None
        if stray_at(url.reveal()):
            msg = (f"dsn for {url.described} has an '@' after its host: percent-encode the "
                   "password's '/', '?' or '#' (%2F, %3F, %23)")
            raise ValueError(msg)
        url, in_url = split_schema(url)
        if schema is not None and in_url is not None and schema != in_url:
            msg = f"two schemas: {schema!r} and the URL's ?schema={in_url}; give one"
            raise ValueError(msg)
        if schema is None:
            schema = "connectsafely" if in_url is None else in_url
        if not isinstance(schema, str) or not _IDENTIFIER.fullmatch(schema):
            msg = (f"schema must be a lower-case PostgreSQL identifier (letters, digits, _), "
                   f"got {schema!r}")
            raise ValueError(msg)
        self._lock_timeout = _seconds("lock_timeout", lock_timeout)
        self._connect_timeout = _seconds("connect_timeout", connect_timeout)
        self._command_timeout = _seconds("command_timeout", command_timeout)
        if importlib.util.find_spec("asyncpg") is None:
            msg = "PostgresStore needs asyncpg: pip install 'connectsafely-async[postgres]'"
            raise StoreDependencyError(msg)
        super().__init__()
        self._dsn = url
        self._schema = schema

    @property
    def dsn(self) -> str:
        """The URL without its ``?schema=``, password included: never log it (``repr``
        leaves the password out)."""
        return self._dsn.reveal()

    @property
    def schema(self) -> str:
        return self._schema

    def __repr__(self) -> str:
        # getattr: a traceback may render a half-built store (a failed __init__).
        dsn = getattr(self, "_dsn", None)
        where = dsn.described if isinstance(dsn, SecretURL) else None
        state = "open" if getattr(self, "_conn", None) is not None else "closed"
        return f"PostgresStore({where!r}, schema={getattr(self, '_schema', None)!r}, {state})"

    # -- the backend ---------------------------------------------------------------------------

    def _open_connection(self) -> PgConnection:
        conn = PgConnection.open(
            self._dsn, schema=self._schema, connect_timeout=self._connect_timeout,
            command_timeout=self._command_timeout,
        )
        try:
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _close_connection(self, conn: PgConnection) -> None:
        conn.close()

    def _store_error(self, exc: Exception) -> StoreError | None:
        return None  # PgConnection raises StoreError for every driver error itself

    async def _lock(self, kind: str, account_id: str | None) -> None:
        conn = self._connection()
        locks = self._locks(kind, account_id)
        deadline = time.monotonic() + self._lock_timeout
        while not await self._run(conn.try_locks, locks):
            if time.monotonic() >= deadline:
                raise self._locked(conn.where, kind, account_id, self._lock_timeout)
            await asyncio.sleep(LOCK_POLL)

    async def _unlock(self, kind: str, account_id: str | None) -> None:
        for name, shared in reversed(self._locks(kind, account_id)):
            with contextlib.suppress(StoreError):  # closed, or the connection lost: no lock
                await self._run(self._connection().unlock, name, shared)

    def _locks(self, kind: str, account_id: str | None) -> list[tuple[str, bool]]:
        """The session locks of ``kind`` for one account (``None``: every account's).

        Per account, whatever the filters: two syncs of one account would record its
        visitors twice over, and the service limits reads per account anyway. One account
        holds the "every account" lock shared, so a holder of all of them (``events()``
        over the whole store) excludes each account's, and each account's excludes it.
        """
        every = f"{kind}:{self._schema}:*"
        if account_id is None:
            return [(every, False)]
        return [(every, True), (f"{kind}:{self._schema}:{account_id}", False)]

    # -- the schema ----------------------------------------------------------------------------

    def _migrate(self, conn: PgConnection) -> None:
        """Create or migrate the tables, each step in one transaction under the write lock.

        The version is read before anything writes (newer tables stay untouched) and again
        inside each transaction: another worker may have migrated in between.
        """
        version = self._version(conn)
        if version > PG_SCHEMA_VERSION:
            msg = (f"{conn.where} schema {self._schema!r} has version {version}, newer than "
                   f"this SDK's ({PG_SCHEMA_VERSION}); upgrade connectsafely-async to use it")
            raise SchemaVersionError(msg)
        while version < PG_SCHEMA_VERSION:
            with conn.schema_write():
                conn.execute_script(
                    f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"; '
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                version = self._version(conn)
                if version < PG_SCHEMA_VERSION:
                    conn.execute_script(PG_MIGRATIONS[version])
                    version += 1
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version (version) VALUES ({1})",
                                 (version,))

    @staticmethod
    def _version(conn: PgConnection) -> int:
        if not conn.fetch_value("SELECT to_regclass('schema_version') IS NOT NULL"):
            return 0
        return int(conn.fetch_value("SELECT coalesce(max(version), 0) FROM schema_version"))
