"""Planning each visitors request, and the page loop against simulated servers.

The service's ``maxVisitors`` is ambiguous (see ``_pagination``'s docstring); each reading is
simulated here in plain Python and the loop must give the same visitors under all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectsafely_async import Visitor, VisitorsPage
from connectsafely_async._pagination import WalkSpec, WalkStats, plan_request, walk_pages
from connectsafely_async._protocol.visitors import VisitorsQuery

Reading = Literal["per-response", "total", "total-capped-has-more"]
READINGS: tuple[Reading, ...] = ("per-response", "total", "total-capped-has-more")


def make_items(total: int) -> list[Visitor]:
    return [Visitor(public_identifier=f"v{i}", name=f"Visitor {i}") for i in range(total)]


def serve(items: list[Visitor], reading: Reading, query: VisitorsQuery) -> VisitorsPage:
    """What the service answers under one reading of ``maxVisitors``."""
    start = query.start or 0
    count = 20 if query.count is None else query.count
    cap = 20 if query.max_visitors is None else query.max_visitors
    total = len(items)
    if reading == "per-response":
        page = items[start : start + min(count, cap)]
        has_more = start + len(page) < total
    elif reading == "total":
        page = items[start : min(start + count, cap)]
        has_more = start + len(page) < total
    else:
        page = items[start : min(start + count, cap)]
        has_more = start + len(page) < min(cap, total)
    return VisitorsPage(visitors=tuple(page), has_more=has_more)


@attrs.define
class FakeService:
    """An async ``fetch`` that records every query and answers with ``answer``."""

    answer: Callable[[VisitorsQuery], VisitorsPage]
    queries: list[VisitorsQuery] = attrs.field(factory=list)

    async def __call__(self, query: VisitorsQuery, stats: WalkStats | None = None) -> VisitorsPage:
        self.queries.append(query)
        if len(self.queries) > 1000:
            msg = "runaway pagination"
            raise AssertionError(msg)
        return self.answer(query)


async def walk(
    service: FakeService,
    *,
    count: int,
    start: int = 0,
    max_visitors: int | None = None,
) -> list[VisitorsPage]:
    return [
        page
        async for page in walk_pages(
            service,
            WalkSpec(
                count=count,
                max_visitors=max_visitors,
                account_id="acc",
                time_range="past_7_days",
            ),
            start=start,
        )
    ]


def flatten(pages: list[VisitorsPage]) -> list[Visitor]:
    return [visitor for page in pages for visitor in page.visitors]


# --- plan_request --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "remaining", "size"),
    [
        (0, 20, None, 20),
        (0, 20, 100, 20),
        (0, 20, 20, 20),
        (0, 20, 7, 7),
        (40, 10, 3, 3),
        (40, 10, 1, 1),
        (5, 1, None, 1),
    ],
)
def test_plan_request(start: int, count: int, remaining: int | None, size: int) -> None:
    query = plan_request(
        start=start, count=count, remaining=remaining, account_id="acc", time_range="ALL_TIME"
    )
    assert query == VisitorsQuery(
        account_id="acc",
        time_range="ALL_TIME",
        count=size,
        start=start,
        fetch_all=None,
        max_visitors=start + size + 1,
    )


def test_plan_request_passes_none_through() -> None:
    query = plan_request(start=0, count=10, remaining=None, account_id=None, time_range=None)
    assert query.to_json() == {"count": 10, "start": 0, "maxVisitors": 11}


@settings(max_examples=100, deadline=None)
@given(
    start=st.integers(0, 10_000),
    count=st.integers(1, 500),
    remaining=st.none() | st.integers(1, 1000),
)
def test_plan_request_property(start: int, count: int, remaining: int | None) -> None:
    query = plan_request(
        start=start, count=count, remaining=remaining, account_id=None, time_range=None
    )
    expected = count if remaining is None else min(count, remaining)
    assert query.count == expected
    assert query.start == start
    assert query.max_visitors == start + expected + 1
    assert query.fetch_all is None


# --- the loop under each reading -----------------------------------------------------------


def expected_fetches(available: int, count: int, max_visitors: int | None) -> int:
    wanted = available if max_visitors is None else min(available, max_visitors)
    if max_visitors is not None and wanted == max_visitors:
        return math.ceil(wanted / count)  # stops as soon as the cap is reached (0 for 0)
    return max(1, math.ceil(wanted / count))  # stops on hasMore=false, one request at least


async def test_every_reading_yields_exactly_the_slice() -> None:
    walks = 0
    for total in range(61):
        items = make_items(total)
        for start in (0, 3):
            available = max(0, total - start)
            for count in range(1, 26):
                for max_visitors in (None, 1, available, available + 7):
                    for reading in READINGS:
                        service = FakeService(
                            lambda q, items=items, reading=reading: serve(items, reading, q)
                        )
                        pages = await walk(
                            service, count=count, start=start, max_visitors=max_visitors
                        )
                        walks += 1
                        end = None if max_visitors is None else start + max_visitors
                        context = (total, start, count, max_visitors, reading)
                        assert flatten(pages) == items[start:end], context
                        assert len(service.queries) == expected_fetches(
                            available, count, max_visitors
                        ), context
                        check_queries(service.queries, start, count, max_visitors, pages)
    assert walks == 61 * 2 * 25 * 4 * 3


def check_queries(
    queries: list[VisitorsQuery],
    start: int,
    count: int,
    max_visitors: int | None,
    pages: list[VisitorsPage],
) -> None:
    """Each request asks for exactly what is still needed, from where the last page ended."""
    yielded = 0
    offset = start
    for query, page in zip(queries, pages, strict=True):
        remaining = None if max_visitors is None else max_visitors - yielded
        size = count if remaining is None else min(count, remaining)
        assert query.count == size
        assert size >= 1
        assert query.start == offset
        assert query.max_visitors == offset + size + 1
        assert query.account_id == "acc"
        assert query.time_range == "past_7_days"
        yielded += len(page.visitors)
        offset += len(page.visitors)
    if max_visitors is not None:
        assert yielded <= max_visitors


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(0, 300),
    start=st.integers(0, 320),
    count=st.integers(1, 100),
    max_visitors=st.none() | st.integers(0, 400),
    reading=st.sampled_from(READINGS),
)
async def test_every_reading_property(
    total: int, start: int, count: int, max_visitors: int | None, reading: Reading
) -> None:
    items = make_items(total)
    service = FakeService(lambda q: serve(items, reading, q))
    pages = await walk(service, count=count, start=start, max_visitors=max_visitors)
    end = None if max_visitors is None else start + max_visitors
    assert flatten(pages) == items[start:end]
    check_queries(service.queries, start, count, max_visitors, pages)


async def test_max_visitors_zero_sends_nothing() -> None:
    service = FakeService(lambda q: serve(make_items(10), "total", q))
    assert await walk(service, count=5, max_visitors=0) == []
    assert service.queries == []


# --- a misbehaving service -----------------------------------------------------------------


async def test_empty_page_with_has_more_stops() -> None:
    service = FakeService(lambda q: VisitorsPage(visitors=(), has_more=True))
    pages = await walk(service, count=10)
    assert len(service.queries) == 1
    assert pages == [VisitorsPage(visitors=(), has_more=True)]


async def test_empty_page_with_has_more_after_some_pages_stops() -> None:
    items = make_items(12)

    def answer(query: VisitorsQuery) -> VisitorsPage:
        start = query.start or 0
        if start >= 8:
            return VisitorsPage(visitors=(), has_more=True)
        return VisitorsPage(visitors=tuple(items[start : start + 4]), has_more=True)

    service = FakeService(answer)
    pages = await walk(service, count=4, max_visitors=100)
    assert flatten(pages) == items[:8]
    assert [q.start for q in service.queries] == [0, 4, 8]


async def test_page_longer_than_requested_is_truncated_to_max_visitors() -> None:
    items = make_items(50)

    def answer(query: VisitorsQuery) -> VisitorsPage:
        start = query.start or 0
        return VisitorsPage(visitors=tuple(items[start : start + 10]), has_more=True)

    service = FakeService(answer)
    pages = await walk(service, count=3, max_visitors=5)
    assert flatten(pages) == items[:5]
    assert len(service.queries) == 1
    assert service.queries[0].count == 3
    assert pages[0].has_more is True

    service = FakeService(answer)
    pages = await walk(service, count=4, max_visitors=13)
    assert flatten(pages) == items[:13]
    assert [len(page.visitors) for page in pages] == [10, 3]
    assert [(q.start, q.count) for q in service.queries] == [(0, 4), (10, 3)]


async def test_short_pages_with_has_more_advance_by_what_was_received() -> None:
    items = make_items(20)

    def answer(query: VisitorsQuery) -> VisitorsPage:
        start = query.start or 0
        page = items[start : start + min(3, query.count or 20)]
        return VisitorsPage(visitors=tuple(page), has_more=start + len(page) < len(items))

    service = FakeService(answer)
    pages = await walk(service, count=10)
    assert flatten(pages) == items
    assert [q.start for q in service.queries] == [0, 3, 6, 9, 12, 15, 18]
    assert all(q.count == 10 for q in service.queries)

    service = FakeService(answer)
    pages = await walk(service, count=10, start=2, max_visitors=7)
    assert flatten(pages) == items[2:9]
    assert [(q.start, q.count) for q in service.queries] == [(2, 7), (5, 4), (8, 1)]


async def test_has_more_false_stops_even_if_more_is_wanted() -> None:
    items = make_items(30)
    service = FakeService(
        lambda q: VisitorsPage(visitors=tuple(items[: q.count or 0]), has_more=False)
    )
    pages = await walk(service, count=10, max_visitors=100)
    assert len(service.queries) == 1
    assert flatten(pages) == items[:10]


async def test_pages_keep_their_metadata_when_truncated() -> None:
    items = make_items(10)
    original = VisitorsPage(
        visitors=tuple(items), has_more=True, account_id="acc", request_id="req-1"
    )
    service = FakeService(lambda q: original)
    (page,) = await walk(service, count=10, max_visitors=4)
    assert page == attrs.evolve(original, visitors=tuple(items[:4]))
    assert page.request_id == "req-1"


def test_the_seen_set_is_bounded_and_remembers_the_recent_half() -> None:
    from connectsafely_async._duplicates import SeenUrns

    seen = SeenUrns(limit=10)
    for i in range(1_000):
        assert seen.add(f"urn{i}")
    assert not seen.add("urn999")  # the most recent are remembered
    assert not seen.add("urn995")
    assert seen.isdisjoint({"urn0", "urn500"})  # the old ones are forgotten: memory is bounded
    assert len(seen._young) + len(seen._old) <= 10


async def test_a_lookahead_request_starts_before_the_page_is_handed_out() -> None:
    # Answers ready at once, as a fast server's are while the consumer works: the awaited
    # look-ahead task is already done, so awaiting it lets nothing else run. The next
    # request must still have started (gone out) before the consumer gets this page, or
    # the consumer's work and the next request never overlap.
    items = make_items(50)
    service = FakeService(lambda query: serve(items, "per-response", query))
    spec = WalkSpec(
        count=10, max_visitors=None, account_id="acc", time_range="past_7_days", prefetch=1
    )
    handed_out = 0
    async for _ in walk_pages(service, spec):
        # Page n is being handed out: the request for page n + 1 has started.
        assert len(service.queries) >= handed_out + 2
        handed_out += 1
    assert handed_out == 5
