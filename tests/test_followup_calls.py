"""The follow-up calls over real loopback HTTP against the fake: answers, errors, bad input.

Each call's happy path, each documented error the fake can give, the two 403s told apart,
and every bad argument refused before a single request leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectsafely_async import (
    ActionOutcomeUnknownError,
    AsyncConnectSafely,
    AuthenticationError,
    BadRequestError,
    ConnectSafely,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
)
from connectsafely_async.testing import FakeConnectSafely, Fault, serve_in_thread

from .conftest import ACCOUNT, OTHER_ACCOUNT

UNKNOWN_ACCOUNT = "0" * 24


def person(
    fake: FakeConnectSafely, degree: str | None, *, account: str = ACCOUNT
) -> dict[str, Any]:
    """A named visitor of ``account`` with this connection degree."""
    return next(
        v for v in fake.visitors(account)
        if v.get("publicIdentifier") and v.get("connectionDegree") == degree
    )


def paths(fake: FakeConnectSafely) -> list[str]:
    return [request.path for request in fake.requests]


# -- account status ---------------------------------------------------------------------------


async def test_account_status_of_the_default_and_of_a_named_account(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    status = await client.get_account_status()
    assert status.id == ACCOUNT
    assert status.is_available
    assert status.visitors_allowed is True
    other = await client.get_account_status(OTHER_ACCOUNT)
    assert other.id == OTHER_ACCOUNT
    assert paths(fake) == ["/linkedin/account/status",
                           f"/linkedin/account/{OTHER_ACCOUNT}/status"]


async def test_account_status_tells_before_a_walk_that_visitors_will_be_refused(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.set_account_status(ACCOUNT, premium=False)
    status = await client.get_account_status(ACCOUNT)
    assert status.visitors_allowed is False
    with pytest.raises(PermissionDeniedError) as refused:
        await client.get_visitors(account_id=ACCOUNT)
    assert refused.value.reason == "premium_required"


async def test_an_account_needing_attention_has_no_plan(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.set_account_status(ACCOUNT, status="ERROR")
    status = await client.get_account_status(ACCOUNT)
    assert status.status == "ERROR"
    assert not status.is_available
    assert status.visitors_allowed is None


async def test_a_trial_that_expired_is_not_a_premium_problem(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.trial_expired = True
    for call in (client.get_account_status(), client.get_visitors(),
                 client.get_relationship("jane")):
        with pytest.raises(PermissionDeniedError) as refused:
            await call
        assert refused.value.reason == "trial_expired"
        assert refused.value.status_code == 403


async def test_an_unknown_account_is_404(client: AsyncConnectSafely) -> None:
    with pytest.raises(NotFoundError, match="No LinkedIn account found"):
        await client.get_account_status(UNKNOWN_ACCOUNT)
    with pytest.raises(NotFoundError, match="not found or not accessible"):
        await client.get_relationship("jane", account_id=UNKNOWN_ACCOUNT)


async def test_a_wrong_key_is_401(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(api_key="wrong", base_url=fake.url, rate_limits=None) as bad:
        with pytest.raises(AuthenticationError):
            await bad.send_message("jane", "Hi")
    assert fake.actions == []


# -- relationship -----------------------------------------------------------------------------


async def test_relationship_of_a_connection_and_of_someone_invited(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    friend, stranger = person(fake, "1st"), person(fake, "2nd")
    known = await client.get_relationship(friend["publicIdentifier"], account_id=ACCOUNT)
    assert known.connected
    assert not known.invitation_sent
    assert known.profile_urn == friend["entityUrn"]
    before = await client.get_relationship(stranger["publicIdentifier"])
    assert not before.invited_or_connected
    assert before.status == "NOT_CONNECTED"
    await client.send_invitation(stranger["entityUrn"])
    after = await client.get_relationship(stranger["publicIdentifier"])
    assert after.invitation_sent
    assert after.invited_or_connected
    assert fake.requests[1].path == f"/linkedin/relationship/{stranger['publicIdentifier']}"
    assert fake.requests[0].path == (
        f"/linkedin/relationship/{ACCOUNT}/{friend['publicIdentifier']}")


async def test_relationship_with_nobody_is_404(client: AsyncConnectSafely) -> None:
    with pytest.raises(NotFoundError, match="LinkedIn profile not found: nobody-at-all"):
        await client.get_relationship("nobody-at-all")


# -- message ----------------------------------------------------------------------------------


async def test_a_message_to_a_connection_goes_out_once(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    friend = person(fake, "1st")
    sent = await client.send_message(friend["entityUrn"], "Thanks for looking!")
    assert sent.recipient_profile_urn == friend["entityUrn"]
    assert sent.rate_limit is not None
    assert (sent.rate_limit.action, sent.rate_limit.limit, sent.rate_limit.remaining) == (
        "message", 100, 99)
    assert fake.requests[-1].json == {"recipientProfileUrn": friend["entityUrn"],
                                      "message": "Thanks for looking!", "messageType": "normal"}
    [action] = fake.actions
    assert (action.account_id, action.kind, action.recipient, action.text) == (
        ACCOUNT, "message", friend["publicIdentifier"], "Thanks for looking!")


async def test_a_normal_message_to_a_stranger_is_refused_and_an_inmail_is_not(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    stranger = person(fake, "2nd")["publicIdentifier"]
    with pytest.raises(BadRequestError, match="not a 1st-degree connection"):
        await client.send_message(stranger, "Hi")
    assert fake.actions == []
    await client.send_message(stranger, "Hi", message_type="inmail", subject="Hello",
                              account_id=ACCOUNT)
    assert fake.requests[-1].json["subject"] == "Hello"
    assert [a.kind for a in fake.actions] == ["message"]


async def test_a_message_to_nobody_is_404(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    with pytest.raises(NotFoundError):
        await client.send_message("urn:li:fsd_profile:nobody", "Hi")
    assert fake.actions == []


async def test_an_inmail_without_premium_is_refused(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    fake.set_account_status(ACCOUNT, premium=False)
    with pytest.raises(BadRequestError, match="InMail"):
        await client.send_message(person(fake, "2nd")["publicIdentifier"], "Hi",
                                  message_type="inmail", subject="Hello")


# -- invitation -------------------------------------------------------------------------------


async def test_an_invitation_carries_its_note(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    stranger = person(fake, "3rd")
    sent = await client.send_invitation(stranger["entityUrn"], note="Saw you visited!")
    assert sent.message == "Connection request sent successfully"
    assert sent.invitation_id is not None
    assert sent.fields["invitationId"] == sent.invitation_id
    assert sent.rate_limit is not None
    assert (sent.rate_limit.action, sent.rate_limit.remaining) == ("invitation", 89)
    assert fake.requests[-1].json == {"profileUrn": stranger["entityUrn"],
                                      "customMessage": "Saw you visited!"}
    [action] = fake.actions
    assert (action.kind, action.recipient, action.text) == (
        "invitation", stranger["publicIdentifier"], "Saw you visited!")


async def test_inviting_a_connection_or_twice_is_refused(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    with pytest.raises(BadRequestError, match="already connected"):
        await client.send_invitation(person(fake, "1st")["publicIdentifier"])
    stranger = person(fake, "2nd")["publicIdentifier"]
    await client.send_invitation(stranger)
    with pytest.raises(BadRequestError, match="already connected"):
        await client.send_invitation(stranger)
    assert len(fake.actions) == 1


async def test_an_invitation_to_nobody_is_404(client: AsyncConnectSafely) -> None:
    with pytest.raises(NotFoundError, match="Profile not found"):
        await client.send_invitation("nobody-at-all")


# -- profile ----------------------------------------------------------------------------------


async def test_a_profile_with_its_parts(
    fake: FakeConnectSafely, client: AsyncConnectSafely
) -> None:
    someone = fake.add_person("jane-doe", name="Jane Doe", headline="CTO at Acme")
    profile = await client.fetch_profile("jane-doe", include_experience=True,
                                         include_geo_location=True, include_contact=True)
    assert (profile.first_name, profile.last_name, profile.headline) == ("Jane", "Doe",
                                                                         "CTO at Acme")
    assert profile.public_identifier == "jane-doe"
    assert [e.employer for e in profile.experience] == ["Tiny Startup", "Big Corp"]
    assert profile.geo_location is not None
    assert profile.fields["entityUrn"] == someone["entityUrn"]  # unknown fields kept
    assert profile.fields["contact"] == {"email": "jane-doe@example.com"}
    assert fake.requests[-1].json == {"profileId": "jane-doe", "includeGeoLocation": True,
                                      "includeContact": True, "includeExperience": True}
    bare = await client.fetch_profile("jane-doe")
    assert bare.experience == ()
    assert bare.rate_limit is not None
    assert bare.rate_limit.used == 1  # the second fetch came from the cache


async def test_a_profile_of_nobody_is_404(client: AsyncConnectSafely) -> None:
    with pytest.raises(NotFoundError, match="Profile not found"):
        await client.fetch_profile("nobody-at-all")


# -- bad input: refused before any request -----------------------------------------------------


BAD_CALLS = [
    ("send_message", ("jane", ""), {}, ValueError, "empty"),
    ("send_message", ("jane", "   "), {}, ValueError, "empty"),
    ("send_message", ("jane", "Hi"), {"message_type": "inmail"}, ValueError, "subject"),
    ("send_message", ("jane", "Hi"), {"message_type": "InMail"}, ValueError, "message_type"),
    ("send_message", ("", "Hi"), {}, ValueError, "recipient"),
    ("send_message", (None, "Hi"), {}, TypeError, "recipient"),
    ("send_message", ("jane", "Hi"), {"account_id": "abc"}, ValueError, "account_id"),
    ("send_invitation", ("jane",), {"note": "x" * 301}, ValueError, "at most 300"),
    ("send_invitation", ("jane",), {"account_id": "../x"}, ValueError, "account_id"),
    ("send_invitation", ("urn:li:fsd_profile:x",), {"public_id": "urn:li:x"}, ValueError,
     "public_id"),
    ("get_relationship", ("urn:li:fsd_profile:x",), {}, ValueError, "not a URN"),
    ("get_relationship", ("jane doe",), {}, ValueError, "profile_id"),
    ("get_account_status", (ACCOUNT[:-1],), {}, ValueError, "24 hexadecimal"),
    ("fetch_profile", ("jane",), {"include_skills": 1}, TypeError, "include_skills"),
    ("fetch_profile", ("",), {}, ValueError, "profile_id"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "error", "match"), BAD_CALLS)
async def test_bad_input_is_refused_with_zero_requests(
    fake: FakeConnectSafely, client: AsyncConnectSafely, method: str, args: tuple[Any, ...],
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        await getattr(client, method)(*args, **kwargs)
    assert fake.requests == []


async def test_a_malformed_default_account_is_refused_too(fake: FakeConnectSafely) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None,
                                  account_id="my-account") as odd:
        with pytest.raises(ValueError, match="account_id"):
            await odd.send_message("jane", "Hi")
    assert fake.requests == []


# -- the blocking twins ----------------------------------------------------------------------


@pytest.fixture
def threaded_fake() -> Iterator[FakeConnectSafely]:
    with serve_in_thread(FakeConnectSafely(accounts={ACCOUNT: 45})) as server:
        yield server


def test_the_blocking_client_has_the_same_calls(threaded_fake: FakeConnectSafely) -> None:
    fake = threaded_fake
    friend, stranger = person(fake, "1st"), person(fake, "2nd")
    with ConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None,
                       retry=RetryPolicy(initial_delay=0)) as client:
        assert client.get_account_status().visitors_allowed is True
        assert client.get_relationship(friend["publicIdentifier"]).connected
        assert client.send_message(friend["entityUrn"], "Hi").success
        assert client.send_invitation(stranger["publicIdentifier"], note="Hello").success
        assert client.fetch_profile(stranger["publicIdentifier"]).public_identifier == (
            stranger["publicIdentifier"])
        with pytest.raises(ValueError, match="at most 300"):
            client.send_invitation(stranger["publicIdentifier"], note="x" * 301)
    assert [a.kind for a in fake.actions] == ["message", "invitation"]


def test_the_blocking_client_never_sends_an_action_twice_either(
    threaded_fake: FakeConnectSafely,
) -> None:
    fake = threaded_fake
    friend, stranger = person(fake, "1st"), person(fake, "2nd")
    fake.inject_action_fault(Fault(status=502), kind="message")
    fake.inject_action_fault(Fault(kind="reset"), kind="invitation")
    with ConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None,
                       retry=RetryPolicy(initial_delay=0)) as client:
        with pytest.raises(ActionOutcomeUnknownError):
            client.send_message(friend["publicIdentifier"], "Hi")
        assert client.send_invitation(stranger["publicIdentifier"]).confirmed_by_relationship
    assert [a.kind for a in fake.actions] == ["message", "invitation"]
    assert [r.path for r in fake.requests].count("/linkedin/message") == 1
