"""The fault matrix: each injected fault mid-walk, over real loopback HTTP.

Every row walks 45 visitors in pages of 10 with the fault on the second page, and checks the
promise: retried at the same start, the final visitors equal the server's in order (none
lost, none repeated), retries counted, and a typed error when retries run out. The fake
fixture then asserts that no connection is left open.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from connectsafely_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncConnectSafely,
    ConnectSafelyError,
    InternalServerError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    Visitor,
)
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import ACCOUNT, FakeSleep

HTML_502 = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
HTML_503 = "<html><body><h1>503 Service Unavailable</h1></body></html>"


def http_date(seconds: float) -> str:
    when = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")


# (row name, fault, times injected, error class once retries are exhausted)
FAULTS: list[tuple[str, Fault, int, type[ConnectSafelyError]]] = [
    ("connection reset", Fault(kind="reset"), 1, APIConnectionError),
    ("reset mid-body", Fault(kind="truncate"), 1, APIConnectionError),
    ("slow drip", Fault(kind="drip", delay=1.0), 1, APITimeoutError),
    ("idle keep-alive closed", Fault(kind="close_idle"), 1, APIConnectionError),
    ("html 502 from a proxy",
     Fault(status=502, text=HTML_502, content_type="text/html"), 1, InternalServerError),
    ("html 503 from a proxy",
     Fault(status=503, text=HTML_503, content_type="text/html"), 1, InternalServerError),
    ("200 with text/html", Fault(text="<html>login</html>", content_type="text/html"), 1,
     ResponseDecodeError),
    ("body over the size cap", Fault(text="x" * 300_000, content_type="application/json"), 1,
     APIConnectionError),
    ("429 retry-after seconds",
     Fault(status=429, json={"error": "slow"}, headers={"Retry-After": "3"}), 1,
     RateLimitError),
    ("burst of 500s", Fault(status=500, json={"success": False,
                                             "error": "Failed to fetch profile visitors"}),
     2, InternalServerError),
    ("408", Fault(status=408, json=None), 1, APIStatusError),
    ("504", Fault(status=504, text="", content_type="text/plain"), 1, InternalServerError),
]


def key(v: Visitor) -> tuple[str | None, str | None, str | None]:
    return (v.entity_urn, v.name, v.viewed_at)


def client_for(fake: FakeConnectSafely, sleep: FakeSleep, **kwargs: object) -> AsyncConnectSafely:
    return AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, timeout=0.3, max_response_bytes=200_000,
        retry=RetryPolicy(sleep=sleep), rate_limits=None, **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("name", "fault", "times", "error"), FAULTS,
                         ids=[row[0] for row in FAULTS])
async def test_a_fault_mid_walk_loses_and_repeats_nothing(
    fake: FakeConnectSafely, sleep: FakeSleep, name: str, fault: Fault, times: int,
    error: type[ConnectSafelyError],
) -> None:
    truth = [(r.get("entityUrn"), r.get("name"), r.get("viewedAt"))
             for r in fake.visitors(ACCOUNT)]
    async with client_for(fake, sleep) as client:
        walk = client.iter_visitors(count=10)
        got = [await anext(walk) for _ in range(10)]
        fake.inject(fault, times=times)
        got += [v async for v in walk]

    assert [key(v) for v in got] == truth
    starts = [r.json["start"] for r in fake.requests if r.path.endswith("/visitors")]
    if name == "idle keep-alive closed":
        # Page 2 was answered, then its pooled connection closed: page 3 either finds it
        # dead (a disconnect, retried at start 20) or the pool noticed first (no retry).
        # A request that never reached the server is not in `starts`.
        assert walk.stats.retries in (0, 1)
        assert starts == [0, 10, 20, 30, 40]
        return
    assert walk.stats.retries == times
    assert walk.stats.requests == 5 + times
    assert starts == [0, 10, *[10] * times, 20, 30, 40]
    assert len(sleep.waits) == times


@pytest.mark.parametrize(("name", "fault", "times", "error"),
                         [row for row in FAULTS if row[0] != "idle keep-alive closed"],
                         ids=[row[0] for row in FAULTS if row[0] != "idle keep-alive closed"])
async def test_a_fault_that_outlasts_the_retries_is_typed_and_resumable(
    fake: FakeConnectSafely, sleep: FakeSleep, name: str, fault: Fault, times: int,
    error: type[ConnectSafelyError],
) -> None:
    async with client_for(fake, sleep, max_retries=1) as client:
        walk = client.iter_visitors(count=10)
        got = [await anext(walk) for _ in range(10)]
        fake.inject(fault, times=5)
        with pytest.raises(error) as caught:
            async for visitor in walk:
                got.append(visitor)
        fake.clear_faults()
        assert caught.value.checkpoint is not None
        rest = [v async for v in client.iter_visitors(resume=caught.value.checkpoint)]

    assert len(got) == 10
    assert [key(v) for v in got + rest] == [
        (r.get("entityUrn"), r.get("name"), r.get("viewedAt")) for r in fake.visitors(ACCOUNT)
    ]
    assert walk.stats.retries == 1


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_a_redirect_is_a_typed_error_and_the_key_never_follows_it(
    fake: FakeConnectSafely, sleep: FakeSleep, status: int
) -> None:
    async with FakeConnectSafely() as elsewhere, client_for(fake, sleep) as client:
        fake.inject(Fault(status=status, headers={"Location": elsewhere.url + "/collect"}))
        with pytest.raises(APIStatusError, match="not followed") as caught:
            await client.get_visitors()
        assert caught.value.status_code == status
        assert elsewhere.requests == []
    assert sleep.waits == []  # a redirect is not retried: it is a configuration problem


async def test_retry_after_as_a_date_is_honoured_exactly(
    fake: FakeConnectSafely, sleep: FakeSleep
) -> None:
    async with client_for(fake, sleep) as client:
        fake.inject(Fault(status=429, json={"error": "slow"},
                          headers={"Retry-After": http_date(20)}))
        await client.get_visitors()
    (wait,) = sleep.waits
    assert 18 < wait <= 20


async def test_retries_after_a_503_burst_spread_out(fake: FakeConnectSafely) -> None:
    sleep = FakeSleep()
    fake.inject(Fault(status=503, json=None), times=12)
    async with client_for(fake, sleep) as client:
        pages = await asyncio.gather(*(client.get_visitors(count=1, max_visitors=1)
                                       for _ in range(12)))
    assert all(len(page.visitors) == 1 for page in pages)
    assert len(sleep.waits) == 12
    # Full jitter: twelve clients hit at once do not come back at once.
    assert len(set(sleep.waits)) == 12
    assert max(sleep.waits) - min(sleep.waits) > 0.1


async def test_cancel_during_a_backoff_sleep_propagates_and_releases(
    fake: FakeConnectSafely,
) -> None:
    fake.inject(Fault(status=429, json={"error": "slow"}, headers={"Retry-After": "30"}))
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                  rate_limits=None) as client:
        task = asyncio.create_task(client.get_visitors())
        while not fake.requests:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # the answer is in: the client now sleeps for 30 s
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(fake.requests) == 1  # cancelled while waiting, never retried


async def test_cancel_during_a_prefetching_walk_cancels_the_lookahead(
    fake: FakeConnectSafely,
) -> None:
    fake.latency = 0.05
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                  rate_limits=None) as client:
        walk = client.iter_visitors(count=5, prefetch=2)
        first = await anext(walk)
        assert first.name
        await walk.aclose()
        sent = len(fake.requests)
        await asyncio.sleep(0.2)
        assert len(fake.requests) == sent  # nothing more goes out after the walk is closed
        assert sent <= 3
