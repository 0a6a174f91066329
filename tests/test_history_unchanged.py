"""A page's unchanged visitors are recorded by one statement where the engine can
(``_writes._observe_unchanged``), and a page of new visitors is looked up by all its keys
at once (``_resolve(settle=False)``): held, on any run of syncs, to the general way, which
looks every page up by its strongest keys first and records it row by row. Both ways on
both engines: the same results, the same rows."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connectsafely_async.history._writes as writes
from connectsafely_async import Visitor
from connectsafely_async.history import PostgresStore, SQLiteStore, SyncResult
from connectsafely_async.history._sqlite_connection import SQLiteConnection

from .servers import PostgresServer
from .stores import rows

ACCOUNT = "0123456789abcdef01234567"
NOW = 1.8e9
# Minutes-wide texts a couple of minutes apart meet within the slack without overlapping;
# None and a text no one can read have no interval; a clock may go back (one ran ahead).
TEXTS = ("Viewed 1m ago", "Viewed 2m ago", "Viewed 1h ago", "Viewed 2h ago", "Viewed 1d ago",
         "Viewed 3d ago", None, "a while back")
STEPS = (0.0, 30.0, 100.0, 130.0, 3600.0, 86400.0, -100.0, -7200.0)
# (person, text, renamed, with its URN): person 4 comes with and without its URN (one
# visitor, two keys), in one page too.
ROW = st.tuples(st.integers(0, 4), st.sampled_from(TEXTS), st.booleans(), st.booleans())
SYNC = st.tuples(st.sampled_from(STEPS), st.lists(st.lists(ROW, max_size=5), min_size=1,
                                                  max_size=3))


def visitor(person: int, text: str | None, renamed: bool, with_urn: bool,
            at: float) -> Visitor:
    urn = f"urn:li:x:{person}" if person < 4 or with_urn else None
    return Visitor(entity_urn=urn, public_identifier=f"p-{person}",
                   name=f"N{person}{'-renamed' if renamed else ''}", viewed_at=text,
                   fetched_at=datetime.fromtimestamp(at, timezone.utc))


def seen(result: SyncResult) -> dict[str, Any]:
    def one(s: Any) -> tuple[Any, ...]:
        return (s.key, s.views, s.viewed_after, s.viewed_before, s.first_seen_at,
                s.visitor.name, s.visitor.viewed_at)

    return {"new": [one(s) for s in result.new], "returning": [one(s) for s in result.returning],
            "counts": (result.new_count, result.returning_count, result.unchanged,
                       result.anonymous_count)}


async def run(store: SQLiteStore | PostgresStore,
              syncs: list[tuple[float, list[list[tuple[int, str | None, bool, bool]]]]],
              *, kept: bool = True) -> tuple[list[dict[str, Any]], list[list[tuple[Any, ...]]]]:
    results = []
    at = NOW
    async with store:
        for step, pages in syncs:
            at += step
            start = await store.begin_sync(ACCOUNT, "f", now=at, resume_within=None,
                                           collect=kept)
            for page in pages:
                await store.record_page(
                    start.sync_id, ACCOUNT,
                    [visitor(*row, at=at) for row in page],
                    received_at=at, checkpoint=lambda: None)
            results.append(seen(await store.finish_sync(start.sync_id, collect=True)))
        tables = [await rows(store, sql) for sql in (
            "SELECT key, viewed_at, earliest, latest, first_observed, last_observed, "
            "observations, first_view FROM views ORDER BY id",
            "SELECT v.key, w.key, v.name, v.viewed_at, v.first_seen, v.last_seen, v.views "
            "FROM visitors v JOIN views w ON w.id = v.view_id ORDER BY v.key",
            "SELECT key, kind, visits FROM events ORDER BY id",
            "SELECT alias, key FROM aliases ORDER BY alias",
        )]
    return results, tables


@contextlib.contextmanager
def row_by_row() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writes, "_observe_unchanged", lambda *_args: None)
        patch.setattr(writes, "_any_known", lambda *_args: True)
        yield


def new_store(kind: str, tmp_path: Path,
              request: pytest.FixtureRequest) -> SQLiteStore | PostgresStore:
    if kind == "sqlite":
        return SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return PostgresStore(server.dsn, schema=f"u_{uuid.uuid4().hex[:12]}")


def both_ways(make: Any, syncs: Any) -> None:
    with row_by_row():
        general = asyncio.run(run(make(), syncs))
        # (Each sync's result read back at its end, as a run that kept nothing reports it.)
        read_back = asyncio.run(run(make(), syncs, kept=False))
    fast = asyncio.run(run(make(), syncs))
    assert fast[0] == general[0] == read_back[0]
    assert fast[1] == general[1] == read_back[1]


def examples(count: int) -> settings:
    return settings(max_examples=count, deadline=None, suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@examples(150)
@given(syncs=st.lists(SYNC, min_size=1, max_size=4))
def test_sqlite_records_unchanged_visitors_at_once_as_it_would_one_by_one(
    syncs: Any, tmp_path: Path
) -> None:
    both_ways(lambda: SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db"), syncs)


@examples(25)
@given(syncs=st.lists(SYNC, min_size=1, max_size=4))
def test_postgres_records_unchanged_visitors_at_once_as_it_would_one_by_one(
    syncs: Any, request: pytest.FixtureRequest
) -> None:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    both_ways(lambda: PostgresStore(server.dsn, schema=f"u_{uuid.uuid4().hex[:12]}"), syncs)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_sync_with_nothing_new_records_its_pages_at_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The fast way is taken where it applies, on both engines: every row of a second sync,
    # but for a visitor shown twice in one page.
    taken: list[int] = []
    observe = writes._observe_unchanged

    def counted(*args: Any) -> dict[int, str] | None:
        done = observe(*args)
        taken.append(len(done or ()))
        return done

    page = [(0, "Viewed 1h ago", False, True), (1, "Viewed 2h ago", False, True),
            (2, "Viewed 1d ago", False, True), (2, "Viewed 1d ago", False, True)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writes, "_observe_unchanged", counted)
        results, _ = asyncio.run(run(new_store(kind, tmp_path, request),
                                     [(0.0, [page]), (600.0, [page])]))
    assert taken == [2]  # a first sync: no one known, no statement; then all but the one
    # shown twice
    assert results[1]["counts"] == (0, 0, 4, 0)


def test_an_sqlite_without_update_returning_records_every_row_the_general_way(
    tmp_path: Path
) -> None:
    # SQLite before 3.35 has no RETURNING: the statement is never tried there.
    calls: list[Any] = []
    page = [(0, "Viewed 1h ago", False, True), (1, "Viewed 2h ago", True, True)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLiteConnection, "updates_returning", property(lambda _self: False))
        patch.setattr(writes, "_observe_unchanged", lambda *args: calls.append(args))
        results, _ = asyncio.run(run(SQLiteStore(tmp_path / "h.db"),
                                     [(0.0, [page]), (600.0, [page])]))
    assert calls == []
    assert results[1]["counts"] == (0, 0, 2, 0)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_page_showing_a_visitor_under_two_keys_goes_the_general_way(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A day-old view; an hour later the page shows the visitor first without its URN (a
    # new view, a minute old), then with it (the day-old view). Row by row, the second row
    # meets the new view and leaves the old one as it was; recorded at once first, the old
    # view would be narrowed by it.
    both_ways(lambda: new_store(kind, tmp_path, request), [
        (0.0, [[(4, "Viewed 1d ago", False, True)]]),
        (3600.0, [[(4, "Viewed 1m ago", False, False), (4, "Viewed 1d ago", False, True)]]),
    ])
