"""The fake's follow-up calls: the documented per-account caps on its settable clock, the
24-hour invitation hold, the action ``X-RateLimit-*`` headers, and its record of actions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone

import aiohttp
import pytest

from connectsafely_async import (
    ActionOutcomeUnknownError,
    AsyncConnectSafely,
    RateLimitError,
    RetryPolicy,
)
from connectsafely_async.testing import FakeConnectSafely, Fault, PerformedAction

from .conftest import ACCOUNT, OTHER_ACCOUNT, FakeSleep, assert_no_open_connections

HOUR = 3600.0
DAY = 24 * HOUR
# Sunday 2026-12-06 12:00 UTC: the next Monday 00:00 is 12 hours away.
SUNDAY_NOON = datetime(2026, 12, 6, 12, tzinfo=timezone.utc).timestamp()


class Clock:
    """The fake's clock, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(SUNDAY_NOON)


@pytest.fixture
async def timed(clock: Clock) -> AsyncIterator[FakeConnectSafely]:
    async with FakeConnectSafely(accounts={ACCOUNT: 0, OTHER_ACCOUNT: 0}, clock=clock) as fake:
        for index in range(130):
            fake.add_person(f"friend-{index}", degree="1st")
            fake.add_person(f"stranger-{index}")
        yield fake
        await assert_no_open_connections(fake)


@pytest.fixture
async def client(timed: FakeConnectSafely, sleep: FakeSleep) -> AsyncIterator[AsyncConnectSafely]:
    async with AsyncConnectSafely(api_key=timed.api_key, base_url=timed.url, rate_limits=None,
                                  retry=RetryPolicy(sleep=sleep)) as sdk:
        yield sdk


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


# -- messages: 100 a day ----------------------------------------------------------------------


async def test_100_messages_a_day_then_429_until_midnight(
    timed: FakeConnectSafely, client: AsyncConnectSafely, clock: Clock, sleep: FakeSleep
) -> None:
    for index in range(100):
        sent = await client.send_message(f"friend-{index}", "Hi")
    assert sent.rate_limit is not None
    assert (sent.rate_limit.used, sent.rate_limit.remaining) == (100, 0)
    with pytest.raises(RateLimitError, match="Daily message limit") as capped:
        await client.send_message("friend-100", "Hi")
    assert capped.value.hold_until is None
    assert capped.value.retry_after == 12 * HOUR  # until midnight UTC, far past max_wait
    assert sleep.waits == []
    # Another account has its own 100.
    await client.send_message("friend-100", "Hi", account_id=OTHER_ACCOUNT)
    clock.now += 12 * HOUR  # Monday 00:00: a new day
    await client.send_message("friend-100", "Hi")
    assert [a.account_id for a in timed.actions].count(ACCOUNT) == 101


# -- invitations: 90 a week, then held 24 hours -------------------------------------------------


async def test_invitations_past_the_week_cap_are_held_a_day_across_monday(
    timed: FakeConnectSafely, client: AsyncConnectSafely, clock: Clock
) -> None:
    for index in range(90):
        await client.send_invitation(f"stranger-{index}")
    with pytest.raises(RateLimitError, match="blocked for 24 hours") as held:
        await client.send_invitation("stranger-90")
    assert held.value.hold_until == at(SUNDAY_NOON + DAY)
    # Monday 06:00: a new week, but the hold stands, and trying extends it.
    clock.now = SUNDAY_NOON + 18 * HOUR
    with pytest.raises(RateLimitError) as still:
        await client.send_invitation("stranger-90")
    assert still.value.hold_until == at(clock.now + DAY)
    clock.now += DAY - 1
    with pytest.raises(RateLimitError):
        await client.send_invitation("stranger-90")
    # Past the (extended) hold, in the new week, with a full cap again.
    clock.now += DAY + 1
    sent = await client.send_invitation("stranger-90")
    assert sent.rate_limit is not None
    assert (sent.rate_limit.used, sent.rate_limit.remaining) == (1, 89)
    assert sent.rate_limit.reset_at == at(SUNDAY_NOON + 12 * HOUR + 7 * DAY)  # next Monday
    assert [a.kind for a in timed.actions] == ["invitation"] * 91


