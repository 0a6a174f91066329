"""Checkpoints: serialisable, refused for other filters, and exact when a walk resumes."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectsafely_async import (
    AsyncConnectSafely,
    Checkpoint,
    ConnectSafelyError,
    InternalServerError,
    RetryPolicy,
    Visitor,
    VisitorsPage,
    make_converter,
)
from connectsafely_async.testing import FakeConnectSafely, Fault, make_visitors

from .conftest import ACCOUNT, FakeSleep


def key(v: Visitor) -> tuple[str | None, str | None, str | None]:
    return (v.entity_urn, v.name, v.viewed_at)


def test_a_checkpoint_round_trips_through_json() -> None:
    converter = make_converter()
    checkpoint = Checkpoint(next_start=40, page_size=20, yielded=37, filters="0123abcd",
                            recent_urns=("urn:li:fsd_profile:A", "urn:li:fsd_profile:B"),
                            tail=("0a1b2c3d4e5f",))
    text = json.dumps(converter.unstructure(checkpoint))
    assert json.loads(text) == {"nextStart": 40, "pageSize": 20, "yielded": 37,
                                "filters": "0123abcd",
                                "recentUrns": ["urn:li:fsd_profile:A", "urn:li:fsd_profile:B"],
                                "tail": ["0a1b2c3d4e5f"]}
    assert converter.structure(json.loads(text), Checkpoint) == checkpoint


async def test_an_error_carries_the_checkpoint_and_resume_finishes_the_walk(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = [key(v) async for v in client.iter_visitors(count=10)]
    fake.requests.clear()

    walk = client.iter_visitors(count=10)
    got = [await anext(walk) for _ in range(20)]
    fake.inject(Fault(status=500, json={"error": "down"}), times=3)
    with pytest.raises(InternalServerError) as caught:
        async for visitor in walk:
            got.append(visitor)
    checkpoint = caught.value.checkpoint
    assert checkpoint == walk.checkpoint
    assert checkpoint is not None
    assert (checkpoint.next_start, checkpoint.yielded, checkpoint.page_size) == (20, 20, 10)
    assert checkpoint.recent_urns == tuple(v.entity_urn for v in got if v.entity_urn)
    assert len(checkpoint.tail) == 20

    got += [v async for v in client.iter_visitors(resume=checkpoint)]
    assert [key(v) for v in got] == truth
    starts = [r.json["start"] for r in fake.requests]
    assert starts == [0, 10, 20, 20, 20, 20, 30, 40]


async def test_a_walk_stopped_mid_page_resumes_with_the_next_visitor(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = [key(v) async for v in client.iter_visitors(count=10, max_visitors=30)]
    walk = client.iter_visitors(count=10, max_visitors=30)
    got = [await anext(walk) for _ in range(13)]
    await walk.aclose()
    checkpoint = walk.checkpoint
    assert (checkpoint.next_start, checkpoint.yielded) == (13, 13)

    got += [v async for v in client.iter_visitors(max_visitors=30, resume=checkpoint)]
    assert [key(v) for v in got] == truth  # max_visitors counts the whole walk


async def test_a_resumed_walk_does_not_repeat_rows_shifted_while_it_was_stopped(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = fake.visitors(ACCOUNT)
    walk = client.iter_visitors(count=10)
    got = [await anext(walk) for _ in range(10)]
    await walk.aclose()
    assert truth[7].get("entityUrn") is None  # row 7 is anonymous: no URN to recognise it by
    new = [{"entityUrn": f"urn:li:fsd_profile:NEW{i}", "name": f"New {i}"} for i in range(3)]
    fake.set_visitors(ACCOUNT, [*new, *truth])  # three views while the walk was stopped

    resumed = client.iter_visitors(resume=walk.checkpoint)
    got += [v async for v in resumed]

    # Rows 7, 8 and 9 come back at the head of the next page: the checkpoint's row digests
    # recognise all three (named rows 8 and 9 prove that anonymous row 7 is a repeat too).
    assert [(v.entity_urn, v.name) for v in got] == [
        (r.get("entityUrn"), r.get("name")) for r in truth
    ]
    assert resumed.stats.duplicates_dropped == 3


async def test_pages_carry_their_checkpoint(client: AsyncConnectSafely) -> None:
    pages = [p async for p in client.iter_visitor_pages(count=20, max_visitors=30)]
    assert [(p.checkpoint.next_start, p.checkpoint.yielded) for p in pages if p.checkpoint] == [
        (20, 20), (30, 30)
    ]


async def test_a_pages_checkpoint_read_late_is_the_one_of_its_moment(
    client: AsyncConnectSafely,
) -> None:
    # A page's checkpoint is built when first read: reading it after the walk went on (or
    # ended) must still give the position right after that page, row digests included.
    walk = client.iter_visitor_pages(count=7, max_visitors=40)
    pages, live = [], []
    async for page in walk:
        pages.append(page)
        live.append(walk.checkpoint)
    assert len(pages) == 6
    assert [page.checkpoint for page in pages] == live
    assert live[0] != live[1]
    assert len(live[-1].tail) == 32
    assert len(live[-1].recent_urns) > 0


async def test_a_walk_page_pickles_with_its_checkpoint(client: AsyncConnectSafely) -> None:
    walk = client.iter_visitor_pages(count=7)
    first = await anext(walk)
    await walk.aclose()
    copy = pickle.loads(pickle.dumps(first))  # noqa: S301 (bytes we just made)
    assert copy == first
    assert copy.checkpoint == first.checkpoint == walk.checkpoint
    assert copy.checkpoint is not None
    assert copy.checkpoint.next_start == 7


def test_a_walk_page_unstructures_without_its_checkpoint_factory() -> None:
    checkpoint = Checkpoint(next_start=5, page_size=5, yielded=5, filters="0123abcd")
    page = VisitorsPage(visitors=(), has_more=False, checkpoint_factory=lambda: checkpoint)
    data = make_converter().unstructure(page)
    assert page.checkpoint == checkpoint
    assert data == {"visitors": [], "hasMore": False, "accountId": None, "pagination": None,
                    "timeRange": None, "filters": None, "requestId": None, "rateLimit": None,
                    "fetchedAt": None}


async def test_resuming_with_other_filters_is_refused_before_any_request(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    walk = client.iter_visitors(time_range="past_7_days", count=5)
    await anext(walk)
    await walk.aclose()
    checkpoint = walk.checkpoint
    fake.requests.clear()
    with pytest.raises(ValueError, match="another account or time range"):
        client.iter_visitors(time_range="past_30_days", resume=checkpoint)
    with pytest.raises(ValueError, match="another account or time range"):
        client.iter_visitors(time_range="past_7_days", account_id=ACCOUNT, resume=checkpoint)
    with pytest.raises(ValueError, match="either start= or resume="):
        client.iter_visitors(time_range="past_7_days", start=3, resume=checkpoint)
    with pytest.raises(TypeError, match="Checkpoint"):
        client.iter_visitors(resume={"nextStart": 1})  # type: ignore[arg-type]
    assert fake.requests == []


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    total=st.integers(0, 60),
    count=st.integers(1, 15),
    max_visitors=st.none() | st.integers(1, 70),
    fail_at=st.integers(1, 8),
    mid_page=st.booleans(),
)
async def test_any_interruption_then_resume_equals_the_uninterrupted_walk(
    fake: FakeConnectSafely,
    total: int,
    count: int,
    max_visitors: int | None,
    fail_at: int,
    mid_page: bool,
) -> None:
    fake.set_visitors(ACCOUNT, make_visitors(total, account_id=ACCOUNT))
    fake.requests.clear()
    async with AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, max_retries=0,
        retry=RetryPolicy(sleep=FakeSleep()), rate_limits=None,
    ) as client:
        whole = [key(v) async for v in client.iter_visitors(count=count,
                                                            max_visitors=max_visitors)]
        # Fail the fail_at-th request of a second walk (or stop it by hand mid-page).
        for _ in range(fail_at - 1):
            fake.inject(Fault())
        fake.inject(Fault(status=503, json={"error": "flaky"}))
        walk = client.iter_visitors(count=count, max_visitors=max_visitors)
        before: list[tuple[str | None, str | None, str | None]] = []
        checkpoint: Checkpoint | None = None
        try:
            async for visitor in walk:
                before.append(key(visitor))
                if mid_page and len(before) == count // 2 + 1:
                    break
        except ConnectSafelyError as error:
            checkpoint = error.checkpoint
        else:
            checkpoint = walk.checkpoint
        finally:
            await walk.aclose()
        fake.clear_faults()  # the walk may have ended before reaching the fault
        assert checkpoint is not None
        after = [key(v) async for v in client.iter_visitors(
            max_visitors=max_visitors, resume=checkpoint)]
    assert before + after == whole
