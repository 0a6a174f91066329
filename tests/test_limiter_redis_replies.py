"""Odd replies from a Redis-compatible server: the limiter falls back, never raises or hangs.

A tiny RESP server on 127.0.0.1 answers what redis-py sends when it connects the way Redis
does, and the limiter's script with one odd reply, every time. Every request must complete
through the local fallback, well within the client's timeout, with one warning.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectsafely_async import (
    AsyncConnectSafely,
    RateLimiterFallbackWarning,
    RateLimits,
    RedisRateLimits,
)
from connectsafely_async._limiter_redis_script import BadReply, read_reply
from connectsafely_async.testing import FakeConnectSafely

from .loopback import LoopbackServer

pytest.importorskip("redis")

ACCOUNT = "696ce9e780e0483585e4e553"
TIMEOUT = 5.0


def bulk(text: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(text), text)


def pair(scope: bytes, wait: bytes) -> bytes:
    return b"*2\r\n" + bulk(scope) + bulk(wait)


ODD_REPLIES = {
    "integer": b":5\r\n",
    "nil": b"$-1\r\n",
    "empty-array": b"*0\r\n",
    "one-item": b"*1\r\n" + bulk(b"key"),
    "not-a-number": pair(b"key", b"soon"),
    "nan": pair(b"account", b"nan"),
    "infinite": pair(b"later", b"inf"),
    "negative": pair(b"key", b"-3"),
    "unknown-scope": pair(b"whenever", b"0.1"),
    "nested": b"*2\r\n*1\r\n" + bulk(b"key") + bulk(b"0"),
    "not-utf8": pair(b"\xff\xfe", b"0"),
    "account-zero-forever": pair(b"account", b"0.000000"),
    "later-zero-forever": pair(b"later", b"0"),
    "key-wait-past-the-horizon": pair(b"key", b"0.5"),
    "exponent": pair(b"key", b"1e-3"),
    "wait-past-any-limit": pair(b"later", b"99999"),
    "account-tiny-forever": pair(b"account", b"0.000001"),
}


async def read_command(reader: asyncio.StreamReader) -> list[bytes]:
    header = await reader.readline()
    if not header.startswith(b"*"):
        return header.split()  # an inline command
    words = []
    for _ in range(int(header[1:])):
        size = int((await reader.readline())[1:])
        words.append((await reader.readexactly(size + 2))[:-2])
    return words


class OddRedis(LoopbackServer):
    """Speaks enough RESP for redis-py; answers the limiter's script with ``reply``."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.scripts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while command := await read_command(reader):
            name = command[0].upper()
            if name in (b"EVALSHA", b"EVAL"):
                self.scripts += 1
                writer.write(self.reply)
            elif name == b"SCRIPT":
                writer.write(bulk(b"0" * 40))
            elif name == b"PING":
                writer.write(b"+PONG\r\n")
            elif name in (b"CLIENT", b"SELECT"):
                writer.write(b"+OK\r\n")
            else:  # HELLO included: what a Redis before 6 says
                writer.write(b"-ERR unknown command '%s'\r\n" % command[0])
            await writer.drain()


@pytest.fixture
async def fake() -> AsyncIterator[FakeConnectSafely]:
    async with FakeConnectSafely(accounts={ACCOUNT: 10}) as server:
        yield server


@pytest.mark.parametrize("kind", list(ODD_REPLIES))
async def test_an_odd_script_reply_falls_back_without_raising_or_hanging(
    kind: str, fake: FakeConnectSafely
) -> None:
    limits = RateLimits(per_key_per_minute=6000, key_burst=100,
                        per_account_per_minute=6000, account_burst=100)
    async with OddRedis(ODD_REPLIES[kind]) as redis:
        config = RedisRateLimits(url=redis.url, limits=limits, timeout=0.5)
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=fake.url, rate_limits=config, timeout=TIMEOUT,
            max_retries=0,
        ) as client:
            with pytest.warns(RateLimiterFallbackWarning) as record:
                for account in (ACCOUNT, None, ACCOUNT):
                    began = time.monotonic()
                    page = await asyncio.wait_for(
                        client.get_visitors(account_id=account, max_visitors=1), TIMEOUT * 2
                    )
                    assert time.monotonic() - began < TIMEOUT / 2
                    assert len(page.visitors) == 1
        assert redis.scripts >= 1  # the script did run, and was answered oddly
    assert len(record) == 1
    assert "shared rate limiter" in str(record[0].message)


REPLIES = st.recursive(
    st.none() | st.integers() | st.text(max_size=12) | st.binary(max_size=4)
    | st.sampled_from(["key", "account", "later", "observe", "0.250000", "1.5", "nan"]),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@given(reply=REPLIES, op=st.sampled_from(["acquire", "account", "observe"]))
def test_a_reply_is_read_or_refused_never_a_bare_exception(reply: object, op: str) -> None:
    try:
        scope, wait = read_reply(reply, op=op, horizon=0.25, max_wait=60.0)
    except BadReply:
        return
    assert scope in {"key", "account", "later", "observe"}
    assert 0.0 <= wait <= 60.0


def test_what_the_script_returns_is_read() -> None:
    assert read_reply(["key", "0.250000"], op="acquire", horizon=0.25, max_wait=60) == (
        "key", 0.25)
    assert read_reply(["later", "3.000001"], op="acquire", horizon=0.25, max_wait=60) == (
        "later", 3.000001)
    assert read_reply(["account", "0.000000"], op="account", horizon=0.25, max_wait=60) == (
        "account", 0.0)
    assert read_reply(["observe", "0.000000"], op="observe", horizon=0.25, max_wait=60) == (
        "observe", 0.0)
