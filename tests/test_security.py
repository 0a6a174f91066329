"""The API key never leaves through a log record, a repr, an exception or its chain."""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectsafely_async import (
    APIConnectionError,
    AsyncConnectSafely,
    ConnectSafelyError,
    InsecureTransportWarning,
    RetryPolicy,
)
from connectsafely_async._cli import main
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import FakeSleep
from .loopback import LoopbackServer

CANARY = "cs_live_CANARY_7f3a9b2c1d"


def chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def assert_clean(error: BaseException) -> None:
    for link in chain(error):
        assert CANARY not in str(link)
        assert CANARY not in repr(link)
        assert all(CANARY not in repr(arg) for arg in link.args)
        assert CANARY not in repr(getattr(link, "body", None))
    rendered = "".join(traceback.TracebackException.from_exception(
        error, capture_locals=True).format())
    assert CANARY not in rendered


@pytest.fixture
async def canary_fake() -> FakeConnectSafely:
    async with FakeConnectSafely(api_key=CANARY) as server:
        yield server  # type: ignore[misc]


async def test_the_key_never_reaches_logs_reprs_or_errors(
    canary_fake: FakeConnectSafely, caplog: pytest.LogCaptureFixture
) -> None:
    fake = canary_fake
    caplog.set_level(logging.DEBUG)  # every logger: ours, aiohttp's, asyncio's
    sleep = FakeSleep()
    errors: list[ConnectSafelyError] = []
    async with AsyncConnectSafely(
        api_key=CANARY, base_url=fake.url, retry=RetryPolicy(sleep=sleep), rate_limits=None
    ) as client:
        assert CANARY not in repr(client)
        assert CANARY not in repr(client.__dict__)
        # success, then a retry that succeeds
        [v async for v in client.iter_visitors(max_visitors=30, count=10)]
        fake.inject(Fault(status=503, json={"error": "busy"}))
        await client.get_visitors()
        # a retry that gives up, with a body echoing the key
        fake.inject(Fault(status=500, json={"error": f"bad token {CANARY}", CANARY: 1}),
                    times=3)
        with pytest.raises(ConnectSafelyError) as caught:
            await client.get_visitors()
        errors.append(caught.value)
        # a connection failure
        fake.inject(Fault(kind="reset"), times=3)
        with pytest.raises(ConnectSafelyError) as caught:
            await client.get_visitors()
        errors.append(caught.value)
        # an HTML page echoing the key
        fake.inject(Fault(status=502, text=f"<p>{CANARY}</p>", content_type="text/html"),
                    times=3)
        with pytest.raises(ConnectSafelyError) as caught:
            await client.get_visitors()
        errors.append(caught.value)
        # a 200 that does not fit, echoing the key
        fake.inject(Fault(json={"visitors": CANARY, "hasMore": False}))
        with pytest.raises(ConnectSafelyError) as caught:
            await client.get_visitors()
        errors.append(caught.value)

    async with AsyncConnectSafely(api_key=CANARY + "x", base_url=fake.url) as wrong:
        with pytest.raises(ConnectSafelyError) as caught:
            await wrong.get_visitors()
        errors.append(caught.value)

    assert len(sleep.waits) == 1 + 2 + 2 + 2
    for error in errors:
        assert_clean(error)
    assert caplog.records, "DEBUG logging produced nothing: the test would prove nothing"
    for record in caplog.records:
        assert CANARY not in record.getMessage()
        assert CANARY not in repr(record.args)
    assert CANARY in fake.requests[0].headers["Authorization"]  # it was sent, as a header


def test_a_key_with_a_newline_is_refused_without_being_echoed() -> None:
    with pytest.raises(ValueError, match="whitespace") as caught:
        AsyncConnectSafely(api_key=CANARY + "\n", base_url="https://example.test")
    assert_clean(caught.value)


async def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ValueError, match="unencrypted"):
        AsyncConnectSafely(api_key=CANARY, base_url="http://api.connectsafely.ai")
    with pytest.warns(InsecureTransportWarning, match="unencrypted to api.connectsafely.ai"):
        client = AsyncConnectSafely(
            api_key=CANARY, base_url="http://api.connectsafely.ai", allow_insecure_http=True
        )
    await client.aclose()


def test_the_key_cannot_be_pickled() -> None:
    import pickle

    client = AsyncConnectSafely(api_key=CANARY, base_url="https://example.test")
    with pytest.raises(TypeError):
        pickle.dumps(client)


# -- the key echoed into a reply that is not HTTP ------------------------------------------

# One plain key, and one with the characters Python's repr escapes (a parser that quotes the
# raw bytes writes ``\\`` and ``\'``): each spelling must go.
ECHO_KEYS = [CANARY, "cs_live_Quo'te\\Back_5e8d"]

