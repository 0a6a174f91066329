"""Nothing lost, nothing repeated: offset drift, stalled servers and bad pages, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from connectsafely_async import (
    AsyncConnectSafely,
    PaginationStalledError,
    ResponseValidationError,
    Visitor,
)
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import ACCOUNT


def key(v: Visitor) -> tuple[str | None, str | None, str | None]:
    return (v.entity_urn, v.name, v.viewed_at)


def key_of(r: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return (r.get("entityUrn"), r.get("name"), r.get("viewedAt"))


def new_view(n: int) -> dict[str, Any]:
    return {"entityUrn": f"urn:li:fsd_profile:NEW{n}", "name": f"New Viewer {n}",
            "headline": "just looked", "viewedAt": "Viewed 1m ago", "connectionDegree": "2nd"}


async def test_a_new_view_mid_walk_does_not_repeat_a_visitor(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = fake.visitors(ACCOUNT)
    walk = client.iter_visitor_pages(count=10)
    first = await anext(walk)
    # A view arrives: every row moves down one, so page 2 starts with page 1's last row.
    fake.set_visitors(ACCOUNT, [new_view(1), *truth])
    rest = [page async for page in walk]

    got = [key(v) for page in [first, *rest] for v in page.visitors]
    assert got == [key_of(r) for r in truth]
    assert walk.stats.duplicates_dropped == 1
    assert len(got) == len(set(got))


async def test_an_anonymous_row_in_a_proven_overlap_is_dropped(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = fake.visitors(ACCOUNT)
    anonymous = next(i for i, r in enumerate(truth) if not r.get("entityUrn"))
    count = anonymous + 1  # page 1 ends on an anonymous row, a named one just before it
    walk = client.iter_visitors(count=count)
    got = [await anext(walk) for _ in range(count)]
    fake.set_visitors(ACCOUNT, [new_view(1), new_view(2), *truth])  # shift by two
    got += [v async for v in walk]

    assert [key(v) for v in got] == [key_of(r) for r in truth]
    assert walk.stats.duplicates_dropped == 2


async def test_identical_anonymous_viewers_are_both_kept(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    member = {"name": "LinkedIn Member", "headline": "Someone at a company in Software",
              "viewedAt": "Viewed 2d ago"}
    named = fake.visitors(ACCOUNT)[:20]
    named = [r for r in named if r.get("entityUrn")][:18]
    rows = [*named[:9], member, dict(member), *named[9:]]  # twins straddle the page boundary
    fake.set_visitors(ACCOUNT, rows)

    walk = client.iter_visitors(count=10)
    got = [v async for v in walk]

    assert [key(v) for v in got] == [key_of(r) for r in rows]
    assert sum(v.is_anonymous for v in got) == 2
    assert walk.stats.duplicates_dropped == 0


async def test_a_server_that_repeats_the_same_page_is_stopped(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    same = {"success": True, "visitors": fake.visitors(ACCOUNT)[:10], "hasMore": True}
    fake.inject(Fault(json=same), times=100)

    walk = client.iter_visitors(count=10)
    got: list[Visitor] = []
    with pytest.raises(PaginationStalledError, match="same page 4 times") as caught:
        async for visitor in walk:
            got.append(visitor)

    assert len(got) == 10  # the first copy, once
    assert len(fake.requests) == 4  # one page, then the same page three more times
    assert caught.value.checkpoint is not None
    assert caught.value.checkpoint.yielded == 10


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"visitors": [], "hasMore": "yes"}, "$.hasMore"),
        ({"visitors": "none", "hasMore": True}, "$.visitors"),
        ({"hasMore": True}, "$.visitors"),
        ({"visitors": [{"name": "ok"}, {"headline": 7}], "hasMore": False},
         "$.visitors[1].headline"),
    ],
)
async def test_a_bad_page_mid_walk_yields_nothing_from_it(
    fake: FakeConnectSafely, client: AsyncConnectSafely, body: dict[str, Any], path: str
) -> None:
    truth = fake.visitors(ACCOUNT)
    walk = client.iter_visitors(count=10)
    got = [await anext(walk) for _ in range(10)]
    fake.inject(Fault(json=body))
    with pytest.raises(ResponseValidationError) as caught:
        async for visitor in walk:
            got.append(visitor)

    assert [key(v) for v in got] == [key_of(r) for r in truth[:10]]
    assert any(error.endswith(f"@ {path}") for error in caught.value.errors)
    checkpoint = caught.value.checkpoint
    assert checkpoint is not None
    assert (checkpoint.next_start, checkpoint.yielded) == (10, 10)


async def test_a_proven_overlap_survives_the_relative_time_ticking_over(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    truth = fake.visitors(ACCOUNT)
    anonymous = next(i for i, r in enumerate(truth) if not r.get("entityUrn"))
    walk = client.iter_visitors(count=anonymous + 1)
    got = [await anext(walk) for _ in range(anonymous + 1)]
    # Two views arrive, and meanwhile every "Viewed …" text has moved on.
    aged = [{**r, "viewedAt": f"{r.get('viewedAt')} (later)"} for r in truth]
    fake.set_visitors(ACCOUNT, [new_view(1), new_view(2), *aged])
    got += [v async for v in walk]

    assert [(v.entity_urn, v.name) for v in got] == [
        (r.get("entityUrn"), r.get("name")) for r in truth
    ]
    assert walk.stats.duplicates_dropped == 2