async def test_the_week_resets_on_monday_midnight(
    timed: FakeConnectSafely, client: AsyncConnectSafely, clock: Clock
) -> None:
    clock.now = SUNDAY_NOON - 5 * DAY  # Tuesday
    for index in range(89):
        await client.send_invitation(f"stranger-{index}")
    clock.now = SUNDAY_NOON + 12 * HOUR - 1  # Sunday 23:59:59: one left this week
    sent = await client.send_invitation("stranger-89")
    assert sent.rate_limit is not None
    assert sent.rate_limit.remaining == 0
    clock.now += 1  # Monday 00:00:00
    sent = await client.send_invitation("stranger-90")
    assert sent.rate_limit is not None
    assert sent.rate_limit.used == 1


# -- profiles: 120 unique in any 24 hours ------------------------------------------------------


async def test_120_unique_profiles_a_rolling_day_cache_hits_free(
    client: AsyncConnectSafely, clock: Clock
) -> None:
    for index in range(119):
        await client.fetch_profile(f"stranger-{index}")
        clock.now += 60
    await client.fetch_profile("stranger-0")  # within 6 hours: the cache, free
    await client.fetch_profile("stranger-0", force_refresh=True)  # counts, but not twice
    last = await client.fetch_profile("stranger-119")
    assert last.rate_limit is not None
    assert (last.rate_limit.used, last.rate_limit.remaining) == (120, 0)
    with pytest.raises(RateLimitError, match="Maximum 120 unique profiles per day"):
        await client.fetch_profile("stranger-120")
    await client.fetch_profile("stranger-5")  # already counted today: allowed
    clock.now = SUNDAY_NOON + DAY + 1  # stranger-0 left the rolling day, but was refreshed
    with pytest.raises(RateLimitError):
        await client.fetch_profile("stranger-120")
    clock.now += 60  # stranger-1 left it
    await client.fetch_profile("stranger-120")


# -- the record, the headers, the scripting -----------------------------------------------------


async def test_each_action_is_recorded_with_the_fakes_clock(
    timed: FakeConnectSafely, client: AsyncConnectSafely, clock: Clock
) -> None:
    await client.send_message("urn:li:fsd_profile:friend-1", "Hi", account_id=OTHER_ACCOUNT)
    clock.now += 30
    await client.send_invitation("stranger-1")
    assert timed.actions == [
        PerformedAction(OTHER_ACCOUNT, "message", "friend-1", "Hi", at(SUNDAY_NOON)),
        PerformedAction(ACCOUNT, "invitation", "stranger-1", None, at(SUNDAY_NOON + 30)),
    ]
    timed.actions.clear()  # a copy: the fake's record is its own
    assert len(timed.actions) == 2


async def test_action_answers_carry_the_actions_rate_limit_headers(
    timed: FakeConnectSafely,
) -> None:
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {timed.api_key}"}
    ) as http, http.post(f"{timed.url}/linkedin/message",
                         json={"recipientProfileId": "friend-1", "message": "Hi"}) as answer:
        assert answer.status == 200
        assert answer.headers["X-RateLimit-Action"] == "message"
        assert answer.headers["X-RateLimit-Limit"] == "100"
        assert answer.headers["X-RateLimit-Used"] == "1"
        assert answer.headers["X-RateLimit-Remaining"] == "99"
        assert answer.headers["X-RateLimit-Reset"] == "2026-12-07T00:00:00.000Z"


async def test_action_faults_wait_for_their_kind(
    timed: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    timed.inject_action_fault(Fault(status=500), kind="message", performed=False)
    await client.send_invitation("stranger-1")  # not a message: answered normally
    await client.get_account_status()  # nor is a read
    with pytest.raises(ActionOutcomeUnknownError):  # a 500: the SDK cannot know
        await client.send_message("friend-1", "Hi")
    assert [a.kind for a in timed.actions] == ["invitation"]


def test_bad_scripting_is_refused() -> None:
    fake = FakeConnectSafely()
    with pytest.raises(ValueError, match="times"):
        fake.inject_action_fault(Fault(), times=0)
    with pytest.raises(ValueError, match="kind"):
        fake.inject_action_fault(Fault(), kind="profile")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        fake.set_account_status(OTHER_ACCOUNT, premium=False)
    with pytest.raises(TypeError, match="clock"):
        FakeConnectSafely(clock=12.0)  # type: ignore[arg-type]
