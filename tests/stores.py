"""The history stores the shared suite runs on: SQLite in a temporary file, PostgreSQL in a
fresh schema of the session's throwaway server (tests/servers.py)."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeAlias

import pytest

from connectsafely_async.history import PostgresStore, SQLiteStore

from .servers import PostgresServer

Store: TypeAlias = SQLiteStore | PostgresStore

KINDS = ("sqlite", "postgres")


def new_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path,
              **options: Any) -> Store:
    """A new, empty store of ``kind`` (PostgreSQL: skipped when it is not installed)."""
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "history.db", **options)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return PostgresStore(server.dsn, schema=f"t_{uuid.uuid4().hex[:12]}", **options)


def twin(store: Store, **options: Any) -> Store:
    """Another store object on the same data, as a second process would open it."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path, **options)
    return PostgresStore(store.dsn, schema=store.schema, **options)


async def rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """What ``sql`` reads from the store's tables, through the backend's own driver."""
    if isinstance(store, SQLiteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as db:
            return [tuple(row) for row in db.execute(sql)]
    import asyncpg

    conn = await asyncpg.connect(store.dsn, server_settings={"search_path": store.schema})
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def opened(kind: str, request: pytest.FixtureRequest, tmp_path: Path,
                 **options: Any) -> AsyncIterator[Store]:
    async with new_store(kind, request, tmp_path, **options) as store:
        yield store
