"""The raw loops and floors the SDK is measured against (no checks at all: not clients).

* ``raw_walk``: aiohttp + orjson into dicts, one page after the other.
* ``raw_walk_ahead``: the same with the next page requested before the current one is
  awaited (the offsets are predicted from full pages), as the SDK's ``prefetch=1`` does.
* ``init_floor``: dicts to the SDK's frozen ``Visitor`` through the attrs ``__init__``.
* ``builder_floor``: dicts to the same frozen ``Visitor``s through ``Visitor.__new__`` and the
  class's slot descriptors, in a function generated once from ``attrs.fields(Visitor)`` with
  the per-field steps unrolled: the cheapest honest way found to build them (no checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
import attrs

from connectsafely_async import Visitor

API_KEY = "test-key"
PATH = "/linkedin/profile/visitors"
TEXT_KEYS = (
    "entityUrn", "publicIdentifier", "name", "headline", "profilePicture",
    "viewedAt", "connectionDegree", "profileUrl", "navigationUrl",
)  # fmt: skip


def raw_loads() -> Callable[[bytes], Any]:
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


def _query(account_id: str, start: int, size: int) -> str:
    return json.dumps({"accountId": account_id, "timeRange": "ALL_TIME", "count": size,
                       "start": start, "maxVisitors": start + size + 1})


_HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


async def raw_walk(
    session: aiohttp.ClientSession, url: str, account_id: str, n: int, count: int
) -> AsyncIterator[dict[str, Any]]:
    """The raw limit: sequential pages, JSON into dicts, no validation."""
    loads = raw_loads()
    start = got = 0
    while got < n:
        size = min(count, n - got)
        query = _query(account_id, start, size)
        async with session.post(url + PATH, data=query, headers=_HEADERS) as resp:
            data = loads(await resp.read())
        visitors = data["visitors"]
        for visitor in visitors:
            yield visitor
        got += len(visitors)
        start += len(visitors)
        if not data["hasMore"] or not visitors:
            return


async def raw_pages(
    session: aiohttp.ClientSession, url: str, account_id: str, n: int, count: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """``raw_walk``'s loop, a page of dicts at a time."""
    loads = raw_loads()
    start = got = 0
    while got < n:
        size = min(count, n - got)
        query = _query(account_id, start, size)
        async with session.post(url + PATH, data=query, headers=_HEADERS) as resp:
            data = loads(await resp.read())
        visitors = data["visitors"]
        yield visitors
        got += len(visitors)
        start += len(visitors)
        if not data["hasMore"] or not visitors:
            return


async def raw_pages_ahead(
    session: aiohttp.ClientSession, url: str, account_id: str, n: int, count: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """The raw limit with one page of look-ahead: pages of dicts, two requests in flight."""
    loads = raw_loads()

    async def fetch(start: int, size: int) -> Any:
        query = _query(account_id, start, size)
        async with session.post(url + PATH, data=query, headers=_HEADERS) as resp:
            return loads(await resp.read())

    start = got = 0
    pending: asyncio.Future[Any] | None = asyncio.ensure_future(fetch(0, min(count, n)))
    try:
        while pending is not None:
            size = min(count, n - got)
            # The next page, assuming this one comes back full (it does, but the last).
            following = min(count, n - got - size)
            ahead = asyncio.ensure_future(fetch(start + size, following)) if following > 0 \
                else None
            data = await pending
            pending = ahead
            visitors = data["visitors"]
            got += len(visitors)
            start += len(visitors)
            if (not data["hasMore"] or len(visitors) != size) and pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
                pending = None
            yield visitors
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending


async def raw_walk_ahead(
    session: aiohttp.ClientSession, url: str, account_id: str, n: int, count: int
) -> AsyncIterator[dict[str, Any]]:
    async for page in raw_pages_ahead(session, url, account_id, n, count):
        for visitor in page:
            yield visitor


async def typed_walk(
    pages: AsyncIterator[list[dict[str, Any]]],
    build: Callable[[list[dict[str, Any]], datetime], list[Visitor]],
) -> AsyncIterator[Visitor]:
    """Visitors one at a time, as ``iter_visitors`` hands them out, built a page at a time."""
    fetched_at = datetime.now(timezone.utc)
    async for page in pages:
        for visitor in build(page, fetched_at):
            yield visitor


def init_floor(items: list[dict[str, Any]], fetched_at: datetime) -> list[Visitor]:
    """Dicts to frozen ``Visitor``s through the attrs ``__init__``, no checks."""
    return [Visitor(*map(item.get, TEXT_KEYS), fetched_at) for item in items]


def _make_builder_floor() -> Callable[[list[dict[str, Any]], datetime], list[Visitor]]:
    fields = attrs.fields(Visitor)
    assert tuple(f.name for f in fields)[-1] == "fetched_at"
    namespace: dict[str, Any] = {"new": Visitor.__new__, "cls": Visitor}
    lines = ["def build(items, fetched_at):", "    out = []", "    append = out.append",
             "    for item in items:", "        instance = new(cls)"]
    for index, (field, key) in enumerate(zip(fields, (*TEXT_KEYS, None), strict=True)):
        namespace[f"set_{index}"] = getattr(Visitor, field.name).__set__
        value = "fetched_at" if key is None else f"item.get({key!r})"
        lines.append(f"        set_{index}(instance, {value})")
    lines += ["        append(instance)", "    return out"]
    exec("\n".join(lines), namespace)  # our own source, generated from the fields
    build: Callable[[list[dict[str, Any]], datetime], list[Visitor]] = namespace["build"]
    return build


builder_floor = _make_builder_floor()
