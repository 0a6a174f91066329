"""Paging over real HTTP against the fake service, under every reading of ``maxVisitors``."""

from __future__ import annotations

from typing import Any

import pytest

from connectsafely_async import AsyncConnectSafely, TimeRange, Visitor
from connectsafely_async.testing import FakeConnectSafely, Fault, MaxVisitorsMode

from .conftest import ACCOUNT, OTHER_ACCOUNT

ALL_MODES = list(MaxVisitorsMode)


def urns(visitors: list[Visitor]) -> list[tuple[str | None, str | None, str | None]]:
    # Anonymous visitors have no URN; name and viewedAt keep the comparison exact for them.
    return [(v.entity_urn, v.name, v.viewed_at) for v in visitors]


def expected(records: list[dict[str, Any]]) -> list[tuple[str | None, str | None, str | None]]:
    return [(r.get("entityUrn"), r.get("name"), r.get("viewedAt")) for r in records]


def visitor_requests(fake: FakeConnectSafely) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == "/linkedin/profile/visitors"]


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize(
    ("total", "count", "start", "max_visitors"),
    [
        (45, 10, 0, None),  # all of it, last page short
        (45, 10, 0, 20),  # max on a page boundary
        (45, 10, 0, 23),  # max inside a page: the last request asks for 3
        (45, 10, 0, 45),  # max == total exactly
        (45, 10, 0, 100),  # max beyond the total
        (45, 50, 0, None),  # one page bigger than everything
        (8, 20, 0, None),  # total < count
        (45, 7, 12, 30),  # from an offset
        (45, 1, 40, None),  # page size one, near the end
        (0, 20, 0, None),  # nobody visited
        (20, 10, 0, None),  # total a multiple of count
    ],
)
async def test_walk_yields_exactly_the_servers_visitors(
    fake: FakeConnectSafely,
    client: AsyncConnectSafely,
    mode: MaxVisitorsMode,
    total: int,
    count: int,
    start: int,
    max_visitors: int | None,
) -> None:
    fake.max_visitors_mode = mode
    fake.set_visitors(ACCOUNT, fake.visitors(ACCOUNT)[:total] if total <= 45 else [])
    truth = fake.visitors(ACCOUNT)
    end = len(truth) if max_visitors is None else min(len(truth), start + max_visitors)

    got = [v async for v in client.iter_visitors(
        max_visitors=max_visitors, count=count, start=start, account_id=ACCOUNT
    )]

    assert urns(got) == expected(truth[start:end])
    sent = visitor_requests(fake)
    # Never overshoot: no request asks for more than is still wanted.
    wanted = None if max_visitors is None else max_visitors
    for body in sent:
        if wanted is not None:
            assert body["count"] <= wanted - (body["start"] - start)
        assert body["maxVisitors"] == body["start"] + body["count"] + 1
    # Requests are contiguous: each starts where the previous page ended.
    assert [b["start"] for b in sent] == [start + i * count for i in range(len(sent))]
    assert len(sent) == max(1, -(-(end - start) // count))


@pytest.mark.parametrize("mode", ALL_MODES)
async def test_pages_view_is_the_same_walk(
    fake: FakeConnectSafely, client: AsyncConnectSafely, mode: MaxVisitorsMode
) -> None:
    fake.max_visitors_mode = mode
    pages = [p async for p in client.iter_visitor_pages(max_visitors=25, count=10)]
    assert [len(p.visitors) for p in pages] == [10, 10, 5]
    assert [p.has_more for p in pages] == [True, True, True]
    flat = [v for p in pages for v in p.visitors]
    assert urns(flat) == expected(fake.visitors(ACCOUNT)[:25])


async def test_short_pages_with_has_more_advance_by_what_was_received(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = fake.visitors(ACCOUNT)
    short = {"success": True, "accountId": ACCOUNT, "visitors": truth[:3], "hasMore": True,
             "pagination": {"start": 0, "count": 10, "total": 45}, "timeRange": None}
    fake.inject(Fault(json=short))

    got = [v async for v in client.iter_visitors(count=10)]

    assert urns(got) == expected(truth)
    assert [b["start"] for b in visitor_requests(fake)] == [0, 3, 13, 23, 33, 43]


async def test_empty_page_with_has_more_true_stops(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    empty = {"success": True, "visitors": [], "hasMore": True}
    fake.inject(Fault(json=empty), times=50)

    got = [v async for v in client.iter_visitors(count=10)]

    assert got == []
    assert len(visitor_requests(fake)) == 1


async def test_a_page_longer_than_asked_is_cut_to_max_visitors(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = fake.visitors(ACCOUNT)
    generous = {"success": True, "visitors": truth[:15], "hasMore": True}
    fake.inject(Fault(json=generous))

    got = [v async for v in client.iter_visitors(max_visitors=4, count=10)]

    assert urns(got) == expected(truth[:4])
    assert len(visitor_requests(fake)) == 1


async def test_free_account_with_no_visitors(client: AsyncConnectSafely) -> None:
    pages = [p async for p in client.iter_visitor_pages(account_id=OTHER_ACCOUNT)]
    assert len(pages) == 1
    assert pages[0].visitors == ()
    assert pages[0].has_more is False


async def test_get_visitors_sends_one_planned_request(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    page = await client.get_visitors(
        max_visitors=20, count=10, start=5, time_range=TimeRange.PAST_30_DAYS,
        account_id=ACCOUNT,
    )
    # count = the page, maxVisitors one past it: right under every reading of maxVisitors.
    assert visitor_requests(fake) == [
        {"accountId": ACCOUNT, "timeRange": "past_30_days", "count": 10, "start": 5,
         "maxVisitors": 16}
    ]
    truth = fake.visitors(ACCOUNT, time_range="past_30_days")
    assert urns(list(page.visitors)) == expected(truth[5:15])
    assert page.account_id == ACCOUNT
    # The documented quirk: top-level timeRange is null, the applied one is in filters.
    assert page.time_range == "past_30_days"
    assert page.request_id is not None
    assert page.rate_limit is not None
    assert page.rate_limit.limit is not None


@pytest.mark.parametrize("mode", list(MaxVisitorsMode))
async def test_get_visitors_returns_the_page_asked_for_under_every_reading(
    fake: FakeConnectSafely, client: AsyncConnectSafely, mode: MaxVisitorsMode
) -> None:
    fake.max_visitors_mode = mode
    truth = fake.visitors(ACCOUNT)

    page = await client.get_visitors(max_visitors=5, count=10, start=30, account_id=ACCOUNT)

    assert urns(list(page.visitors)) == expected(truth[30:35])
    assert page.has_more is True
    assert len(visitor_requests(fake)) == 1
    # The checkpoint continues right after the page, with no gap and no repeat.
    assert page.checkpoint is not None
    assert page.checkpoint.next_start == 35
    rest = [v async for v in client.iter_visitors(resume=page.checkpoint, account_id=ACCOUNT)]
    assert urns(rest) == expected(truth[35:])


@pytest.mark.parametrize("mode", list(MaxVisitorsMode))
async def test_get_visitors_at_the_end_says_nothing_more(
    fake: FakeConnectSafely, client: AsyncConnectSafely, mode: MaxVisitorsMode
) -> None:
    fake.max_visitors_mode = mode
    truth = fake.visitors(ACCOUNT)

    page = await client.get_visitors(max_visitors=20, start=40, account_id=ACCOUNT)

    assert urns(list(page.visitors)) == expected(truth[40:])
    assert page.has_more is False


async def test_get_visitors_defaults_ask_for_one_page_of_twenty(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    page = await client.get_visitors()
    assert visitor_requests(fake) == [{"count": 20, "start": 0, "maxVisitors": 21}]
    assert len(page.visitors) == 20
    headers = fake.requests[0].headers
    assert headers["Authorization"] == f"Bearer {fake.api_key}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("connectsafely-async/")


async def test_get_visitors_with_fetch_all_is_sent_as_given(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    await client.get_visitors(max_visitors=30, count=10, start=5, fetch_all=True)
    assert visitor_requests(fake) == [
        {"count": 10, "start": 5, "fetchAll": True, "maxVisitors": 30}
    ]


async def test_fetch_all_is_sent_only_when_asked(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    page = await client.get_visitors(max_visitors=30, fetch_all=True)
    assert visitor_requests(fake)[0]["fetchAll"] is True
    assert len(page.visitors) == 30


@pytest.mark.parametrize("time_range", [*TimeRange, "PAST_7_DAYS"])
async def test_every_time_range_reaches_the_service(
    fake: FakeConnectSafely, client: AsyncConnectSafely, time_range: str
) -> None:
    got = [v async for v in client.iter_visitors(time_range=time_range, count=50)]
    assert urns(got) == expected(fake.visitors(ACCOUNT, time_range=str(time_range)))
    assert visitor_requests(fake)[0]["timeRange"] == str(time_range)


async def test_client_default_account_and_per_call_override(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, account_id=OTHER_ACCOUNT
    ) as client:
        await client.get_visitors()
        await client.get_visitors(account_id=ACCOUNT)
    assert [b.get("accountId") for b in visitor_requests(fake)] == [OTHER_ACCOUNT, ACCOUNT]


async def test_anonymous_visitors_are_typed_and_flagged(client: AsyncConnectSafely) -> None:
    visitors = [v async for v in client.iter_visitors(count=50)]
    anonymous = [v for v in visitors if v.is_anonymous]
    assert 0 < len(anonymous) < len(visitors) // 5
    for visitor in anonymous:
        assert visitor.entity_urn is None
        assert visitor.profile_url is None
    for visitor in visitors:
        assert visitor.viewed_ago is not None
        assert visitor.fetched_at is not None
        # The middle of the interval the rounded text allows, as the history estimates it.
        assert visitor.estimated_viewed_at is not None
        assert visitor.viewed_ago is not None
        assert visitor.estimated_viewed_at < visitor.fetched_at - visitor.viewed_ago
