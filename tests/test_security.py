"""The API key never leaves through a log record, a repr, an exception or its chain."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest

from connectsafely_async import (
    AsyncConnectSafely,
    ConnectSafelyError,
    InsecureTransportWarning,
    RetryPolicy,
)
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import FakeSleep

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
