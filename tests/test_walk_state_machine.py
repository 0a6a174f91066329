"""A hypothesis state machine: random totals, page sizes, faults and offset shifts.

Each machine runs a real fake service and a real client on its own event loop and drives one
walk page by page, interleaving faults (within and beyond the retry budget, resuming from the
error's checkpoint) and new views arriving at the head of the list. Invariants: no named
visitor twice; without shifts, exactly the server's list in order; requests bounded by
attempted pages x (retries + 1); no connection left open at the end.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from connectsafely_async import (
    AsyncConnectSafely,
    ConnectSafelyError,
    PaginationStalledError,
    RetryPolicy,
    VisitorsPage,
)
from connectsafely_async.testing import FakeConnectSafely, Fault, MaxVisitorsMode, make_visitors
from connectsafely_async.types import Walk

from .conftest import ACCOUNT, FakeSleep

MAX_RETRIES = 2
TRANSIENT = [
    Fault(kind="reset"),
    Fault(kind="truncate"),
    Fault(status=500, json={"success": False, "error": "Failed to fetch profile visitors"}),
    Fault(status=502, text="<html>Bad Gateway</html>", content_type="text/html"),
    Fault(status=503, json=None),
    Fault(status=429, json={"error": "slow down"}, headers={"Retry-After": "1"}),
]

Key = tuple[Any, Any, Any]


def key_of(record: dict[str, Any]) -> Key:
    return (record.get("entityUrn"), record.get("name"), record.get("viewedAt"))


class WalkMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.fake = FakeConnectSafely(accounts={ACCOUNT: 0})
        self.loop.run_until_complete(self.fake.start())
        self.client = AsyncConnectSafely(
            api_key=self.fake.api_key, base_url=self.fake.url, max_retries=MAX_RETRIES,
            retry=RetryPolicy(sleep=FakeSleep()), rate_limits=None,
        )
        self.yielded: list[Key] = []
        self.truth: list[Key] = []
        self.shifted = False
        self.finished = False
        self.attempts = 0  # page requests the walk made, each allowed MAX_RETRIES + 1 tries
        self.walk: Walk[VisitorsPage] | None = None

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @initialize(total=st.integers(0, 70), count=st.integers(1, 20),
                mode=st.sampled_from(list(MaxVisitorsMode)))
    def start_walk(self, total: int, count: int, mode: MaxVisitorsMode) -> None:
        records = make_visitors(total, account_id=ACCOUNT)
        self.fake.set_visitors(ACCOUNT, records)
        self.fake.max_visitors_mode = mode
        # The truth is what the service serves (the default time range drops old views).
        self.truth = [key_of(r) for r in self.fake.visitors(ACCOUNT)]
        self.walk = self.client.iter_visitor_pages(count=count)

    @precondition(lambda self: not self.finished)
    @rule()
    def next_page(self) -> None:
        assert self.walk is not None
        self.attempts += 1
        try:
            page = self.run(anext(self.walk))
        except StopAsyncIteration:
            self.attempts -= 1  # the walk had already ended: nothing was requested
            self.finished = True
            return
        except ConnectSafelyError as error:
            self.resume_after(error)
            return
        self.yielded += [(v.entity_urn, v.name, v.viewed_at) for v in page.visitors]

    def resume_after(self, error: ConnectSafelyError) -> None:
        # Faults beyond the retry budget end the walk with a checkpoint; so may a run of
        # identical pages, which only new views arriving in step with the requests make.
        if isinstance(error, PaginationStalledError):
            assert self.shifted
        assert error.checkpoint is not None
        self.fake.clear_faults()
        self.walk = self.client.iter_visitor_pages(resume=error.checkpoint)

    @rule(fault=st.sampled_from(TRANSIENT), times=st.integers(1, MAX_RETRIES + 1))
    def inject_fault(self, fault: Fault, times: int) -> None:
        self.fake.inject(fault, times=times)

    @rule(new=st.integers(1, 3))
    def new_views_arrive(self, new: int) -> None:
        if self.finished:
            return  # (a rule must stay available, or hypothesis cannot take another step)
        records = self.fake.visitors(ACCOUNT)
        fresh = [{"entityUrn": f"urn:li:fsd_profile:FRESH{len(records)}x{i}",
                  "name": f"Fresh {i}", "viewedAt": "Viewed 1m ago"} for i in range(new)]
        self.fake.set_visitors(ACCOUNT, [*fresh, *records])
        self.shifted = True

    @invariant()
    def no_named_visitor_twice(self) -> None:
        named = [k[0] for k in self.yielded if k[0] is not None]
        assert len(named) == len(set(named))

    @invariant()
    def without_shifts_the_servers_list_in_order(self) -> None:
        if not self.shifted:
            assert self.yielded == self.truth[: len(self.yielded)]

    @invariant()
    def requests_are_bounded(self) -> None:
        sent = sum(1 for r in self.fake.requests if r.path.endswith("/visitors"))
        assert sent <= self.attempts * (MAX_RETRIES + 1)

    def teardown(self) -> None:
        try:
            if self.walk is not None and not self.finished:
                self.fake.clear_faults()
                while True:
                    try:
                        page = self.run(anext(self.walk))
                    except StopAsyncIteration:
                        break
                    except PaginationStalledError as error:
                        self.resume_after(error)
                        continue
                    self.yielded += [(v.entity_urn, v.name, v.viewed_at)
                                     for v in page.visitors]
                self.no_named_visitor_twice()
                if not self.shifted:
                    assert self.yielded == self.truth
            self.run(self.client.aclose())
            self.run(self._settle())
            assert self.fake.open_connections == 0
        finally:
            self.run(self.client.aclose())
            self.run(self.fake.close())
            self.loop.close()

    async def _settle(self) -> None:
        for _ in range(200):
            if not self.fake.open_connections:
                return
            await asyncio.sleep(0.01)


WalkMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=15, deadline=None
)
TestWalkMachine = WalkMachine.TestCase
