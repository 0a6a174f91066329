"""Any string the parser accepts goes through sync_visitors into both stores and reads back
in the one documented form (``storable_text``): a property test over real HTTP, a real
file and a real PostgreSQL server, plus the largest values a page may carry."""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectsafely_async import AsyncConnectSafely, Visitor
from connectsafely_async.history import (
    PostgresStore,
    SQLiteStore,
    identity_keys,
    storable_text,
)
from connectsafely_async.testing import FakeConnectSafely

from .servers import PostgresServer

ACCOUNT = "696ce9e780e0483585e4e553"
NOW = 1.8e9
FIELDS = ("entityUrn", "publicIdentifier", "name", "headline", "profilePicture",
          "connectionDegree", "profileUrl", "navigationUrl")
# Any code point, lone surrogates and NUL included: whatever a JSON string can spell.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
VISITOR = st.fixed_dictionaries({}, optional={field: ANY_TEXT | st.none() for field in FIELDS})


def stores(tmp_path: Path, request: pytest.FixtureRequest) -> list[SQLiteStore | PostgresStore]:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return [SQLiteStore(tmp_path / f"{uuid.uuid4().hex}.db"),
            PostgresStore(server.dsn, schema=f"fz_{uuid.uuid4().hex[:12]}")]


def expected(record: dict[str, Any]) -> dict[str, Any]:
    """The history record's fields as the stores must give them back."""
    def text(field: str) -> str | None:
        value = record.get(field)
        return None if value is None else storable_text(value)

    return {"name": text("name"), "headline": text("headline"),
            "public_identifier": text("publicIdentifier"),
            "profile_url": text("profileUrl"), "connection_degree": text("connectionDegree")}


async def sync_into(served: list[dict[str, Any]],
                    targets: list[SQLiteStore | PostgresStore]) -> list[list[dict[str, Any]]]:
    async with FakeConnectSafely(accounts={ACCOUNT: 0}) as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, rate_limits=None, max_retries=0,
    ) as client:
        fake.set_visitors(ACCOUNT, served)
        histories = []
        for store in targets:
            async with store:
                result = await client.sync_visitors(store, account_id=ACCOUNT, count=7,
                                                    clock=lambda: NOW)
                assert result.ok, result.error
                histories.append(await store.history())
        return histories


def project(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("name", "headline", "public_identifier", "profile_url", "connection_degree")
    return sorted(({k: r[k] for k in keys} for r in records), key=repr)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(visitors=st.lists(VISITOR, max_size=12))
def test_any_string_the_parser_accepts_is_recorded_the_same_by_both_stores(
    visitors: list[dict[str, Any]], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    served = [{**v, "viewedAt": "Viewed 1h ago"} for v in visitors]
    on_sqlite, on_postgres = asyncio.run(sync_into(served, stores(tmp_path, request)))
    assert project(on_sqlite) == project(on_postgres)
    # Each anonymous row is a record of its own; each named row that shares no identity
    # key with another is a record of its own, with its texts in the one stored form.
    keys = [identity_keys(_visitor(v)) for v in served]
    assert sum(r["is_anonymous"] for r in on_sqlite) == sum(not k for k in keys)
    stored = project(on_sqlite)
    for index, (row, own) in enumerate(zip(served, keys, strict=True)):
        others = {key for i, k in enumerate(keys) if i != index for key in k}
        if own and others.isdisjoint(own):
            assert expected(row) in stored


def _visitor(record: dict[str, Any]) -> Visitor:
    return Visitor(**{_snake(k): v for k, v in record.items() if k in FIELDS})


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_the_largest_values_a_page_may_carry_are_stored_whole(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    noise = "".join(random.Random(3).choices(string.ascii_letters, k=5000))
    huge = "é" * (5 * 1024 * 1024)  # 10 MB of UTF-8, under the 16 MiB cap
    served = [
        {"entityUrn": f"urn:li:fsd_profile:{noise}", "name": "Long URN",
         "viewedAt": "Viewed 1h ago"},
        {"entityUrn": "urn:li:fsd_profile:big", "name": "Big", "headline": huge,
         "viewedAt": "Viewed 2h ago"},
    ]
    target = stores(tmp_path, request)[0 if kind == "sqlite" else 1]
    (history,) = await sync_into(served, [target])
    by_name = {r["name"]: r for r in history}
    assert by_name["Big"]["headline"] == huge
    assert by_name["Long URN"]["visitor_key"].startswith("sha256:")
    # Seen again the next day: the same visitors, nobody new.
    (again,) = await sync_into(served, [_reopened(target)])
    assert len(again) == 2
    assert {r["observations"] for r in again} == {2}


def _reopened(store: SQLiteStore | PostgresStore) -> SQLiteStore | PostgresStore:
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    return PostgresStore(store.dsn, schema=store.schema)
