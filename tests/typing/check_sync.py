"""Never run, only type-checked (``mypy`` from the repo root): the sync client's derived
methods keep the async originals' arguments and give the sync forms of their results."""

from __future__ import annotations

from typing_extensions import assert_type

from connectsafely_async import ConnectSafely, Visitor, VisitorsPage
from connectsafely_async.types import (
    Account,
    AccountVisitor,
    AccountVisitors,
    SyncIterator,
    SyncWalk,
)


def check(client: ConnectSafely) -> None:
    assert_type(client.get_visitors(max_visitors=3, timeout=5), VisitorsPage)
    assert_type(client.iter_visitors(count=5), SyncWalk[Visitor])
    assert_type(client.iter_visitor_pages(count=5), SyncWalk[VisitorsPage])
    assert_type(client.iter_visitors_many(["a"]), SyncIterator[AccountVisitor])
    assert_type(client.fetch_visitors_many(["a"]), dict[str, AccountVisitors])
    assert_type(client.list_accounts(), tuple[Account, ...])
    assert_type(client.with_options(timeout=3), ConnectSafely)
    client.get_visitors(bogus=1)  # type: ignore[call-arg]
