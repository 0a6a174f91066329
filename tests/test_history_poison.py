"""Nothing a server or a visitor sends can pin a history: each store, over real HTTP.

A value the parser accepts (a lone surrogate, a NUL, a 5 KB URN) is recorded the same way by
both stores; a page that fails for good ends its sync without pinning the next ones to it; a
resume older than its window starts over; a sync whose clock ran ahead does not blind the
later ones; one account's failure, whatever it is, never stops the others.
"""

from __future__ import annotations

import random
import string
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectsafely_async import AsyncConnectSafely, ResponseValidationError
from connectsafely_async.history import RESUME_WITHIN, SQLiteStore, SyncResult
from connectsafely_async.testing import FakeConnectSafely, Fault, make_visitors, visitors_at

from .conftest import ACCOUNT, OTHER_ACCOUNT
from .stores import KINDS, Store, opened, rows

# Random letters: PostgreSQL compresses a repetitive index entry under its row limit.
NOISE = "".join(random.Random(5).choices(string.ascii_letters + string.digits, k=10_000))
NOW = 1.8e9
DAY = 86400.0
POISONS = {
    "lone surrogate": {"name": "Ana \ud800 Smith", "headline": "\udfff"},
    "NUL": {"name": "Ana\x00Smith", "headline": "a\x00b"},
    "5 KB URN": {"entityUrn": "urn:li:fsd_profile:" + NOISE[:5000]},
    "10 KB public id": {"publicIdentifier": NOISE, "entityUrn": None},
}


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(request.param, request, tmp_path) as store:
        yield store


async def sync(client: AsyncConnectSafely, store: Store, at: float,
               **options: Any) -> SyncResult:
    options.setdefault("account_id", ACCOUNT)
    return await client.sync_visitors(store, count=10, clock=lambda: at, **options)


def poisoned(account: str, poison: dict[str, Any], *, n: int = 30) -> list[dict[str, Any]]:
    """``n`` visitors of ``account`` with the 15th made poisonous (on the walk's 2nd page)."""
    served = make_visitors(n, account_id=account)
    served[14] = {**served[14], **poison}
    return served


@pytest.mark.parametrize("poison", list(POISONS.values()), ids=list(POISONS))
async def test_a_poison_visitor_is_recorded_and_pins_nothing(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store, poison: dict[str, Any]
) -> None:
    fake.set_visitors(ACCOUNT, poisoned(ACCOUNT, poison))
    first = await sync(client, store, NOW)
    assert first.ok, first.error
    named = [v for v in make_visitors(30, account_id=ACCOUNT) if v.get("entityUrn")]
    assert first.new_count == len(named)
    assert first.resumed is False
    # The next day brings someone new: recorded, announced, and the walk starts at the top.
    newcomer = {**make_visitors(1, seed=99, account_id=ACCOUNT)[0], "viewedAt": "Viewed 1m ago"}
    fake.set_visitors(ACCOUNT, [newcomer, *poisoned(ACCOUNT, poison)])
    second = await sync(client, store, NOW + DAY)
    assert second.ok, second.error
    assert [s.visitor.entity_urn for s in second.new] == [newcomer["entityUrn"]]
    [(open_syncs,)] = await rows(store, "SELECT count(*) FROM syncs WHERE finished IS NULL")
    assert open_syncs == 0


