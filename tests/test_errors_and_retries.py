"""Error shapes, status classes and retries, over real HTTP against the fake service."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from connectsafely_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncConnectSafely,
    AuthenticationError,
    BadRequestError,
    ConnectSafelyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    RetryPolicy,
)
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import ACCOUNT, FakeSleep

TRIAL = "Your trial has expired. Please subscribe to continue using this feature."
ZOD = {"success": False, "error": {"name": "ZodError", "issues": [
    {"code": "invalid_type", "path": ["count"], "message": "Expected number, received string"}
]}}


def starts(fake: FakeConnectSafely) -> list[int]:
    return [r.json.get("start", 0) for r in fake.requests if r.path.endswith("/visitors")]


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (401, {"error": "Unauthorized - Invalid credentials"}, AuthenticationError,
         "Unauthorized - Invalid credentials"),
        (403, {"success": False, "error": TRIAL}, PermissionDeniedError, TRIAL),
        (400, ZOD, BadRequestError, "count: Expected number, received string"),
        (400, {"success": False, "code": "validation_error", "message": "bad range"},
         BadRequestError, "bad range"),
        (404, {"success": False, "error": "Account not found"}, NotFoundError,
         "Account not found"),
        (404, [], NotFoundError, "Not Found"),
        (403, "", PermissionDeniedError, "Forbidden"),
        (400, None, BadRequestError, "Bad Request"),
    ],
)
async def test_each_error_shape_gives_its_class_and_message(
    fake: FakeConnectSafely,
    client: AsyncConnectSafely,
    status: int,
    body: Any,
    cls: type[APIStatusError],
    message: str,
) -> None:
    fake.inject(Fault(status=status, json=body), times=5)
    with pytest.raises(cls) as caught:
        await client.get_visitors()
    assert caught.value.status_code == status
    assert caught.value.message == message
    assert caught.value.request_id is not None
    assert str(caught.value).startswith(f"HTTP {status}: {message}")
    assert len(starts(fake)) == 1  # 4xx are never retried


async def test_zod_issues_are_carried(fake: FakeConnectSafely, client: AsyncConnectSafely) -> None:
    fake.inject(Fault(status=400, json=ZOD))
    with pytest.raises(BadRequestError) as caught:
        await client.get_visitors()
    (issue,) = caught.value.issues
    assert (issue.path, issue.code, issue.message) == (
        ("count",), "invalid_type", "Expected number, received string"
    )


async def test_the_fakes_own_validation_reaches_the_user(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
        with pytest.raises(BadRequestError, match="timeRange"):
            await client.get_visitors(time_range="next_week")
        with pytest.raises(NotFoundError):
            await client.get_visitors(account_id="ffffffffffffffffffffffff")


async def test_wrong_key_is_an_authentication_error(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(api_key="not-the-key", base_url=fake.url) as client:
        with pytest.raises(AuthenticationError):
            await client.get_visitors()
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried_at_the_same_start(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep, status: int
) -> None:
    truth = fake.visitors(ACCOUNT)
    pages = client.iter_visitor_pages(count=10, max_visitors=30)
    first = await anext(pages)
    fake.inject(Fault(status=status, json={"success": False, "error": "boom"}), times=2)
    rest = [p async for p in pages]

    got = [v.entity_urn for p in [first, *rest] for v in p.visitors]
    assert got == [r.get("entityUrn") for r in truth[:30]]
    assert starts(fake) == [0, 10, 10, 10, 20]
    assert len(sleep.waits) == 2


async def test_retries_give_up_after_max_retries(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    fake.inject(Fault(status=500, json={"success": False,
                                        "error": "Failed to fetch profile visitors"}), times=10)
    with pytest.raises(InternalServerError, match="Failed to fetch profile visitors"):
        await client.get_visitors()
    assert len(starts(fake)) == 3  # max_retries=2 by default
    assert len(sleep.waits) == 2
    assert all(0 <= w <= 1.0 for w in sleep.waits)  # full jitter over 0.5s, then 1s


async def test_max_retries_per_call_overrides_the_client(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.inject(Fault(status=503, json=None), times=10)
    with pytest.raises(InternalServerError):
        await client.get_visitors(max_retries=0)
    assert len(starts(fake)) == 1
    with pytest.raises(InternalServerError):
        await client.get_visitors(max_retries=4)
    assert len(starts(fake)) == 6


async def test_html_502_from_a_proxy_is_a_server_error_and_retried(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake.inject(Fault(status=502, text=page, content_type="text/html"), times=3)
    with pytest.raises(InternalServerError) as caught:
        await client.get_visitors()
    assert "HTML" in caught.value.message
    assert caught.value.body == page
    assert len(starts(fake)) == 3


async def test_retry_after_beats_the_formula(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    fake.inject(Fault(status=429, json={"error": "slow down"}, headers={"Retry-After": "7"}))
    page = await client.get_visitors()
    assert len(page.visitors) == 20
    assert sleep.waits == [7.0]


async def test_retry_after_as_an_http_date(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    date = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    fake.inject(Fault(status=429, json={"error": "slow down"}, headers={"Retry-After": date}))
    await client.get_visitors()
    (wait,) = sleep.waits
    assert 27 < wait <= 30


async def test_rate_limit_reset_is_the_hint_when_retry_after_is_missing(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    reset = (datetime.now(timezone.utc) + timedelta(seconds=12)).isoformat()
    fake.inject(Fault(status=429, json={"error": "slow down"},
                      headers={"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0"}))
    await client.get_visitors()
    (wait,) = sleep.waits
    assert 10 < wait <= 12


@pytest.mark.parametrize("retry_after", ["86400", "1" + "0" * 35])
async def test_a_wait_over_the_cap_raises_at_once(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep, retry_after: str
) -> None:
    fake.inject(Fault(status=429, json={"error": "slow down"},
                      headers={"Retry-After": retry_after}))
    with pytest.raises(RateLimitError) as caught:
        await client.get_visitors()
    assert caught.value.retry_after == float(retry_after)
    assert sleep.waits == []
    assert len(starts(fake)) == 1


@pytest.mark.parametrize(
    "retry_after", ["-5", "soon", "nan", "inf", "1e3", "+5", "1_000", "\u0663"]
)
async def test_garbage_retry_after_falls_back_to_the_formula(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep, retry_after: str
) -> None:
    fake.inject(Fault(status=429, json={"error": "x"}, headers={"Retry-After": retry_after}))
    await client.get_visitors()
    (wait,) = sleep.waits
    assert 0 <= wait <= 0.5


async def test_hold_until_raises_at_once_with_the_instant(
    fake: FakeConnectSafely, client: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    fake.inject(Fault(status=429, json={"success": False, "error": "Account on hold",
                                        "holdUntil": "2031-01-02T03:04:05Z"}))
    with pytest.raises(RateLimitError) as caught:
        await client.get_visitors()
    assert caught.value.hold_until == datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert sleep.waits == []


async def test_connection_reset_is_retried(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.inject(Fault(kind="reset"))
    page = await client.get_visitors(count=5, max_visitors=5)
    assert len(page.visitors) == 5
    assert starts(fake) == [0, 0]


async def test_connection_errors_surface_typed_after_retries(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.inject(Fault(kind="truncate"), times=3)
    with pytest.raises(APIConnectionError) as caught:
        await client.get_visitors()
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


async def test_a_response_that_never_finishes_times_out(fake: FakeConnectSafely) -> None:
    fake.inject(Fault(kind="drip", delay=2.0), times=2)
    async with AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, timeout=0.2, max_retries=1,
        retry=RetryPolicy(initial_delay=0),
    ) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.get_visitors()
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, APIConnectionError)


async def test_unreachable_service_is_a_connection_error() -> None:
    async with AsyncConnectSafely(
        api_key="k", base_url="http://127.0.0.1:9", max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError, match=r"127\.0\.0\.1"):
            await client.get_visitors()


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (Fault(json=[]), "JSON object"),
        (Fault(json={"visitors": [], "hasMore": "yes"}), "$.hasMore"),
        (Fault(json={"hasMore": False}), "visitors"),
        (Fault(json={"visitors": [{"name": 5}], "hasMore": False}), "visitors[0].name"),
    ],
)
async def test_a_200_that_does_not_fit_is_a_validation_error(
    fake: FakeConnectSafely, client: AsyncConnectSafely, fault: Fault, fragment: str
) -> None:
    fake.inject(fault)
    visitors: list[Any] = []
    with pytest.raises(ResponseValidationError) as caught:
        async for visitor in client.iter_visitors():
            visitors.append(visitor)
    assert fragment in str(caught.value) + " ".join(caught.value.errors)
    assert visitors == []
    assert len(starts(fake)) == 1


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (Fault(text="not json", content_type="application/json"), "not valid JSON"),
        (Fault(text="<html>hi</html>", content_type="text/html"), "text/html"),
    ],
)
async def test_a_200_that_is_not_json_is_retried_then_a_decode_error(
    fake: FakeConnectSafely, client: AsyncConnectSafely, fault: Fault, fragment: str
) -> None:
    # A proxy's login or error page on a 200 is transient more often than not.
    fake.inject(fault)
    page = await client.get_visitors(count=5, max_visitors=5)
    assert len(page.visitors) == 5
    fake.inject(fault, times=3)
    with pytest.raises(ResponseDecodeError, match=fragment):
        await client.get_visitors()
    assert len(starts(fake)) == 2 + 3


async def test_redirects_are_not_followed(fake: FakeConnectSafely) -> None:
    async with FakeConnectSafely() as elsewhere, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url
    ) as client:
        fake.inject(Fault(status=307, headers={"Location": elsewhere.url + "/steal"}))
        with pytest.raises(APIStatusError, match="redirect") as caught:
            await client.get_visitors()
        assert caught.value.status_code == 307
        assert elsewhere.requests == []


async def test_cancellation_is_never_wrapped_or_retried(fake: FakeConnectSafely) -> None:
    fake.latency = 5.0
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
        task = asyncio.create_task(client.get_visitors())
        while not fake.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(fake.requests) == 1
        fake.latency = 0.0
        page = await client.get_visitors()  # the client is still usable
        assert len(page.visitors) == 20


async def test_every_error_is_a_connectsafely_error(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    for fault in (Fault(status=401, json={"error": "x"}), Fault(kind="reset"),
                  Fault(json={"nope": 1})):
        fake.inject(fault, times=3)
        with pytest.raises(ConnectSafelyError):
            await client.get_visitors(max_retries=0)
