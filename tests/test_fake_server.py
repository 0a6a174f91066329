"""The fake ConnectSafely server, checked over real HTTP with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from connectsafely_async.testing import (
    FakeConnectSafely,
    Fault,
    MaxVisitorsMode,
    RecordedRequest,
    make_visitors,
)
from connectsafely_async.testing._data import age_in_days

ACCOUNT = "696ce9e780e0483585e4e553"
OTHER = "aaaaaaaaaaaaaaaaaaaaaaaa"
KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
VISITORS = "/linkedin/profile/visitors"


@pytest.fixture
async def fake() -> AsyncIterator[FakeConnectSafely]:
    async with FakeConnectSafely(api_key=KEY, accounts={ACCOUNT: 45, OTHER: 0}) as server:
        yield server


@pytest.fixture
async def session(fake: FakeConnectSafely) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=fake.url, headers=AUTH) as client:
        yield client


async def post(session: aiohttp.ClientSession, **body: Any) -> tuple[int, Any]:
    async with session.post(VISITORS, json=body) as response:
        return response.status, await response.json()


# -- auth, routing, health ---------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}])
async def test_missing_or_wrong_key_is_401(
    fake: FakeConnectSafely, headers: dict[str, str]
) -> None:
    async with (
        aiohttp.ClientSession(base_url=fake.url, headers=headers) as client,
        client.post(VISITORS, json={}) as response,
    ):
        assert response.status == 401
        assert await response.json() == {"error": "Unauthorized - Invalid credentials"}
        assert response.headers["X-Request-Id"] == "req_000001"


async def test_health(session: aiohttp.ClientSession) -> None:
    async with session.get("/health") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_unknown_path_and_wrong_method(session: aiohttp.ClientSession) -> None:
    async with session.get("/linkedin/nope") as response:
        assert response.status == 404
        assert await response.json() == {"success": False, "error": "Not found"}
    async with session.get(VISITORS) as response:
        assert response.status == 405


async def test_every_answer_has_request_id_and_rate_limit_headers(
    session: aiohttp.ClientSession,
) -> None:
    ids = set()
    for path in ("/health", "/nope", "/linkedin/accounts"):
        async with session.get(path) as response:
            ids.add(response.headers["X-Request-Id"])
            for name in ("Limit", "Remaining", "Used", "Reset"):
                assert f"X-RateLimit-{name}" in response.headers
            assert response.headers["X-RateLimit-Reset"].endswith("Z")
    assert len(ids) == 3


# -- the visitors endpoint ---------------------------------------------------------------


async def test_vendor_shaped_answer_with_quirks(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, count=10, maxVisitors=10)

    assert status == 200
    assert list(body) == [
        "success", "accountId", "visitors", "pagination", "hasMore", "timeRange", "filters",
    ]  # fmt: skip
    assert body["accountId"] == ACCOUNT
    assert body["visitors"] == fake.visitors()[:10]
    assert body["pagination"] == {"start": 0, "count": 10, "total": 45}
    assert body["hasMore"] is True
    assert body["timeRange"] is None
    assert body["filters"] == {
        "timeRange": "past_90_days", "count": 10, "start": 0, "fetchAll": False, "maxVisitors": 10,
    }  # fmt: skip


async def test_defaults_and_echoed_time_range(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    fake.echo_time_range = True
    async with session.post(VISITORS) as response:  # no body at all
        body = await response.json()
    assert body["timeRange"] == "past_90_days"
    assert body["filters"] == {
        "timeRange": "past_90_days", "count": 20, "start": 0, "fetchAll": False, "maxVisitors": 20,
    }  # fmt: skip
    assert len(body["visitors"]) == 20


PER, TOTAL, CAPS = (
    MaxVisitorsMode.PER_REQUEST,
    MaxVisitorsMode.TOTAL,
    MaxVisitorsMode.TOTAL_CAPS_HAS_MORE,
)


@pytest.mark.parametrize(
    ("mode", "start", "count", "max_visitors", "expected_slice", "has_more"),
    [
        # 45 visitors; count=None means fetchAll.
        (PER, 40, 10, 50, (40, 45), False),
        (PER, 0, 10, 5, (0, 5), True),
        (PER, 30, 10, 10, (30, 40), True),
        (TOTAL, 40, 10, 50, (40, 45), False),
        (TOTAL, 0, 10, 10, (0, 10), True),
        (TOTAL, 10, 10, 10, (10, 10), True),  # an empty page that claims more
        (TOTAL, 20, 10, 25, (20, 25), True),
        (CAPS, 0, 10, 10, (0, 10), False),
        (CAPS, 0, 10, 25, (0, 10), True),
        (CAPS, 20, 10, 25, (20, 25), False),
        (PER, 5, None, 20, (5, 25), True),
        (TOTAL, 5, None, 20, (5, 20), True),
        (CAPS, 5, None, 20, (5, 20), False),
        (TOTAL, 0, None, 100, (0, 45), False),
    ],
)
async def test_max_visitors_modes(
    fake: FakeConnectSafely,
    session: aiohttp.ClientSession,
    mode: MaxVisitorsMode,
    start: int,
    count: int | None,
    max_visitors: int,
    expected_slice: tuple[int, int],
    has_more: bool,
) -> None:
    fake.max_visitors_mode = mode
    paging = {"fetchAll": True} if count is None else {"count": count}
    status, body = await post(session, start=start, maxVisitors=max_visitors, **paging)

    assert status == 200
    assert body["visitors"] == fake.visitors()[slice(*expected_slice)]
    assert body["hasMore"] is has_more
    assert body["pagination"]["total"] == 45


async def test_mode_can_change_between_requests(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    _, per_request = await post(session, start=0, count=10, maxVisitors=10)
    fake.max_visitors_mode = MaxVisitorsMode("total_caps_has_more")
    _, capped = await post(session, start=0, count=10, maxVisitors=10)
    assert (per_request["hasMore"], capped["hasMore"]) == (True, False)


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"count": "10"}, ["count"], "Expected number, received string"),
        ({"count": True}, ["count"], "Expected number, received boolean"),
        ({"count": 0}, ["count"], "Number must be greater than 0"),
        ({"count": 2.5}, ["count"], "Expected integer, received float"),
        ({"start": -1}, ["start"], "Number must be greater than or equal to 0"),
        ({"start": None}, ["start"], "Expected number, received null"),
        ({"maxVisitors": 0}, ["maxVisitors"], "Number must be greater than 0"),
        ({"timeRange": 7}, ["timeRange"], "Expected string, received number"),
        ({"fetchAll": "yes"}, ["fetchAll"], "Expected boolean, received string"),
        ({"accountId": 5}, ["accountId"], "Expected string, received number"),
        ([1, 2], [], "Expected object, received array"),
    ],
)
async def test_validation_errors_are_zod_shaped(
    session: aiohttp.ClientSession, body: Any, path: list[str], message: str
) -> None:
    async with session.post(VISITORS, json=body) as response:
        assert response.status == 400
        payload = await response.json()
    assert payload["success"] is False
    assert payload["error"]["name"] == "ZodError"
    [issue] = payload["error"]["issues"]
    assert (issue["path"], issue["message"]) == (path, message)
    assert issue["code"] in {"invalid_type", "too_small"}


async def test_every_bad_field_is_listed_and_bad_json_is_rejected(
    session: aiohttp.ClientSession,
) -> None:
    status, payload = await post(session, count="x", start=-1)
    assert status == 400
    assert [i["path"] for i in payload["error"]["issues"]] == [["count"], ["start"]]
    async with session.post(VISITORS, data=b"{nope", headers=AUTH) as response:
        assert response.status == 400
        assert (await response.json())["error"]["name"] == "ZodError"


async def test_unknown_time_range_is_the_fourth_error_shape(session: aiohttp.ClientSession) -> None:
    status, payload = await post(session, timeRange="past_2_days")
    assert status == 400
    assert payload == {
        "success": False,
        "code": "validation_error",
        "message": "Invalid timeRange: past_2_days",
    }


async def test_upper_case_time_range_is_accepted(session: aiohttp.ClientSession) -> None:
    status, payload = await post(session, timeRange="PAST_7_DAYS")
    assert status == 200
    assert payload["filters"]["timeRange"] == "past_7_days"


async def test_unknown_account_is_404(session: aiohttp.ClientSession) -> None:
    status, payload = await post(session, accountId="bbbbbbbbbbbbbbbbbbbbbbbb")
    assert (status, payload) == (404, {"success": False, "error": "Account not found"})


async def test_other_account_and_set_visitors(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    _, empty = await post(session, accountId=OTHER)
    assert (empty["visitors"], empty["hasMore"], empty["pagination"]["total"]) == ([], False, 0)

    newcomer = {"name": "New Viewer", "viewedAt": "Viewed 1m ago"}
    fake.set_visitors(ACCOUNT, [newcomer, *fake.visitors(ACCOUNT, "ALL_TIME")])
    _, body = await post(session, count=2, maxVisitors=2)
    assert body["visitors"][0] == newcomer
    assert body["pagination"]["total"] == 46


async def test_time_range_filtering(session: aiohttp.ClientSession) -> None:
    async with FakeConnectSafely(accounts={ACCOUNT: 200}) as fake:
        everyone = fake.visitors(time_range="ALL_TIME")
        counts = {}
        for time_range in ("past_7_days", "past_30_days", "past_90_days", "past_1_year"):
            window = fake.visitors(time_range=time_range)
            assert window == everyone[: len(window)]  # newest first, so a prefix
            counts[time_range] = len(window)
        assert 0 < counts["past_7_days"] < counts["past_30_days"] < counts["past_90_days"]
        assert counts["past_90_days"] >= 60
        assert counts["past_90_days"] < counts["past_1_year"] < 200

        async with aiohttp.ClientSession(headers=AUTH) as client:
            body = {"timeRange": "past_7_days", "fetchAll": True, "maxVisitors": 500}
            async with client.post(fake.url + VISITORS, json=body) as response:
                payload = await response.json()
        assert payload["visitors"] == fake.visitors(time_range="past_7_days")
        assert payload["pagination"]["total"] == counts["past_7_days"]
    with pytest.raises(ValueError, match="unknown time range"):
        fake.visitors(time_range="yesterday")


# -- accounts --------------------------------------------------------------------------------


async def test_accounts_list_and_filter(session: aiohttp.ClientSession) -> None:
    async with session.get("/linkedin/accounts") as response:
        accounts = await response.json()
    assert [a["id"] for a in accounts] == [ACCOUNT, OTHER]
    assert set(accounts[0]) == {
        "id", "firstName", "lastName", "publicId", "picture", "status", "enabled",
    }  # fmt: skip

    first_name = accounts[1]["firstName"]
    async with session.get("/linkedin/accounts", params={"q": first_name.upper()}) as response:
        matches = await response.json()
    assert OTHER in [a["id"] for a in matches]
    async with session.get("/linkedin/accounts", params={"q": "zzz-nobody"}) as response:
        assert await response.json() == []


# -- recording, latency, rate limits -----------------------------------------------------------


async def test_requests_are_recorded_including_failures(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    await post(session, count="bad")
    async with session.get("/health", params={"x": "1"}, headers={"Authorization": "nope"}):
        pass

    first, second = fake.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.json) == ("POST", VISITORS, {"count": "bad"})
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert (second.method, second.path, second.query) == ("GET", "/health", {"x": "1"})
    assert second.headers["Authorization"] == "nope"
    assert second.json is None
    assert first.received_at <= second.received_at


async def test_latency(fake: FakeConnectSafely, session: aiohttp.ClientSession) -> None:
    fake.latency = 0.05
    began = time.monotonic()
    await post(session)
    assert time.monotonic() - began >= 0.05


async def test_rate_limit() -> None:
    async with (
        FakeConnectSafely(rate_limit=2, rate_limit_window=0.3) as fake,
        aiohttp.ClientSession(base_url=fake.url, headers=AUTH) as client,
    ):
        for remaining in ("1", "0"):
            async with client.get("/health") as response:
                assert response.status == 200
                assert response.headers["X-RateLimit-Remaining"] == remaining
        async with client.post(VISITORS, json={}) as response:
            assert response.status == 429
            assert await response.json() == {"success": False, "error": "Rate limit exceeded"}
            assert int(response.headers["Retry-After"]) >= 1
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert response.headers["X-RateLimit-Action"] == "throttle"
            assert response.headers["X-RateLimit-Limit"] == "2"
        await asyncio.sleep(0.3)
        async with client.get("/health") as response:
            assert response.status == 200


# -- faults ------------------------------------------------------------------------------------


async def test_fault_with_json_body_then_normal_again(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    error = {"success": False, "error": "Failed to fetch profile visitors"}
    fake.inject(Fault(status=500, json=error), times=2)
    assert await post(session) == (500, error)
    assert len(fake.pending_faults) == 1
    assert await post(session) == (500, error)
    status, _ = await post(session)
    assert status == 200


async def test_faults_are_fifo_and_only_hit_authorised_visitor_requests(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    fake.inject(Fault(status=503, json={"n": 1}))
    fake.inject(Fault(status=504, json={"n": 2}))
    async with session.get("/health") as response:
        assert response.status == 200
    async with session.post(VISITORS, json={}, headers={"Authorization": "x"}) as response:
        assert response.status == 401
    assert await post(session) == (503, {"n": 1})
    assert await post(session) == (504, {"n": 2})


async def test_html_502_and_extra_headers(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake.inject(Fault(status=502, text=html, content_type="text/html"))
    fake.inject(Fault(status=429, json={"success": False}, headers={"Retry-After": "2"}))
    async with session.post(VISITORS, json={}) as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert await response.text() == html
    async with session.post(VISITORS, json={}) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"
        assert "X-Request-Id" in response.headers


async def test_malformed_and_odd_bodies_on_200(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    fake.inject(Fault(status=200, text="not json", content_type="application/json"))
    fake.inject(Fault(json={"success": True, "visitors": [], "hasMore": "yes"}))
    async with session.post(VISITORS, json={}) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.read() == b"not json"
    assert await post(session) == (200, {"success": True, "visitors": [], "hasMore": "yes"})


async def test_delay_and_headers_decorate_a_normal_answer(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    fake.inject(Fault(delay=0.05, headers={"X-Extra": "1"}))
    began = time.monotonic()
    async with session.post(VISITORS, json={"count": 3, "maxVisitors": 3}) as response:
        body = await response.json()
        assert response.headers["X-Extra"] == "1"
    assert time.monotonic() - began >= 0.05
    assert body["visitors"] == fake.visitors()[:3]


async def test_redirect(fake: FakeConnectSafely, session: aiohttp.ClientSession) -> None:
    location = "http://127.0.0.1:9/elsewhere"
    fake.inject(Fault(status=307, headers={"Location": location}))
    async with session.post(VISITORS, json={}, allow_redirects=False) as response:
        assert response.status == 307
        assert response.headers["Location"] == location


async def test_reset(fake: FakeConnectSafely, session: aiohttp.ClientSession) -> None:
    fake.inject(Fault(kind="reset"))
    with pytest.raises(aiohttp.ClientError):
        await post(session)
    assert await post(session) == (200, normal_answer(fake))


def normal_answer(fake: FakeConnectSafely) -> Any:
    """What a request with an empty body gets from the default fake."""
    return {
        "success": True,
        "accountId": ACCOUNT,
        "visitors": fake.visitors()[:20],
        "pagination": {"start": 0, "count": 20, "total": 45},
        "hasMore": True,
        "timeRange": None,
        "filters": {
            "timeRange": "past_90_days",
            "count": 20,
            "start": 0,
            "fetchAll": False,
            "maxVisitors": 20,
        },
    }


async def test_drip_times_out_an_impatient_client(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    fake.inject(Fault(kind="drip", delay=5.0))
    began = time.monotonic()
    async with session.post(
        VISITORS, json={}, timeout=aiohttp.ClientTimeout(sock_read=0.1)
    ) as response:
        assert response.status == 200  # the headers arrive; the body never does
        with pytest.raises(asyncio.TimeoutError):
            await response.read()
    assert time.monotonic() - began < 2


async def test_drip_serves_a_patient_client(
    fake: FakeConnectSafely, session: aiohttp.ClientSession
) -> None:
    fake.inject(Fault(kind="drip", delay=0.05))
    assert await post(session) == (200, normal_answer(fake))


async def test_truncate(fake: FakeConnectSafely, session: aiohttp.ClientSession) -> None:
    fake.inject(Fault(kind="truncate"))
    with pytest.raises(aiohttp.ClientPayloadError):
        await post(session)


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        Fault(json={}, text="{}")
    with pytest.raises(ValueError, match="delay"):
        Fault(delay=-1)
    assert Fault(status=500, json={"a": 1}) == Fault(status=500, json={"a": 1})


# -- lifecycle -----------------------------------------------------------------------------------


async def test_lifecycle() -> None:
    fake = FakeConnectSafely()
    with pytest.raises(RuntimeError):
        _ = fake.url
    await fake.start()
    assert fake.url.startswith("http://127.0.0.1:")
    assert not fake.url.endswith("/")
    with pytest.raises(RuntimeError):
        await fake.start()
    await fake.close()
    await fake.close()
    with pytest.raises(RuntimeError):
        await fake.start()


async def test_close_with_a_request_in_flight_is_quick_and_clean() -> None:
    fake = FakeConnectSafely()
    await fake.start()
    fake.inject(Fault(kind="drip", delay=30.0))
    async with (
        aiohttp.ClientSession(base_url=fake.url, headers=AUTH) as client,
        client.post(VISITORS, json={}) as response,
    ):
        assert response.status == 200
        began = time.monotonic()
        await fake.close()
        assert time.monotonic() - began < 1
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


def test_constructor_checks_accounts() -> None:
    with pytest.raises(ValueError, match="at least one"):
        FakeConnectSafely(accounts={})
    with pytest.raises(ValueError, match="default_account_id"):
        FakeConnectSafely(accounts={ACCOUNT: 1}, default_account_id=OTHER)


# -- synthetic data ------------------------------------------------------------------------------


def test_make_visitors_is_deterministic() -> None:
    assert make_visitors(50, seed=3) == make_visitors(50, seed=3)
    assert make_visitors(50, seed=3) != make_visitors(50, seed=4)
    assert make_visitors(10) == make_visitors(20)[:10]
    with pytest.raises(ValueError, match="n must be"):
        make_visitors(-1)


def test_make_visitors_shape() -> None:
    visitors = make_visitors(100)
    anonymous = [v for v in visitors if not v.get("entityUrn")]
    assert len(anonymous) == 10
    assert {v["name"] for v in anonymous} == {"LinkedIn Member", "Someone at a company in Software"}
    assert any("entityUrn" not in v for v in anonymous)
    assert any("entityUrn" in v and v["entityUrn"] is None for v in anonymous)

    named = [v for v in visitors if v.get("entityUrn")]
    urns = [v["entityUrn"] for v in named]
    assert len(set(urns)) == len(urns)
    assert all(urn.startswith("urn:li:fsd_profile:ACoAA") for urn in urns)
    assert all(
        v["profileUrl"] == f"https://www.linkedin.com/in/{v['publicIdentifier']}" for v in named
    )
    assert {v.get("connectionDegree") for v in named} == {"1st", "2nd", "3rd", "3rd+", None}
    assert any("navigationUrl" in v for v in named)
    assert any(not v["headline"].isascii() for v in named)
    assert any("<" in v["headline"] and "&" in v["headline"] for v in named)
    many = make_visitors(300)
    ages = [age_in_days(v["viewedAt"]) or 0.0 for v in many]
    assert ages == sorted(ages)  # newest first
    units = {v["viewedAt"].split()[1].lstrip("0123456789") for v in many}
    assert units == {"m", "h", "d", "w", "mo", "y"}
    assert visitors[0]["viewedAt"].startswith("Viewed ")
    assert visitors[0]["viewedAt"].endswith("m ago")

    other = make_visitors(100, account_id=OTHER)
    assert not set(urns) & {v.get("entityUrn") for v in other}
