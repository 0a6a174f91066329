"""Both stores are one store: any run of daily syncs gives the same results on SQLite and
on PostgreSQL (a differential property test over real HTTP, a real file, a real server).

Each example is a few days; each day the fake serves some visitors of a small pool (some
seen again, some missing their URN, some with unreadable view times) and anonymous members;
some with texts no store can keep as they are (NUL, lone surrogates, a 5 KB URN); the same
syncs go into a fresh SQLiteStore and a fresh PostgresStore, and every result, the
pending events and the whole history must be equal (the history's ties aside: the order of two
views with the same estimate is each engine's).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectsafely_async import AsyncConnectSafely
from connectsafely_async.history import PostgresStore, SQLiteStore, SyncResult
from connectsafely_async.testing import FakeConnectSafely

from .servers import PostgresServer

ACCOUNT = "696ce9e780e0483585e4e553"
NOW = 1.8e9
DAY = 86400.0
VIEWED = ["Viewed 1h ago", "Viewed 5h ago", "Viewed 1d ago", "Viewed 3d ago", "Viewed 2w ago",
          "Viewed 2mo ago", "Viewed recently", "", None]

# Odd texts some members carry (a NUL, lone surrogates, non-ASCII): both stores record them
# in the same form; member 7's URN is longer than an index row may hold.
ODD = ["", "\x00", "\ud800", "é\udfff", "\U0001f600"]
LONG = "".join(chr(0x41 + (i * 7919) % 26) for i in range(5000))

# One served row: which pool member (or -1: anonymous), when, and whether its URN is missing.
ROW = st.tuples(st.integers(-1, 7), st.sampled_from(VIEWED), st.booleans())


def record(member: int, viewed_at: str | None, no_urn: bool) -> dict[str, Any]:
    if member < 0:
        return {"name": "LinkedIn Member", "viewedAt": viewed_at}
    row: dict[str, Any] = {
        "entityUrn": None if no_urn else f"urn:li:fsd_profile:ACoAAmember{member}"
        + (LONG if member == 7 else ""),
        "publicIdentifier": f"member-{member}", "name": f"Member {member}{ODD[member % 5]}",
        "headline": f"Headline {ODD[(member + 2) % 5]}{member}",
        "profileUrl": f"https://www.linkedin.com/in/member-{member}",
        "viewedAt": viewed_at,
    }
    return {k: v for k, v in row.items() if v is not None or k == "viewedAt"}


def summary(result: SyncResult) -> tuple[Any, ...]:
    def seen(items: Any) -> list[tuple[Any, ...]]:
        return [(s.key, s.visitor.name, s.viewed_after, s.viewed_before, s.views) for s in items]

    return (seen(result.new), seen(result.returning), result.unchanged,
            [(a.name, a.viewed_after, a.viewed_before) for a in result.anonymous],
            result.new_count, result.returning_count, result.anonymous_count, result.ok)


async def run_days(days: list[list[tuple[int, str | None, bool]]],
                   stores: list[SQLiteStore | PostgresStore]) -> list[list[Any]]:
    seen: list[list[Any]] = [[] for _ in stores]
    async with FakeConnectSafely(accounts={ACCOUNT: 0}) as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, rate_limits=None, max_retries=0,
    ) as client:
        for store in stores:
            await store.open()
        try:
            for day, rows in enumerate(days):
                # A member is served once a page; duplicates within a day are the walk's.
                served = list({m if m >= 0 else -1 - i: record(m, v, u)
                               for i, (m, v, u) in enumerate(rows)}.values())
                fake.set_visitors(ACCOUNT, served)
                for log, store in zip(seen, stores, strict=True):
                    result = await client.sync_visitors(
                        store, account_id=ACCOUNT, count=3, clock=lambda d=day: NOW + d * DAY)
                    log.append(summary(result))
            for log, store in zip(seen, stores, strict=True):
                events = await store.pending_events(limit=1000)
                log.append([(e.id, e.kind, e.visitor.key) for e in events])
                records = await store.history()
                # Newest estimate first, the unread ones last; ties are each store's to order
                # (its own collation), so the records are compared as a sorted list.
                estimates = [r["estimated_viewed_at"] or "" for r in records]
                assert estimates == sorted(estimates, reverse=True)
                log.append(sorted(records, key=repr))
        finally:
            for store in stores:
                await store.aclose()
    return seen


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(days=st.lists(st.lists(ROW, max_size=7), min_size=1, max_size=4))
def test_every_run_of_syncs_gives_the_same_results_on_both_stores(
    days: list[list[tuple[int, str | None, bool]]], tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    stores: list[SQLiteStore | PostgresStore] = [
        SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db"),
        PostgresStore(server.dsn, schema=f"eq_{uuid.uuid4().hex[:12]}"),
    ]
    on_sqlite, on_postgres = asyncio.run(run_days(days, stores))
    assert on_sqlite == on_postgres