BROKEN_REPLIES = {
    "status-line": b"HTTP/1.1 2x0 %s\r\nContent-Length: 0\r\n\r\n",
    "header-line": b"HTTP/1.1 200 OK\r\n%s\r\nContent-Length: 0\r\n\r\n",
    "chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n{}\r\n0\r\n\r\n",
    "http-0.9": b"%s {}\r\n\r\n",
}


class EchoingServer(LoopbackServer):
    """Answers each request with a broken reply that quotes the request's own key."""

    def __init__(self, reply: bytes) -> None:
        self._reply = reply
        self.keys: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b" ", 2)[2] for line in head.split(b"\r\n")
                   if line.lower().startswith(b"authorization: bearer "))
        self.keys.append(key)
        writer.write(self._reply % key)
        await writer.drain()


def spellings(key: str) -> list[str]:
    """The key as text, as a str's repr and a bytes' repr would show it."""
    return [key, repr(key)[1:-1], repr(key.encode())[2:-1], key.replace("\\", "\\\\")]


def assert_key_nowhere(error: BaseException, key: str) -> None:
    # Every frame below the test's own (which holds the key: the test made the client).
    assert error.__traceback__ is not None
    rendered = "".join(traceback.TracebackException(
        type(error), error, error.__traceback__.tb_next, capture_locals=True).format())
    texts = [str(error), repr(error), repr(error.args), repr(vars(error)), rendered,
             pickle.dumps(error).decode("latin-1")]
    for text in texts:
        for spelling in spellings(key):
            assert spelling not in text


@pytest.mark.parametrize("key", ECHO_KEYS, ids=["plain", "escaped"])
@pytest.mark.parametrize("kind", list(BROKEN_REPLIES))
async def test_a_broken_reply_that_echoes_the_key_never_shows_it(kind: str, key: str) -> None:
    async with EchoingServer(BROKEN_REPLIES[kind]) as server:
        async with AsyncConnectSafely(
            api_key=key, base_url=server.url, rate_limits=None, max_retries=1,
            retry=RetryPolicy(sleep=FakeSleep()),
        ) as client:
            with pytest.raises(ConnectSafelyError) as caught:
                await client.get_visitors()
        assert server.keys == [key.encode()] * 2  # it was echoed, on every attempt
    assert type(caught.value) is APIConnectionError
    assert "[REDACTED]" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert_key_nowhere(caught.value, key)


async def test_the_sender_scrubs_any_text_of_every_spelling_of_the_key() -> None:
    key = ECHO_KEYS[1]
    twice = repr(repr(key))[2:-2]  # a repr of a repr: each backslash doubled again
    json_escaped = "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in key)
    async with AsyncConnectSafely(api_key=key, base_url="https://example.test") as client:
        redact = client._sender.redact_text
        for spelling in [*spellings(key), twice, json_escaped]:
            assert redact(f"before {spelling} after") == "before [REDACTED] after"
        assert redact("nothing to see") == "nothing to see"
        assert redact(key[:-1]) == key[:-1]  # not the key: left as it is


@pytest.mark.parametrize("key", ECHO_KEYS, ids=["plain", "escaped"])
async def test_the_cli_never_prints_a_key_echoed_into_a_broken_reply(
    key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with EchoingServer(BROKEN_REPLIES["status-line"]) as server:
        monkeypatch.setenv("CONNECTSAFELY_API_KEY", key)
        monkeypatch.setenv("CONNECTSAFELY_BASE_URL", server.url)
        code = await asyncio.to_thread(main, ["visitors"])  # its own event loop
        assert server.keys  # it was asked, and echoed the key
    out, err = capsys.readouterr()
    assert code not in (0, 1)
    assert "[REDACTED]" in err
    for spelling in spellings(key):
        assert spelling not in out + err


@pytest.mark.parametrize("key", ECHO_KEYS, ids=["plain", "escaped"])
async def test_a_store_never_keeps_a_key_echoed_into_a_broken_reply(
    key: str, tmp_path: Path
) -> None:
    from connectsafely_async.history import SQLiteStore

    async with EchoingServer(BROKEN_REPLIES["header-line"]) as server, AsyncConnectSafely(
        api_key=key, base_url=server.url, rate_limits=None, max_retries=0,
    ) as client, SQLiteStore(tmp_path / "h.db") as store:
        result = await client.sync_visitors(store)
        assert isinstance(result.error, APIConnectionError)
    stored = _files_of(tmp_path)
    for spelling in spellings(key):
        assert spelling.encode() not in stored
    assert b"[REDACTED]" in stored  # the error was kept, scrubbed


def _files_of(folder: Path) -> bytes:
    """Every byte the store left in ``folder``: the database, its WAL and its locks."""
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()))
