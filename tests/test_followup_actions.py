"""No blind retry of an action: a message or an invitation is sent at most once by the SDK.

The fake performs the action and then loses the answer (a timeout, a reset, a 5xx); its own
record of performed actions counts the sends. An invitation is resolved through the
relationship call, a message is reported unknown; what provably never left (no connection)
and a 429 without ``holdUntil`` are retried as reads are; a 429 with ``holdUntil`` is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectsafely_async import (
    ActionOutcomeUnknownError,
    APIConnectionError,
    APITimeoutError,
    AsyncConnectSafely,
    InternalServerError,
    RateLimitError,
    RequestNotSentError,
    RetryPolicy,
)
from connectsafely_async.testing import FakeConnectSafely, Fault

from .conftest import ACCOUNT, FakeSleep, assert_no_open_connections
from .servers import free_port
from .test_followup_calls import person

# What happens after the fake performed the action: the answer never comes back whole.
LOST_ANSWERS = {
    "timeout": (Fault(delay=5.0), APITimeoutError),
    "reset": (Fault(kind="reset"), APIConnectionError),
    "truncated": (Fault(kind="truncate"), APIConnectionError),
    "502 page": (Fault(status=502, text="<h1>Bad Gateway</h1>", content_type="text/html"),
                 InternalServerError),
    "500": (Fault(status=500, json={"success": False, "error": "Internal error"}),
            InternalServerError),
}


def sends(fake: FakeConnectSafely, path: str) -> int:
    return sum(request.path == path for request in fake.requests)


@pytest.fixture
async def patient(
    fake: FakeConnectSafely, sleep: FakeSleep
) -> AsyncIterator[AsyncConnectSafely]:
    """A client that would retry a read 5 times, with a short timeout for the lost answers."""
    async with AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, retry=RetryPolicy(sleep=sleep),
        rate_limits=None, max_retries=5, timeout=0.5,
    ) as sdk:
        yield sdk


@pytest.mark.parametrize("lost", LOST_ANSWERS.values(), ids=list(LOST_ANSWERS))
async def test_a_message_whose_answer_was_lost_is_reported_unknown_and_sent_once(
    fake: FakeConnectSafely, patient: AsyncConnectSafely, sleep: FakeSleep,
    lost: tuple[Fault, type[Exception]],
) -> None:
    fault, cause = lost
    friend = person(fake, "1st")
    fake.inject_action_fault(fault, kind="message")
    with pytest.raises(ActionOutcomeUnknownError) as unknown:
        await patient.send_message(friend["entityUrn"], "Thanks for looking!")
    assert isinstance(unknown.value.cause, cause)
    action = unknown.value.action
    assert (action.kind, action.recipient, action.text, action.message_type) == (
        "message", friend["entityUrn"], "Thanks for looking!", "normal")
    # Performed once by the service, sent once by the SDK, never retried.
    assert [(a.kind, a.recipient) for a in fake.actions] == [
        ("message", friend["publicIdentifier"])]
    assert sends(fake, "/linkedin/message") == 1
    assert sleep.waits == []


async def test_the_same_lost_answer_on_a_read_is_retried(
    fake: FakeConnectSafely, patient: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    # The contrast that shows the test above could fail: reads go on retrying.
    fake.inject(Fault(status=502, text="<h1>Bad Gateway</h1>", content_type="text/html"))
    page = await patient.get_visitors(max_visitors=5)
    assert len(page.visitors) == 5
    assert len(sleep.waits) == 1


async def test_a_message_is_sent_again_only_when_the_caller_says_so(
    fake: FakeConnectSafely, patient: AsyncConnectSafely
) -> None:
    friend = person(fake, "1st")
    fake.inject_action_fault(Fault(kind="reset"))
    with pytest.raises(ActionOutcomeUnknownError) as unknown:
        await patient.send_message(friend["publicIdentifier"], "Hello")
    action = unknown.value.action
    await patient.send_message(action.recipient, action.text or "", account_id=action.account_id)
    assert [a.text for a in fake.actions] == ["Hello", "Hello"]  # the caller's choice


@pytest.mark.parametrize("lost", LOST_ANSWERS.values(), ids=list(LOST_ANSWERS))
async def test_an_invitation_whose_answer_was_lost_is_confirmed_by_the_relationship(
    fake: FakeConnectSafely, patient: AsyncConnectSafely, sleep: FakeSleep,
    lost: tuple[Fault, type[Exception]],
) -> None:
    stranger = person(fake, "2nd")
    fake.inject_action_fault(lost[0], kind="invitation")
    sent = await patient.send_invitation(stranger["publicIdentifier"], note="Hi!")
    assert sent.confirmed_by_relationship
    assert [(a.kind, a.text) for a in fake.actions] == [("invitation", "Hi!")]
    assert sends(fake, "/linkedin/connect") == 1
    assert fake.requests[-1].path == f"/linkedin/relationship/{stranger['publicIdentifier']}"
    assert sleep.waits == []


async def test_an_invitation_by_urn_is_checked_by_its_public_id(
    fake: FakeConnectSafely, patient: AsyncConnectSafely
) -> None:
    stranger = person(fake, "2nd")
    fake.inject_action_fault(Fault(status=503))
    sent = await patient.send_invitation(stranger["entityUrn"],
                                         public_id=stranger["publicIdentifier"])
    assert sent.confirmed_by_relationship
    assert fake.requests[0].json == {"profileUrn": stranger["entityUrn"]}
    assert len(fake.actions) == 1


async def test_an_invitation_by_urn_alone_cannot_be_checked(
    fake: FakeConnectSafely, patient: AsyncConnectSafely
) -> None:
    stranger = person(fake, "2nd")
    fake.inject_action_fault(Fault(kind="reset"))
    with pytest.raises(ActionOutcomeUnknownError, match="no public id") as unknown:
        await patient.send_invitation(stranger["entityUrn"], note="Hi")
    assert unknown.value.check_error is None
    assert (unknown.value.action.kind, unknown.value.action.text) == ("invitation", "Hi")
    assert len(fake.actions) == 1
    assert len(fake.requests) == 1  # no check, no resend


async def test_an_invitation_the_relationship_shows_unsent_raises_its_own_error(
    fake: FakeConnectSafely, patient: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    # The service failed before acting: the check finds nothing, and the error says so.
    stranger = person(fake, "2nd")
    fake.inject_action_fault(Fault(status=500), performed=False)
    with pytest.raises(InternalServerError):
        await patient.send_invitation(stranger["publicIdentifier"])
    assert fake.actions == []
    assert [r.path for r in fake.requests] == [
        "/linkedin/connect", f"/linkedin/relationship/{stranger['publicIdentifier']}"]
    assert sleep.waits == []


async def test_an_invitation_whose_check_fails_is_reported_unknown(sleep: FakeSleep) -> None:
    # One request a minute: the invitation passes, the relationship check is throttled.
    async with FakeConnectSafely(accounts={ACCOUNT: 45}, rate_limit=1) as fake:
        stranger = person(fake, "2nd")
        fake.inject_action_fault(Fault(kind="reset"))
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=fake.url, retry=RetryPolicy(sleep=sleep),
            rate_limits=None, max_retries=1,
        ) as client:
            with pytest.raises(ActionOutcomeUnknownError, match="check failed") as unknown:
                await client.send_invitation(stranger["publicIdentifier"])
        assert isinstance(unknown.value.check_error, RateLimitError)
        assert isinstance(unknown.value.cause, APIConnectionError)
        assert len(fake.actions) == 1
        assert sends(fake, "/linkedin/connect") == 1
        await assert_no_open_connections(fake)


async def test_a_request_that_never_left_is_sent_again() -> None:
    # Nothing listens on the port until the first wait: the connection is refused, so the
    # message provably never left, and the retry (once the fake is up) sends it once.
    port = free_port()
    fake = FakeConnectSafely(accounts={ACCOUNT: 45})
    waits: list[float] = []

    async def start_then_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            await fake.start(port=port)

    try:
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=f"http://127.0.0.1:{port}", rate_limits=None,
            retry=RetryPolicy(sleep=start_then_wait), max_retries=2,
        ) as client:
            sent = await client.send_message(person(fake, "1st")["publicIdentifier"], "Hi")
        assert sent.success
        assert len(waits) == 1
        assert len(fake.actions) == 1
    finally:
        await fake.close()


async def test_a_refused_connection_after_every_retry_is_not_sent(sleep: FakeSleep) -> None:
    async with AsyncConnectSafely(
        api_key="key", base_url=f"http://127.0.0.1:{free_port()}", rate_limits=None,
        retry=RetryPolicy(sleep=sleep), max_retries=2,
    ) as client:
        with pytest.raises(RequestNotSentError):
            await client.send_invitation("jane-doe")
    assert len(sleep.waits) == 2  # retried as a read is, and reported as not sent


async def test_a_429_without_hold_is_retried_as_a_read_is(
    fake: FakeConnectSafely, patient: AsyncConnectSafely, sleep: FakeSleep
) -> None:
    throttled = Fault(status=429, json={"success": False, "error": "Rate limit exceeded"},
                      headers={"Retry-After": "2"})
    fake.inject_action_fault(throttled, performed=False, kind="invitation")
    sent = await patient.send_invitation(person(fake, "2nd")["publicIdentifier"])
    assert not sent.confirmed_by_relationship
    assert sleep.waits == [2.0]
    assert sends(fake, "/linkedin/connect") == 2
    assert len(fake.actions) == 1


async def test_a_held_invitation_is_not_retried_and_says_until_when(sleep: FakeSleep) -> None:
    now = 1_796_731_200.0  # Tuesday 2026-12-08 12:00 UTC
    async with FakeConnectSafely(accounts={ACCOUNT: 0}, clock=lambda: now) as fake:
        for index in range(91):
            fake.add_person(f"person-{index}")
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=fake.url, retry=RetryPolicy(sleep=sleep),
            rate_limits=None, max_retries=5,
        ) as client:
            for index in range(90):
                await client.send_invitation(f"person-{index}")
            with pytest.raises(RateLimitError) as held:
                await client.send_invitation("person-90")
        assert held.value.hold_until is not None
        assert held.value.hold_until.timestamp() == now + 86400
        assert sleep.waits == []
        assert sends(fake, "/linkedin/connect") == 91
        assert len(fake.actions) == 90


async def test_a_spent_action_quota_does_not_pause_the_keys_reads() -> None:
    from datetime import datetime, timedelta, timezone

    from connectsafely_async import AsyncConnectSafely, RateLimitError, RateLimits
    from connectsafely_async.testing import FakeConnectSafely, Fault

    account = "696ce9e780e0483585e4e553"
    hold = (datetime.now(timezone.utc) + timedelta(hours=24)).isoformat()
    async with FakeConnectSafely(accounts={account: 10}) as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, rate_limits=RateLimits(),
    ) as client:
        person = fake.visitors(account)[0]["publicIdentifier"]
        fake.inject_action_fault(Fault(status=429, json={
            "success": False, "error": "Connection requests blocked for 24 hours",
            "holdUntil": hold}, headers={"X-RateLimit-Remaining": "0",
                                         "X-RateLimit-Reset": hold}), performed=False)
        with pytest.raises(RateLimitError):
            await client.send_invitation(person, account_id=account)
        walk = client.iter_visitor_pages(account_id=account)
        pages = [page async for page in walk]
    assert pages
    assert walk.stats.rate_limit_wait_seconds < 1  # the key was not paused for the hold
