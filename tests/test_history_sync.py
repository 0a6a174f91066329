"""client.sync_visitors() into each store (SQLite, PostgreSQL), over real HTTP against the
fake service: one suite, run on both."""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import connectsafely_async.history._writes as writes
from connectsafely_async import (
    AsyncConnectSafely,
    AuthenticationError,
    InternalServerError,
    Visitor,
)
from connectsafely_async.history import SQLiteStore, StoreLockedError, SyncResult
from connectsafely_async.testing import FakeConnectSafely, Fault, visitors_at

from .conftest import ACCOUNT, OTHER_ACCOUNT
from .stores import KINDS, Store, opened, rows, twin

NOW = 1.8e9
DAY = 86400.0


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(request.param, request, tmp_path) as store:
        yield store


def named(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("entityUrn")]


def anonymous(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not r.get("entityUrn")]


async def sync(client: AsyncConnectSafely, store: Store, at: float,
               **options: Any) -> SyncResult:
    return await client.sync_visitors(store, account_id=ACCOUNT, count=10, clock=lambda: at,
                                      **options)


@pytest.mark.parametrize("kind", KINDS)
async def test_settings_given_with_a_sync_are_written_as_it_closes_and_only_then(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Completed, or stopped for good: the settings are written in the closing transaction;
    # left open to be resumed: not yet.
    async with opened(kind, request, tmp_path) as store:
        for name, error, resumable, written in (("done", None, True, True),
                                                ("later", "503", True, False),
                                                ("never", "404", False, True)):
            start = await store.begin_sync(ACCOUNT, name, now=NOW)
            await store.finish_sync(start.sync_id, error=error, resumable=resumable,
                                    meta={f"mark:{name}": "run-1"})
            assert (await store.meta(f"mark:{name}") == "run-1") is written, name


async def test_a_sync_writes_the_settings_it_is_given_and_refuses_others_before_asking(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    with pytest.raises(TypeError, match="meta must be a mapping of str to str"):
        await client.sync_visitors(store, account_id=ACCOUNT, meta={"job": 1})
    assert fake.requests == []
    result = await client.sync_visitors(store, account_id=ACCOUNT, meta={"job": "run-1"})
    assert result.ok
    assert await store.meta("job") == "run-1"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "soon"])
async def test_a_clock_that_gives_no_time_is_refused_before_any_request(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store, value: Any
) -> None:
    with pytest.raises((ValueError, TypeError), match=r"clock\(\) must return"):
        await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: value)
    assert fake.requests == []
    served = named(fake.visitors(ACCOUNT))
    later = await sync(client, store, NOW)  # nothing of it is left to stand in the way
    assert (later.ok, later.resumed, later.new_count) == (True, False, len(served))


