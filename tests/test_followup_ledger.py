"""From visitor to conversation, exactly once: client.follow_up() over a store's events,
against the fake's follow-up calls (which record every action they perform), on each store."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectsafely_async import AsyncConnectSafely, NotFoundError
from connectsafely_async.history import (
    ActionCaps,
    FollowUpPlan,
    StoreLockedError,
)
from connectsafely_async.history import _ledger as ledger
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import ACCOUNT
from .stores import KINDS, Store, opened, twin

MONDAY = 1_767_571_200.0  # 2026-01-05 00:00 UTC, a Monday
PLAN = FollowUpPlan(message="Hi {first_name}, thanks for stopping by!",
                    note="Hi {first_name}, glad you found my profile.", pace=0)


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with opened(request.param, request, tmp_path) as store:
        yield store


def named(fake: FakeConnectSafely) -> list[dict[str, str]]:
    return [v for v in fake.visitors(ACCOUNT) if v.get("entityUrn")]


def once_each(fake: FakeConnectSafely) -> Counter[str]:
    counts = Counter(a.recipient for a in fake.actions)
    assert all(n == 1 for n in counts.values()), counts.most_common(3)
    return counts


async def test_a_preview_sends_nothing_and_acknowledges_nothing(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    report = await client.follow_up(store, PLAN, account_id=ACCOUNT, clock=lambda: MONDAY)
    assert fake.actions == []
    assert {i.outcome for i in report.items} == {"would_send"}
    first = [i for i in report.items if i.visitor.visitor.connection_degree == "1st"]
    assert first
    assert all(i.action == "message" for i in first)
    assert all(i.action == "invitation" for i in report.items if i not in first)
    name = first[0].visitor.visitor.name or ""
    assert first[0].text == f"Hi {name.split()[0]}, thanks for stopping by!"
    assert len(await store._call(ledger.unfollowed, ACCOUNT, 1000)) == len(named(fake))


async def test_send_acts_once_on_each_person_and_never_again(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    report = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                    clock=lambda: MONDAY)
    assert len(report.sent) == len(named(fake))
    counts = once_each(fake)
    assert set(counts) == {v["publicIdentifier"] for v in named(fake)}
    kinds = {a.recipient: a.kind for a in fake.actions}
    assert {kinds[v["publicIdentifier"]] for v in named(fake)
            if v.get("connectionDegree") == "1st"} == {"message"}
    # The follow-up's own mark: every event followed up, and still there for watch.
    assert await store._call(ledger.unfollowed, ACCOUNT, 1000) == []
    assert len(await store.pending_events(limit=1000)) == len(named(fake))
    again = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                   clock=lambda: MONDAY)
    assert again.items == ()
    assert len(fake.actions) == len(named(fake))


async def test_the_caps_hold_across_runs_and_the_rest_waits_for_its_window(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    plan = FollowUpPlan(message=PLAN.message, note=PLAN.note, pace=0,
                        caps=ActionCaps(messages_per_day=3, invitations_per_week=5))
    for hour in range(3):  # three runs on Monday
        report = await client.follow_up(store, plan, account_id=ACCOUNT, send=True,
                                        clock=lambda h=hour: MONDAY + h * 3600)
        assert report.deferred
    assert Counter(a.kind for a in fake.actions) == {"message": 3, "invitation": 5}
    # Tuesday: three more messages; the invitations wait for next Monday.
    await client.follow_up(store, plan, account_id=ACCOUNT, send=True,
                           clock=lambda: MONDAY + 86400 + 60)
    assert Counter(a.kind for a in fake.actions) == {"message": 6, "invitation": 5}
    await client.follow_up(store, plan, account_id=ACCOUNT, send=True,
                           clock=lambda: MONDAY + 7 * 86400 + 60)
    assert Counter(a.kind for a in fake.actions)["invitation"] == 10
    once_each(fake)


@pytest.mark.parametrize("fault", [Fault(kind="reset"), Fault(status=502),
                                   Fault(delay=1.0)], ids=["reset", "502", "timeout"])
async def test_an_action_performed_then_lost_is_never_sent_twice(
    fake: FakeConnectSafely, store: Store, fault: Fault
) -> None:
    # A 0.4 s timeout: a loopback answer takes milliseconds; the "timeout" fault, 1 s.
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None,
                                  timeout=0.4) as client:
        await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
        fake.inject_action_fault(fault, kind="message")
        fake.inject_action_fault(fault, kind="invitation")
        report = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                        clock=lambda: MONDAY)
        again = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                       clock=lambda: MONDAY)
    assert len(report.unknown) == 1  # the message: nothing can check it, never resent
    assert report.unknown[0].action == "message"
    assert len(report.sent) == len(named(fake)) - 1  # the invitation was checked: it went
    assert again.items == ()
    assert len(once_each(fake)) == len(named(fake))


async def test_an_action_a_killed_run_left_unsettled_is_resolved_first(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    events = await store._call(ledger.unfollowed, ACCOUNT, 1000)
    invitee = next(e for e in events if e.visitor.visitor.connection_degree != "1st")
    contact = next(e for e in events if e.visitor.visitor.connection_degree == "1st")
    # A run claimed both and died before either request went out.
    for event, kind in ((invitee, "invitation"), (contact, "message")):
        await store._call(ledger.claim, ACCOUNT, event.visitor.key, kind,
                          event.visitor.visitor.entity_urn, "hi", event.id, MONDAY, 100)
    report = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                    clock=lambda: MONDAY)
    # The invitation was checked (not sent) and sent once now; the message is unknown.
    assert [i.visitor.key for i in report.unknown] == [contact.visitor.key]
    recipients = once_each(fake)
    assert invitee.visitor.visitor.public_identifier in recipients
    assert contact.visitor.visitor.public_identifier not in recipients


async def test_two_runs_on_one_account_take_turns(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    await store._lock("followup", ACCOUNT)  # a run in progress elsewhere
    try:
        async with twin(store, lock_timeout=0.2) as other:
            with pytest.raises(StoreLockedError):
                await client.follow_up(other, PLAN, account_id=ACCOUNT, send=True)
    finally:
        await store._unlock("followup", ACCOUNT)
    assert fake.actions == []


async def test_bad_input_is_refused_before_any_request(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    with pytest.raises(ValueError, match="empty"):
        FollowUpPlan(message="  ")
    with pytest.raises(ValueError, match="email"):
        FollowUpPlan(message="Hi {email}")
    with pytest.raises(ValueError, match="300"):
        FollowUpPlan(message="Hi", note="x" * 301)
    with pytest.raises(ValueError, match="account_id"):
        await client.follow_up(store, PLAN, account_id="not-an-account")
    with pytest.raises(TypeError, match="FollowUpPlan"):
        await client.follow_up(store, "hi", account_id=ACCOUNT)  # type: ignore[arg-type]
    assert fake.requests == []
    with pytest.raises(NotFoundError):
        await client.follow_up(store, PLAN, account_id="b" * 24, send=True)
    assert fake.actions == []


async def test_a_lossy_service_on_one_action_in_ten_causes_no_double_send(
    store: Store, tmp_path: Path
) -> None:
    import random

    from connectsafely_async.testing import make_visitors

    rng = random.Random(7)
    async with FakeConnectSafely(accounts={ACCOUNT: 0}) as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, rate_limits=None, timeout=0.3,
    ) as client:
        fake.set_visitors(ACCOUNT, make_visitors(120, account_id=ACCOUNT))
        await client.sync_visitors(store, account_id=ACCOUNT, time_range="ALL_TIME",
                                   clock=lambda: MONDAY)
        people = len(await store._call(ledger.unfollowed, ACCOUNT, 1000))
        faults = 0
        for _ in range(people):  # each action: a 1-in-10 chance its answer is lost
            if rng.random() < 0.1:
                fake.inject_action_fault(rng.choice(
                    [Fault(kind="reset"), Fault(status=502), Fault(delay=1.0)]))
                faults += 1
            else:
                fake.inject_action_fault(Fault(), performed=True)  # a normal answer
        report = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                        clock=lambda: MONDAY)
    assert faults
    counts = report.counts()
    once_each(fake)  # nobody twice
    # Each lost answer: an invitation checked (sent), a message reported unknown.
    lost_messages = counts.get("unknown", 0)
    assert counts.get("sent", 0) + lost_messages == len(fake.actions) == people
    assert lost_messages <= faults


async def test_a_plan_that_does_not_invite_leaves_the_others_for_one_that_does(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    only_messages = FollowUpPlan(message=PLAN.message, invite=False, pace=0)
    first = await client.follow_up(store, only_messages, account_id=ACCOUNT, send=True,
                                   clock=lambda: MONDAY)
    assert {a.kind for a in fake.actions} == {"message"}
    assert first.deferred
    assert all(i.action is None for i in first.deferred)
    then = await client.follow_up(store, PLAN, account_id=ACCOUNT, send=True,
                                  clock=lambda: MONDAY)
    assert {i.action for i in then.sent} == {"invitation"}
    assert len(then.sent) == len(first.deferred)
    once_each(fake)


async def test_a_preview_defers_what_the_budget_would_not_allow(
    client: AsyncConnectSafely, fake: FakeConnectSafely, store: Store
) -> None:
    await client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: MONDAY)
    plan = FollowUpPlan(message=PLAN.message, note=PLAN.note, pace=0,
                        caps=ActionCaps(messages_per_day=2, invitations_per_week=3))
    preview = await client.follow_up(store, plan, account_id=ACCOUNT, clock=lambda: MONDAY)
    would = Counter(i.action for i in preview.items if i.outcome == "would_send")
    assert would == {"message": 2, "invitation": 3}
    deferred = {i.action: i.reason for i in preview.deferred}
    assert deferred == {"message": "the message budget is spent for now",
                        "invitation": "the invitation budget is spent for now"}
    sent = await client.follow_up(store, plan, account_id=ACCOUNT, send=True,
                                  clock=lambda: MONDAY)
    assert Counter(i.action for i in sent.sent) == would  # the preview said what came
