"""The throwaway servers the storage and limiter tests run on (tests/servers.py)."""

from __future__ import annotations

import socket

import asyncpg
import pytest
import redis.asyncio as redis_asyncio

from .servers import PostgresServer, RedisServer


async def test_postgres_accepts_asyncpg_on_loopback(postgres_server: PostgresServer) -> None:
    assert postgres_server.dsn.startswith("postgresql://postgres@127.0.0.1:")
    conn = await asyncpg.connect(postgres_server.dsn, timeout=10)
    try:
        await conn.execute("CREATE TEMPORARY TABLE seen (id text PRIMARY KEY)")
        await conn.executemany("INSERT INTO seen VALUES ($1)", [("a",), ("b",)])
        inserted = await conn.execute("INSERT INTO seen VALUES ('a') ON CONFLICT DO NOTHING")
        assert inserted == "INSERT 0 0"
        assert await conn.fetchval("SELECT count(*) FROM seen") == 2
        assert await conn.fetchval("SHOW data_directory") == str(postgres_server.data)
    finally:
        await conn.close()


async def test_redis_restarts_in_place_and_empty(redis_server: RedisServer) -> None:
    async with redis_asyncio.Redis.from_url(redis_server.url) as conn:
        await conn.set("probe", "1")
        assert await conn.get("probe") == b"1"
    redis_server.stop()
    assert not redis_server.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_server.port), timeout=1).close()
    redis_server.start()
    async with redis_asyncio.Redis.from_url(redis_server.url) as conn:
        assert await conn.get("probe") is None  # nothing was saved