async def test_a_first_sync_finds_everyone_new_and_a_second_nothing(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    served = fake.visitors(ACCOUNT)
    first = await sync(client, store, NOW)
    assert [s.visitor.entity_urn for s in first.new] == [r["entityUrn"] for r in named(served)]
    assert (first.returning, first.unchanged, first.resumed, first.ok) == ((), 0, False, True)
    assert [a.name for a in first.anonymous] == [r["name"] for r in anonymous(served)]
    assert first.stats.pages == 5

    assert (first.new_count, first.anonymous_count) == (len(first.new), len(first.anonymous))
    second = await sync(client, store, NOW + 60, collect=False)
    assert (second.new, second.returning, second.anonymous) == ((), (), ())
    assert second.anonymous_count == len(anonymous(served))
    second = await sync(client, store, NOW + 60)
    assert (second.new, second.returning) == ((), ())
    assert second.unchanged == len(named(served))
    assert len(second.anonymous) == len(anonymous(served))  # sightings, never merged


async def test_new_returning_and_unchanged_as_time_passes(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    today, tomorrow = visitors_at(NOW), visitors_at(NOW + DAY)
    fake.set_visitors(ACCOUNT, today)
    await sync(client, store, NOW)
    fake.set_visitors(ACCOUNT, tomorrow)
    result = await sync(client, store, NOW + DAY)

    before = {r["entityUrn"]: r["viewedAt"] for r in named(today)}
    fresh = [r["entityUrn"] for r in named(tomorrow) if r["entityUrn"] not in before]
    assert fresh, "the timeline brings a newcomer every day"
    assert [s.visitor.entity_urn for s in result.new] == fresh
    # A regular who came back today: the store sees a later view than it knew.
    assert {s.visitor.entity_urn for s in result.returning} <= set(before)
    assert all(s.views == 2 for s in result.returning)
    assert result.unchanged == len(named(tomorrow)) - len(fresh) - len(result.returning)


async def test_intervals_tighten_run_after_run(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    fake.set_visitors(ACCOUNT, [{"entityUrn": "urn:li:x:1", "name": "A",
                                 "viewedAt": "Viewed 2d ago"}])
    first = await sync(client, store, NOW)
    (seen,) = first.new
    assert seen.viewed_after is not None
    assert seen.viewed_before is not None
    assert (seen.viewed_before - seen.viewed_after).total_seconds() == DAY
    # Twelve hours later it still says 2d: the view is in the later half of the first guess.
    await sync(client, store, NOW + DAY / 2)
    (record,) = await store.history()
    assert record["viewed_after"] == _iso(NOW - 3 * DAY + DAY / 2)
    assert record["viewed_before"] == _iso(NOW - 2 * DAY)
    assert record["observations"] == 2
    assert record["first_view"] is True


async def test_a_view_that_cannot_be_the_same_is_a_new_view(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    fake.set_visitors(ACCOUNT, [{"entityUrn": "urn:li:x:1", "viewedAt": "Viewed 3d ago"}])
    await sync(client, store, NOW)
    fake.set_visitors(ACCOUNT, [{"entityUrn": "urn:li:x:1", "viewedAt": "Viewed 5m ago"}])
    result = await sync(client, store, NOW + 60)
    assert [s.visitor.entity_urn for s in result.returning] == ["urn:li:x:1"]
    history = await store.history()
    assert [r["viewed_at"] for r in history] == ["Viewed 5m ago", "Viewed 3d ago"]
    assert [r["first_view"] for r in history] == [False, True]


async def test_a_visitor_is_recognised_by_an_alias_when_the_urn_goes_missing(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    fake.set_visitors(ACCOUNT, [{"entityUrn": "urn:li:x:1", "publicIdentifier": "ana-b",
                                 "viewedAt": "Viewed 1h ago"}])
    await sync(client, store, NOW)
    fake.set_visitors(ACCOUNT, [{"profileUrl": "https://www.linkedin.com/in/ana-b?trk=x",
                                 "viewedAt": "Viewed 1h ago"}])
    result = await sync(client, store, NOW + 30)
    assert (result.new, result.unchanged) == ((), 1)


async def test_identifiers_a_visitor_gains_or_changes_are_recorded_and_never_twice(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    # A visitor seen again with the same identifiers is found by its strongest key alone;
    # one whose identifiers changed has every key looked up, and the new ones recorded.
    def shown(*visitors: dict[str, Any]) -> None:
        fake.set_visitors(ACCOUNT, [{**v, "viewedAt": "Viewed 1h ago"} for v in visitors])

    shown({"publicIdentifier": "bo"}, {"entityUrn": "urn:li:x:1", "publicIdentifier": "ana-b"})
    first = await sync(client, store, NOW)
    assert sorted(s.key for s in first.new) == ["in:bo", "urn:li:x:1"]
    at = NOW
    for visitors in (
        # the same identifiers again; then new ones: Bo's URN, Ana's new public identifier
        ({"publicIdentifier": "bo"}, {"entityUrn": "urn:li:x:1", "publicIdentifier": "ana-b"}),
        ({"entityUrn": "urn:li:x:2", "publicIdentifier": "bo"},
         {"entityUrn": "urn:li:x:1", "publicIdentifier": "ana-c"}),
        ({"entityUrn": "urn:li:x:2", "publicIdentifier": "bo"},
         {"entityUrn": "urn:li:x:1", "publicIdentifier": "ana-c"}),
        # each by one identifier alone, old or new
        ({"entityUrn": "urn:li:x:2"}, {"profileUrl": "https://www.linkedin.com/in/ana-b"}),
        ({"profileUrl": "https://linkedin.com/in/BO/"},
         {"navigationUrl": "https://www.linkedin.com/in/ana-c?trk=x"}),
    ):
        at += 30
        shown(*visitors)
        result = await sync(client, store, at)
        assert (result.new, result.returning, result.unchanged) == ((), (), 2), visitors
    assert sorted(await rows(store, "SELECT alias, key FROM aliases")) == [
        ("in:ana-b", "urn:li:x:1"), ("in:ana-c", "urn:li:x:1"), ("urn:li:x:2", "in:bo")]


async def test_aliases_that_share_their_number_are_told_apart_by_their_text(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An alias is looked up by its 64-bit number; make every number collide.
    monkeypatch.setattr(writes, "key_number", lambda _alias: 7)
    fake.set_visitors(ACCOUNT, [
        {"entityUrn": f"urn:li:x:{n}", "publicIdentifier": f"p-{n}", "viewedAt": "Viewed 1h ago"}
        for n in range(5)])
    await sync(client, store, NOW)
    fake.set_visitors(ACCOUNT, [
        {"profileUrl": f"https://www.linkedin.com/in/p-{n}", "viewedAt": "Viewed 1h ago"}
        for n in (3, 1)])
    result = await sync(client, store, NOW + 30)
    assert (result.new, result.unchanged) == ((), 2)
    [(aliases,)] = await rows(store, "SELECT count(*) FROM aliases")
    assert aliases == 5  # none added twice


async def test_visitors_whose_keys_share_their_number_are_told_apart_by_their_text(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A visitor is looked up, updated, and read with its views and events by its key's
    # 64-bit number; make every number collide.
    monkeypatch.setattr(writes, "key_number", lambda _key: 7)
    urns = [f"urn:li:x:{n}" for n in range(5)]
    fake.set_visitors(ACCOUNT, [{"entityUrn": urn, "name": f"N{n}", "viewedAt": "Viewed 1h ago"}
                                for n, urn in enumerate(urns)])
    first = await sync(client, store, NOW)
    assert [(s.key, s.visitor.name) for s in first.new] == [
        (urn, f"N{n}") for n, urn in enumerate(urns)]
    # A day later one of them views again, and another (the same view) has a new name.
    fake.set_visitors(ACCOUNT, [
        {"entityUrn": urns[3], "name": "N3", "viewedAt": "Viewed 1h ago"},
        {"entityUrn": urns[1], "name": "Renamed", "viewedAt": "Viewed 1d ago"},
    ])
    second = await sync(client, store, NOW + DAY)
    assert [(s.key, s.views) for s in second.returning] == [(urns[3], 2)]
    assert (second.new, second.unchanged) == ((), 1)
    events = await store.pending_events(limit=100)
    assert [(e.kind, e.visitor.key, e.visits) for e in events] == [
        *(("new_visitor", urn, 1) for urn in urns), ("returning_visitor", urns[3], 2)]
    names = {e.visitor.key: e.visitor.visitor.name for e in events}
    assert names == {urn: "Renamed" if urn == urns[1] else f"N{n}"
                     for n, urn in enumerate(urns)}
    records = await store.history(account_id=ACCOUNT)
    assert sorted((r["visitor_key"], r["visits"]) for r in records) == sorted(
        [*((urn, 2 if urn == urns[3] else 1) for urn in urns), (urns[3], 2)])
    [(visitors,)] = await rows(store, "SELECT count(*) FROM visitors")
    assert visitors == 5  # none added twice


async def test_views_get_their_own_ids_even_where_sqlite_picks_them_at_random(
    client: AsyncConnectSafely, fake: FakeConnectSafely, tmp_path: Path
) -> None:
    # A page's new views are inserted at once and their ids inferred as consecutive; a
    # table whose largest id is 2**63 - 1 gets random ones (SQLite's rule): then they are
    # inserted one by one, and every visitor still points at a view of its own.
    path = tmp_path / "history.db"
    async with SQLiteStore(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO views (id, account_id, key, first_observed, last_observed, "
                   "sync_id) VALUES (?, 'elsewhere', 'urn:li:x:0', 0, 0, 0)", (2**63 - 1,))
    async with SQLiteStore(path) as store:
        first = await sync(client, store, NOW)
        again = await sync(client, store, NOW + 60)
        pointed = await rows(store, "SELECT v.key, w.key FROM visitors v "
                                    "JOIN views w ON w.id = v.view_id")
    named_keys = [s.key for s in first.new]
    assert len(named_keys) == len(named(fake.visitors(ACCOUNT))) > 10  # more than a page
    assert sorted(pointed) == sorted((key, key) for key in named_keys)
    assert (again.new, again.returning, again.unchanged) == ((), (), len(named_keys))


async def test_anonymous_entries_are_never_merged(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    twins = [{"name": "LinkedIn Member", "viewedAt": "Viewed 1d ago"}] * 3
    fake.set_visitors(ACCOUNT, [*twins, {"entityUrn": "urn:li:x:1", "name": "LinkedIn Member",
                                         "viewedAt": "Viewed 1d ago"}])
    result = await sync(client, store, NOW)
    assert len(result.anonymous) == 3
    assert len(result.new) == 1
    records = await store.history()
    assert sum(r["is_anonymous"] for r in records) == 3
    assert len(await store.history(include_anonymous=False)) == 1


async def test_events_stay_pending_until_acknowledged(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await sync(client, store, NOW)
    total = len(named(fake.visitors(ACCOUNT)))
    handled = []
    async for event in store.events():
        handled.append(event.id)
        if len(handled) == 5:
            break  # the consumer stops (or crashes) while handling the fifth
    assert len(await store.pending_events(limit=1000)) == total - 4
    again = [event.id async for event in store.events()]
    assert again[0] == handled[-1]  # delivered again: it was never acknowledged
    assert len(again) == total - 4
    assert await store.pending_events() == []
    # Acknowledged events are never delivered again, even after another sync.
    await sync(client, store, NOW + 60)
    assert [event async for event in store.events()] == []


async def test_explicit_ack_is_idempotent(
    client: AsyncConnectSafely, store: Store
) -> None:
    await sync(client, store, NOW)
    first, second = await store.pending_events(limit=2)
    assert first.kind == "new_visitor"
    assert await store.ack(first.id, second.id) == 2
    assert await store.ack(first.id) == 0
    assert first.id not in [e.id for e in await store.pending_events(limit=1000)]
    with pytest.raises(TypeError):
        await store.ack("1")  # type: ignore[arg-type]


async def test_a_failed_sync_keeps_its_pages_and_resumes_after_them(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    served = named(fake.visitors(ACCOUNT))
    boom = Fault(status=500, json={"success": False, "error": "boom"})
    for fault in (Fault(), Fault(), boom):  # two normal pages, then a failure
        fake.inject(fault)
    failed = await sync(client, store, NOW, max_retries=0)
    assert isinstance(failed.error, InternalServerError)
    assert not failed.ok
    assert len(failed.new) == 18  # the two pages recorded before it failed (20 - 2 anonymous)
    requests = len(fake.requests)

    done = await sync(client, store, NOW + 60)
    assert done.ok
    assert done.resumed
    assert fake.requests[requests].json["start"] == 20  # after the recorded pages
    # The result is the whole sync's: nothing lost, nothing twice.
    assert [s.visitor.entity_urn for s in done.new] == [r["entityUrn"] for r in served]
    urns = [row[0] for row in await rows(store, "SELECT entity_urn FROM visitors")]
    [(views,)] = await rows(store, "SELECT count(*) FROM views")
    [(open_syncs,)] = await rows(store, "SELECT count(*) FROM syncs WHERE finished IS NULL")
    assert sorted(urns) == sorted(r["entityUrn"] for r in served)
    assert (views, open_syncs) == (len(served), 0)


async def test_many_accounts_on_one_store_with_isolated_failures(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    missing = "bbbbbbbbbbbbbbbbbbbbbbbb"
    results = await client.sync_visitors_many(store, [ACCOUNT, missing, OTHER_ACCOUNT],
                                              concurrency=2, count=10)
    assert list(results) == [ACCOUNT, missing, OTHER_ACCOUNT]
    assert len(results[ACCOUNT].new) == len(named(fake.visitors(ACCOUNT)))
    assert results[missing].error is not None
    assert results[OTHER_ACCOUNT].ok
    assert results[OTHER_ACCOUNT].new == ()
    assert {r["account_id"] for r in await store.history()} == {ACCOUNT}


async def test_bad_arguments_fail_before_any_request(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    with pytest.raises(TypeError, match="VisitorStore"):
        await client.sync_visitors("visitors.db")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        await client.sync_visitors(store, count=0)
    with pytest.raises(TypeError, match="clock"):
        await client.sync_visitors(store, clock=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await client.sync_visitors_many(store, ACCOUNT)
    assert fake.requests == []


async def test_an_authentication_failure_is_in_the_result(
    fake: FakeConnectSafely, store: Store
) -> None:
    async with AsyncConnectSafely(api_key="wrong", base_url=fake.url, rate_limits=None,
                                  max_retries=0) as client:
        result = await client.sync_visitors(store)
    assert isinstance(result.error, AuthenticationError)
    assert "wrong" not in str(result.error)


async def test_a_second_process_gets_a_clear_lock_error(
    client: AsyncConnectSafely, store: Store
) -> None:
    await store.begin_sync(ACCOUNT, "filters")  # holds the sync lock, like a running sync
    async with twin(store, lock_timeout=0) as other:
        with pytest.raises(StoreLockedError, match="another process"):
            await client.sync_visitors(other, account_id=ACCOUNT)
        assert isinstance(StoreLockedError("x"), TimeoutError)
        assert await other.history() == []  # reading is never blocked


async def test_records_and_pandas(client: AsyncConnectSafely, store: Store) -> None:
    await sync(client, store, NOW)
    records = await store.records(account_id=ACCOUNT)
    assert records == await store.history(account_id=ACCOUNT)
    pd = pytest.importorskip("pandas")
    frame = await store.to_pandas(account_id=ACCOUNT)
    assert len(frame) == len(records)
    assert isinstance(frame["estimated_viewed_at"].dtype, pd.DatetimeTZDtype)


async def test_to_pandas_without_pandas_says_how_to_get_it(
    client: AsyncConnectSafely, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError, match=r"connectsafely-async\[pandas\]"):
        await store.to_pandas()


async def test_history_filters_by_account_and_date(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    from datetime import datetime, timezone

    fake.set_visitors(ACCOUNT, [{"entityUrn": "urn:li:x:1", "viewedAt": "Viewed 1d ago"},
                                {"entityUrn": "urn:li:x:2", "viewedAt": "Viewed 2w ago"}])
    await sync(client, store, NOW)
    since = datetime.fromtimestamp(NOW - 3 * DAY, tz=timezone.utc)
    assert [r["visitor_key"] for r in await store.history(since=since)] == ["urn:li:x:1"]
    assert [r["visitor_key"] for r in await store.history(until=since)] == ["urn:li:x:2"]
    assert await store.history(account_id=OTHER_ACCOUNT) == []
    with pytest.raises(TypeError):
        await store.history(since="yesterday")  # type: ignore[arg-type]


def _iso(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()


async def test_two_event_loops_take_turns_and_never_share_an_event(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await sync(client, store, NOW)
    pending = [e.id for e in await store.pending_events(account_id=ACCOUNT, limit=1000)]
    async with twin(store, lock_timeout=0) as other:
        async with contextlib.aclosing(store.events(account_id=ACCOUNT)) as mine:
            first = await anext(mine)
            with pytest.raises(StoreLockedError, match="events are being handled by another"):
                await anext(other.events(account_id=ACCOUNT))
        # The first loop ended before its event was done: the next loop gets it first.
        rest = [event.id async for event in other.events(account_id=ACCOUNT)]
    assert rest == pending
    assert rest[0] == first.id
    assert await store.pending_events() == []


async def test_two_event_loops_of_one_store_take_turns_too(
    client: AsyncConnectSafely, store: Store
) -> None:
    await sync(client, store, NOW)
    async with twin(store, lock_timeout=0.2) as shared:  # one store, two tasks on it
        async with contextlib.aclosing(shared.events(account_id=ACCOUNT)) as mine:
            await anext(mine)
            with pytest.raises(StoreLockedError, match="events are being handled"):
                await anext(shared.events(account_id=ACCOUNT))
        assert [e async for e in shared.events(account_id=ACCOUNT)]  # its turn now


async def test_a_cancelled_sync_gives_its_lock_back_and_the_next_one_resumes(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    for fault in (Fault(), Fault(delay=30)):  # a page, then an answer that never comes in time
        fake.inject(fault)
    task = asyncio.ensure_future(sync(client, store, NOW))
    while len(fake.requests) < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    fake.clear_faults()
    async with twin(store, lock_timeout=0) as other:  # another process: not locked out
        done = await sync(client, other, NOW + 60)
    assert done.ok
    assert done.resumed
    assert [s.visitor.entity_urn for s in done.new] == [
        r["entityUrn"] for r in named(fake.visitors(ACCOUNT))]


async def test_returning_visitors_are_events_too_with_their_visit_count(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    fake.set_visitors(ACCOUNT, visitors_at(NOW, account_id=ACCOUNT))
    await sync(client, store, NOW)
    first = await store.pending_events(limit=1000)
    assert {e.kind for e in first} == {"new_visitor"}
    await store.ack(*(e.id for e in first))
    back: list[Any] = []
    for day in range(1, 8):
        fake.set_visitors(ACCOUNT, visitors_at(NOW + day * DAY, account_id=ACCOUNT))
        result = await sync(client, store, NOW + day * DAY)
        events = await store.pending_events(limit=1000)
        returning = [e for e in events if e.is_returning]
        # Exactly the sync's returning visitors, each pending until acknowledged.
        assert sorted(e.visitor.key for e in returning) == sorted(s.key for s in result.returning)
        assert sorted(e.visitor.key for e in events if not e.is_returning) == sorted(
            s.key for s in result.new)
        back += returning
        await store.ack(*(e.id for e in events))
    assert back, "a week of the timeline brings regulars back"
    assert all(e.visits >= 2 for e in back)
    visits = {r["visitor_key"]: r["visits"] for r in await store.history()
              if not r["is_anonymous"]}
    assert max(visits.values()) >= 2
    for event in back:
        assert visits[event.visitor.key] >= event.visits


async def test_a_visitor_and_the_history_give_one_estimate_of_a_view(
    client: AsyncConnectSafely, store: Store
) -> None:
    first = await sync(client, store, NOW)
    for seen in first.new:
        # Seen once: the history's interval is the one the text allows, and both name its
        # middle estimated_viewed_at.
        assert seen.visitor.estimated_viewed_at == seen.estimated_viewed_at


async def _record(store: Store, pages: list[list[Visitor]], at: float, *,
                  collect: bool, finish: bool = True, stamped: bool = False,
                  ) -> SyncResult | None:
    start = await store.begin_sync(ACCOUNT, "kept", now=at, collect=collect)
    for number, page in enumerate(pages):
        if stamped:  # received when the page says (the result keeps the page's visitors)
            received = datetime.fromtimestamp(at + number, timezone.utc)
            page = [attrs.evolve(v, fetched_at=received) for v in page]
        await store.record_page(start.sync_id, ACCOUNT, page, received_at=at + number,
                                checkpoint=lambda: {"page": 1})
    if not finish:
        return None
    return await store.finish_sync(start.sync_id, collect=True)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_later_view_in_a_page_stands_over_the_same_view_before_it(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # A clock that ran ahead recorded Ana's latest view; back at the right time, one page
    # shows her earlier view renamed (the view before that one stands in again), then a
    # view a minute old: that new view is her latest, with that row's fields, whatever the
    # order the store's statements run in.
    ana = Visitor(entity_urn="urn:li:fsd_profile:A", name="Ana", viewed_at="Viewed 5d ago")
    async with opened(kind, request, tmp_path) as store:
        await _record(store, [[ana]], NOW, collect=True)
        await _record(store, [[attrs.evolve(ana, viewed_at="Viewed 1m ago")]], NOW + 30 * DAY,
                      collect=True)
        page = [attrs.evolve(ana, name="Ana B.", viewed_at="Viewed 6d ago"),
                attrs.evolve(ana, name="Ana C.", viewed_at="Viewed 1m ago")]
        result = await _record(store, [page], NOW + DAY, collect=True)
        latest = await rows(store, "SELECT v.name, w.viewed_at, w.first_observed "
                                   "FROM visitors v JOIN views w ON w.id = v.view_id")
    assert latest == [("Ana C.", "Viewed 1m ago", NOW + DAY)]
    assert result is not None
    assert [(seen.visitor.name, seen.views) for seen in result.returning] == [("Ana C.", 3)]


@pytest.mark.parametrize("stamped", [False, True])
@pytest.mark.parametrize("kind", KINDS)
async def test_the_result_kept_as_pages_commit_is_the_result_read_back(
    kind: str, stamped: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The same pages into two stores: one keeps its run's visitors as each page commits,
    # the other (begun without collect) reads them all back at the end. Visitors seen twice
    # in a page, either way round; found by an alias; a clock that ran ahead; anonymous
    # rows; and a sync interrupted and resumed, whose earlier run's rows are read back.
    # Stamped, the visitors carry their receive times, and the result keeps them.
    ana = Visitor(entity_urn="urn:li:fsd_profile:A", name="Ana", viewed_at="Viewed 1d ago")
    ana_moved = attrs.evolve(ana, name="Ana B.", viewed_at="Viewed 5d ago")
    ana_renamed = attrs.evolve(ana, headline="CTO")
    bo = Visitor(public_identifier="bo", name="Bo", viewed_at="Viewed 2h ago")
    bo_by_urn = Visitor(entity_urn="urn:li:fsd_profile:B", public_identifier="bo", name="Bo",
                        viewed_at="Viewed 3w ago")
    member = Visitor(name="LinkedIn Member", headline="Someone", viewed_at="Viewed 1h ago")
    ana_later = attrs.evolve(ana, name="Ana C.", viewed_at="Viewed 1m ago")
    # Each page: a view, then the same view with other fields, or a later view after it.
    pages = [[ana_moved, bo, member], [ana_renamed, ana, bo_by_urn], [ana_renamed, ana_later]]
    later = [[ana, member, bo], [bo_by_urn, ana_renamed]]
    results = []
    for kind_path, collect in ((tmp_path / "kept", True), (tmp_path / "read", False)):
        kind_path.mkdir()
        async with opened(kind, request, kind_path) as store:
            first = await _record(store, pages, NOW, collect=collect, stamped=stamped)
            ahead = await _record(store, later, NOW + 30 * DAY, collect=collect,
                                  stamped=stamped)
            behind = await _record(store, pages, NOW + 2 * DAY, collect=collect,
                                   stamped=stamped)
            await _record(store, pages[:2], NOW + 40 * DAY, collect=collect, finish=False,
                          stamped=stamped)
        async with twin(store) as reopened:  # the interrupted run's process is gone
            resumed = await _record(reopened, later, NOW + 40 * DAY + 5, collect=collect,
                                    stamped=stamped)
        results.append((first, ahead, behind, resumed))
    kept, read = results
    assert kept == read
    assert kept[3] is not None
    assert kept[3].new_count == len(kept[3].new)
    assert kept[3].returning_count == len(kept[3].returning) > 0
