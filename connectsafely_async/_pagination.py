"""The one pagination loop behind every walk: pages and visitors are two views of it.

What each request asks for is decided by ``plan_request``, a pure function, because the
service's ``maxVisitors`` is ambiguous. It may be read three ways:

1. a cap on this one response;
2. a total cap counted from offset 0;
3. as 2, with ``hasMore`` computed against the cap rather than against all visitors.

Sending ``count = size`` and ``maxVisitors = start + size + 1`` is right under all three:
the page is ``size`` long under each reading (``count`` is the tighter cap), and under the
third the cap sits one past the page, so ``hasMore`` still says whether anything follows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable

import attrs

from ._models import VisitorsPage
from ._protocol import VisitorsQuery

__all__ = ["plan_request", "walk_pages"]

logger = logging.getLogger("connectsafely_async")

Fetch = Callable[[VisitorsQuery], Awaitable[VisitorsPage]]


def plan_request(
    *,
    start: int,
    count: int,
    remaining: int | None,
    account_id: str | None,
    time_range: str | None,
) -> VisitorsQuery:
    """The query for the next page: never more than ``remaining`` visitors."""
    size = count if remaining is None else min(count, remaining)
    return VisitorsQuery(
        account_id=account_id,
        time_range=time_range,
        count=size,
        start=start,
        max_visitors=start + size + 1,
    )


async def walk_pages(
    fetch: Fetch,
    *,
    count: int,
    start: int,
    max_visitors: int | None,
    account_id: str | None,
    time_range: str | None,
) -> AsyncGenerator[VisitorsPage, None]:
    """Yield pages from ``start`` until ``hasMore`` is false, a page is empty, or
    ``max_visitors`` visitors have been yielded (the last page is cut to fit, never over).

    ``start`` advances by the number of visitors actually received, since pages can be
    short while ``hasMore`` is true.
    """
    yielded = 0
    while max_visitors is None or yielded < max_visitors:
        remaining = None if max_visitors is None else max_visitors - yielded
        page = await fetch(
            plan_request(
                start=start,
                count=count,
                remaining=remaining,
                account_id=account_id,
                time_range=time_range,
            )
        )
        received = len(page.visitors)
        if remaining is not None and received > remaining:
            page = attrs.evolve(page, visitors=page.visitors[:remaining])
        yield page
        yielded += len(page.visitors)
        start += received
        if not page.has_more:
            return
        if received == 0:
            logger.warning(
                "the service sent an empty page with hasMore=true at start=%d; stopping", start
            )
            return
