"""The raw loops and floors the SDK is measured against (no checks at all: not clients).

* ``raw_walk``: aiohttp + orjson into dicts, one page after the other.
* ``raw_walk_ahead``: the same with the next page requested before the current one is
  awaited (the offsets are predicted from full pages), as the SDK's ``prefetch=1`` does.
* ``init_floor``: dicts to the SDK's frozen ``Visitor`` through the attrs ``__init__``.
* ``struct_loads``: msgspec decoding a page straight into ``Struct`` types made from
  ``attrs.fields`` (camelCase renames), no attrs objects: the floor of the speed extra's
  decode, which type-checks as it parses (the SDK's own derived types are not used, so the
  floor does not move with the SDK).
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


def struct_loads() -> Callable[[bytes], Any] | None:
    """msgspec's decode of a page into Structs (``visitors``, ``has_more``), or ``None``
    without msgspec."""
    try:
        import msgspec
    except ImportError:
        return None

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.capitalize() for part in rest)

    fields = [f.name for f in attrs.fields(Visitor) if f.name != "fetched_at"]
    visitor = msgspec.defstruct("FloorVisitor", [(name, str | None, None) for name in fields],
                                rename=camel, kw_only=True, gc=False)
    page = msgspec.defstruct("FloorPage", [("has_more", bool), ("visitors", list[visitor])],
                             rename=camel, kw_only=True, gc=False)
    return msgspec.json.Decoder(page).decode


async def struct_pages(
    session: aiohttp.ClientSession, url: str, account_id: str, n: int, count: int,
    decode: Callable[[bytes], Any],
) -> AsyncIterator[list[Any]]:
    """``raw_pages``' loop with msgspec's typed decode (``struct_loads``): pages of Structs."""
    start = got = 0
    while got < n:
        size = min(count, n - got)
        query = _query(account_id, start, size)
        async with session.post(url + PATH, data=query, headers=_HEADERS) as resp:
            data = decode(await resp.read())
        visitors = data.visitors
        yield visitors
        got += len(visitors)
        start += len(visitors)
        if not data.has_more or not visitors:
            return
