"""The peer: what users would otherwise write, httpx.AsyncClient + pydantic v2 models."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class PeerVisitor(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    entity_urn: str | None = None
    public_identifier: str | None = None
    name: str | None = None
    headline: str | None = None
    profile_picture: str | None = None
    viewed_at: str | None = None
    connection_degree: str | None = None
    profile_url: str | None = None
    navigation_url: str | None = None


class PeerPagination(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    start: int | None = None
    count: int | None = None
    total: int | None = None


class PeerPage(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    visitors: list[PeerVisitor]
    has_more: bool
    success: bool | None = None
    account_id: str | None = None
    pagination: PeerPagination | None = None
    time_range: str | None = None


def make_client(base_url: str, api_key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {api_key}"},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )


async def iter_visitors(
    client: httpx.AsyncClient, account_id: str, *, max_visitors: int, count: int
) -> AsyncIterator[PeerVisitor]:
    """Page by start/count until ``hasMore`` is false or ``max_visitors`` were yielded."""
    start = got = 0
    while got < max_visitors:
        size = min(count, max_visitors - got)
        response = await client.post(
            "/linkedin/profile/visitors",
            json={
                "accountId": account_id,
                "timeRange": "ALL_TIME",
                "count": size,
                "start": start,
                "maxVisitors": start + size + 1,
            },
        )
        response.raise_for_status()
        page = PeerPage.model_validate_json(response.content)
        for visitor in page.visitors:
            yield visitor
        got += len(page.visitors)
        start += len(page.visitors)
        if not page.has_more or not page.visitors:
            return