async def test_poison_values_are_stored_in_one_documented_safe_form(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    fake.set_visitors(ACCOUNT, poisoned(ACCOUNT, POISONS["lone surrogate"]))
    await sync(client, store, NOW)
    fake.set_visitors(OTHER_ACCOUNT, poisoned(OTHER_ACCOUNT, POISONS["NUL"]))
    await sync(client, store, NOW, account_id=OTHER_ACCOUNT)
    names = {r["name"] for r in await store.history()}
    # What UTF-8 or the engine cannot hold becomes U+FFFD, the same on both stores.
    assert {"Ana \ufffd Smith", "Ana\ufffdSmith"} <= names


async def test_a_poisoned_account_never_stops_the_others(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    accounts = [f"{i:024x}" for i in range(1, 9)]
    for index, account in enumerate(accounts):
        served = make_visitors(12, account_id=account)
        if index == 2:
            served = poisoned(account, POISONS["NUL"] | POISONS["lone surrogate"], n=25)
        fake.set_visitors(account, served)
    results = await client.sync_visitors_many(store, accounts, concurrency=3, count=10,
                                              clock=lambda: NOW)
    assert all(result.ok for result in results.values()), {
        a: r.error for a, r in results.items() if not r.ok}
    stored = {r["account_id"] for r in await store.history()}
    assert stored == set(accounts)


async def test_a_page_that_fails_for_good_does_not_pin_the_next_syncs(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    # The second page says hasMore "true" (a string): the walk cannot go on, whatever retries.
    page = fake.visitors(ACCOUNT)[10:20]
    odd = {"success": True, "visitors": page, "hasMore": "true"}
    fake.inject(Fault())
    fake.inject(Fault(json=odd))
    first = await sync(client, store, NOW)
    assert isinstance(first.error, ResponseValidationError)
    [(error,)] = await rows(store, "SELECT error FROM syncs")
    assert "hasMore" in error  # the reason is recorded
    newcomer = {**make_visitors(1, seed=7, account_id=ACCOUNT)[0], "viewedAt": "Viewed 1m ago"}
    fake.set_visitors(ACCOUNT, [newcomer, *fake.visitors(ACCOUNT)])
    requests = len(fake.requests)
    second = await sync(client, store, NOW + 60)
    assert second.ok
    assert not second.resumed
    assert fake.requests[requests].json["start"] == 0  # from the top, not the failed page
    assert newcomer["entityUrn"] in [s.visitor.entity_urn for s in second.new]


async def test_a_resume_older_than_its_window_starts_from_the_top(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    fake.inject(Fault())
    fake.inject(Fault(status=500, json={"success": False, "error": "boom"}))
    failed = await sync(client, store, NOW, max_retries=0)
    assert failed.error is not None  # transient: resumable...
    requests = len(fake.requests)
    late = await sync(client, store, NOW + RESUME_WITHIN + 60)
    assert late.ok
    assert not late.resumed
    assert fake.requests[requests].json["start"] == 0
    [(open_syncs,)] = await rows(store, "SELECT count(*) FROM syncs WHERE finished IS NULL")
    assert open_syncs == 0
    # Within the window it does resume (the behaviour a crash mid-walk relies on).
    fake.inject(Fault())
    fake.inject(Fault(status=500, json={"success": False, "error": "boom"}))
    await sync(client, store, NOW + 2 * DAY, max_retries=0)
    soon = await sync(client, store, NOW + 2 * DAY + 60)
    assert soon.resumed


async def test_a_clock_that_ran_ahead_does_not_hide_later_returning_views(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store, tmp_path: Path
) -> None:
    start = 1_767_603_600.0  # the demo's epoch, 2026-01-05 09:00 UTC
    fake.set_visitors(ACCOUNT, visitors_at(start, account_id=ACCOUNT))
    await sync(client, store, start)
    # One sync whose clock is 30 days ahead of what the service showed.
    await sync(client, store, start + 30 * DAY)
    # The clock is right again; days pass and people come back: each day's returning views
    # are found exactly as on a store that never saw the jump.
    found, expected = [], []
    async with SQLiteStore(tmp_path / "clean.db") as clean:
        await sync(client, clean, start)
        for day in range(1, 6):
            at = start + day * DAY
            fake.set_visitors(ACCOUNT, visitors_at(at, account_id=ACCOUNT))
            found.append(sorted(s.key for s in (await sync(client, store, at)).returning))
            expected.append(sorted(s.key for s in (await sync(client, clean, at)).returning))
    assert found == expected
    assert any(expected)


async def test_a_view_thousands_of_years_old_reads_back_everywhere(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    served = make_visitors(5, account_id=ACCOUNT)
    served[1] = {**served[1], "viewedAt": "Viewed 2100y ago"}
    fake.set_visitors(ACCOUNT, served)
    result = await sync(client, store, NOW, time_range="ALL_TIME")  # 2100 years: all time
    assert result.ok
    records = await store.history()
    ancient = next(r for r in records if r["visitor_key"] == served[1]["entityUrn"])
    assert ancient["estimated_viewed_at"].startswith("0001-")  # clamped, not an overflow
    pytest.importorskip("pandas")
    frame = await store.to_pandas()
    row = frame[frame["visitor_key"] == served[1]["entityUrn"]].iloc[0]
    assert str(row["estimated_viewed_at"]) == "NaT"  # outside what pandas can hold
    assert len(frame) == len(records)
