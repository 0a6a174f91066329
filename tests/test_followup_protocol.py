"""The follow-up calls' pure layer: requests built and answers read, with bytes alone.

Every documented answer shape of account status, relationship, message, invitation and
profile, every documented error shape, the rule that says whether a failed action may have
been performed, and the parsers under the same hostile-answer fuzzing as the visitors page.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from multidict import CIMultiDict, CIMultiDictProxy

from connectsafely_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConnectSafelyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    RequestNotSentError,
    ResponseDecodeError,
    ResponseValidationError,
)
from connectsafely_async._protocol import HttpResponse, check_account_id, check_person
from connectsafely_async._protocol.account_status import (
    AccountStatus,
    build_account_status_request,
    parse_account_status,
)
from connectsafely_async._protocol.invitation import (
    build_invitation_request,
    check_note,
    parse_sent_invitation,
)
from connectsafely_async._protocol.message import (
    build_message_request,
    check_message,
    parse_sent_message,
)
from connectsafely_async._protocol.profile import (
    ProfileIncludes,
    build_profile_request,
    parse_profile,
)
from connectsafely_async._protocol.relationship import (
    build_relationship_request,
    parse_relationship,
)
from connectsafely_async._retry import ActionRetryPolicy, RetryPolicy, may_have_acted

from .test_protocol_fuzz import FUZZ, answer, assert_clean, bodies, headers, statuses

ACCOUNT = "696ce9e780e0483585e4e553"
RECEIVED = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
URN = "urn:li:fsd_profile:ACoAADlVtYMBLWFFOJ1ezKvVfycTiiAjoFmMK68"


def reply(status: int, body: Any, **extra: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header_map = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json", **extra}))
    return HttpResponse(status, header_map, raw, received_at=RECEIVED)


def body_of(request: Any) -> Any:
    return json.loads(request.body)


# -- requests -----------------------------------------------------------------------------------


def test_account_status_request_puts_the_account_in_the_path() -> None:
    assert build_account_status_request().path == "/linkedin/account/status"
    request = build_account_status_request(ACCOUNT)
    assert (request.method, request.path) == ("GET", f"/linkedin/account/{ACCOUNT}/status")


def test_relationship_request_quotes_the_person_into_the_path() -> None:
    assert build_relationship_request("jane-doe").path == "/linkedin/relationship/jane-doe"
    request = build_relationship_request("a/b?c", ACCOUNT)
    assert request.path == f"/linkedin/relationship/{ACCOUNT}/a%2Fb%3Fc"


def test_message_request_prefers_the_urn_field_for_a_urn() -> None:
    by_urn = body_of(build_message_request(URN, "Hi", account_id=ACCOUNT))
    assert by_urn == {"accountId": ACCOUNT, "recipientProfileUrn": URN, "message": "Hi",
                      "messageType": "normal"}
    by_id = body_of(build_message_request("jane-doe", "Hi", message_type="inmail",
                                          subject="Hello"))
    assert by_id == {"recipientProfileId": "jane-doe", "message": "Hi",
                     "messageType": "inmail", "subject": "Hello"}


def test_invitation_request_sends_the_note_as_custom_message() -> None:
    # The vendor's own template writes a note and never sends it: here it is in the body.
    assert body_of(build_invitation_request(URN, note="Glad you looked!")) == {
        "profileUrn": URN, "customMessage": "Glad you looked!"}
    assert body_of(build_invitation_request("jane-doe", account_id=ACCOUNT)) == {
        "accountId": ACCOUNT, "profileId": "jane-doe"}


def test_profile_request_sends_only_the_flags_asked_for() -> None:
    request = build_profile_request(
        "jane-doe", includes=ProfileIncludes(experience=True, force_refresh=True)
    )
    assert (request.method, request.path) == ("POST", "/linkedin/profile")
    assert body_of(request) == {"profileId": "jane-doe", "includeExperience": True,
                                "forceRefresh": True}


def test_a_lone_surrogate_still_encodes() -> None:
    assert body_of(build_message_request("jane-doe", "bad \ud800 text"))["message"] == (
        "bad \ud800 text")


# -- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [("abc", ValueError), ("g" * 24, ValueError), (ACCOUNT + "0", ValueError),
     (f"../{ACCOUNT[3:]}", ValueError), (12, TypeError)],
)
def test_a_malformed_account_id_is_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="account_id"):
        check_account_id(value)


def test_account_ids_and_people_that_pass() -> None:
    assert check_account_id(None) is None
    assert check_account_id(ACCOUNT.upper()) == ACCOUNT.upper()
    assert check_person("recipient", URN) == URN
    for bad in ("", "two words", "tab\there"):
        with pytest.raises(ValueError, match="recipient"):
            check_person("recipient", bad)


def test_message_checks() -> None:
    assert check_message("Hi", message_type="normal", subject=None) == ("Hi", "normal", None)
    for message, kind, subject, match in [
        ("", "normal", None, "empty"), ("  \n", "normal", None, "empty"),
        ("Hi", "inmail", None, "subject"), ("Hi", "inmail", " ", "subject"),
        ("Hi", "email", None, "message_type"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_message(message, message_type=kind, subject=subject)
    with pytest.raises(TypeError, match="message"):
        check_message(None, message_type="normal", subject=None)


def test_note_checks() -> None:
    assert check_note(None) is None
    assert check_note("") is None  # empty: no note
    assert check_note("x" * 300) == "x" * 300
    with pytest.raises(ValueError, match="at most 300 characters, got 301"):
        check_note("x" * 301)
    with pytest.raises(TypeError, match="note"):
        check_note(b"bytes")


# -- answers ------------------------------------------------------------------------------------


def test_account_status_with_a_plan_that_predicts_the_visitors_refusal() -> None:
    status = parse_account_status(reply(200, {
        "id": ACCOUNT, "firstName": "Jane", "lastName": "Doe", "publicId": "jane-doe",
        "platform": "LINKEDIN", "status": "AVAILABLE", "enabled": True,
        "lastUsed": "2026-12-01T10:00:00Z", "hasTokens": True,
        "linkedinPlan": {"premiumType": "NON_PREMIUM", "isPremium": False,
                         "hasSalesNavigator": False, "somethingNew": 1},
    }))
    assert status.is_available
    assert status.visitors_allowed is False
    assert status.linkedin_plan is not None
    assert status.linkedin_plan.premium_type == "NON_PREMIUM"
    assert status.last_used == datetime(2026, 12, 1, 10, tzinfo=timezone.utc)


def test_account_status_without_a_plan_cannot_tell_and_unknown_statuses_pass() -> None:
    status = parse_account_status(reply(200, {"id": ACCOUNT, "status": "WARMUP",
                                              "lastUsed": 1764583200000}))
    assert status == AccountStatus(id=ACCOUNT, status="WARMUP")
    assert status.visitors_allowed is None
    assert not status.is_available


def test_account_status_that_does_not_fit_names_the_field() -> None:
    with pytest.raises(ResponseValidationError, match=r"\$\.linkedinPlan\.isPremium"):
        parse_account_status(reply(200, {"linkedinPlan": {"isPremium": "yes"}}))


def test_relationship_current_and_older_shapes() -> None:
    current = parse_relationship(reply(200, {
        "connected": False, "invitationSent": True, "invitationReceived": False,
        "status": "NOT_CONNECTED", "profileUrn": URN, "accountId": ACCOUNT}))
    assert current.invited_or_connected
    assert current.profile_urn == URN
    older = parse_relationship(reply(200, {"connected": True, "following": True,
                                           "follower": False, "connectionDegree": 1}))
    assert older.connection_degree == "1"
    assert older.invited_or_connected
    nothing = parse_relationship(reply(200, {"connected": False, "invitationSent": False}))
    assert not nothing.invited_or_connected


def test_sent_message_carries_what_is_left_of_the_day() -> None:
    sent = parse_sent_message(reply(
        200, {"success": True, "message": "Message sent successfully",
              "recipientProfileUrn": URN, "rateLimit": "not ours"},
        **{"X-RateLimit-Action": "message", "X-RateLimit-Limit": "100",
           "X-RateLimit-Remaining": "37", "X-RateLimit-Reset": "2026-12-03T00:00:00Z"}))
    assert sent.recipient_profile_urn == URN
    assert sent.rate_limit is not None
    assert (sent.rate_limit.action, sent.rate_limit.remaining) == ("message", 37)


def test_sent_invitation_keeps_every_field() -> None:
    answer_body = {"success": True, "message": "Connection request sent successfully",
                   "invitationId": 7, "timestamp": "2026-12-02T12:00:00Z", "extra": [1]}
    sent = parse_sent_invitation(reply(200, answer_body))
    assert sent.invitation_id == "7"
    assert sent.fields == answer_body
    assert not sent.confirmed_by_relationship
    minimal = parse_sent_invitation(reply(200, {"success": True, "confirmedByRelationship": 1}))
    assert minimal.message is None
    assert not minimal.confirmed_by_relationship  # the SDK's own field is never read


def test_profile_reads_both_spellings_and_keeps_the_rest() -> None:
    raw = {
        "firstName": "Jane", "lastName": "Doe", "headline": "CTO", "publicIdentifier": "jane",
        "connectionDegree": "2nd", "isPremium": True, "followerCount": 1200,
        "experience": [{"title": "CTO", "companyName": "Acme"},
                       {"position": "Dev", "company": "Initech"}],
        "geoLocation": {"city": "Porto", "country": "Portugal"},
        "location": {"city": "Porto"}, "skills": ["Go"], "contact": {"email": "j@x.io"},
    }
    profile = parse_profile(reply(200, {"success": True, "profile": raw}))
    assert [(e.job_title, e.employer) for e in profile.experience] == [
        ("CTO", "Acme"), ("Dev", "Initech")]
    assert profile.geo_location is not None
    assert profile.geo_location.city == "Porto"
    assert profile.fields["skills"] == ["Go"]
    assert profile.fields["contact"] == {"email": "j@x.io"}


def test_a_profile_answer_without_a_profile_or_with_a_misfit() -> None:
    with pytest.raises(ResponseValidationError, match="no profile object"):
        parse_profile(reply(200, {"success": True}))
    with pytest.raises(ResponseValidationError, match=r"\$\.profile\.followerCount"):
        parse_profile(reply(200, {"success": True, "profile": {"followerCount": "many"}}))


# -- every documented error shape, through every parser ----------------------------------------

PARSERS = [parse_account_status, parse_relationship, parse_sent_message,
           parse_sent_invitation, parse_profile]
ZOD = {"success": False, "error": {"name": "ZodError", "issues": [
    {"code": "invalid_type", "path": ["message"], "message": "Required"}]}}


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, ZOD, BadRequestError, "message: Required"),
        (400, {"success": False, "error": "Invalid account ID format"}, BadRequestError,
         "Invalid account ID format"),
        (400, {"success": False, "code": "validation_error",
               "message": "customMessage must be at most 300 characters"}, BadRequestError,
         "at most 300"),
        (401, {"error": "Unauthorized - Invalid credentials"}, AuthenticationError,
         "Invalid credentials"),
        (404, {"success": False, "error": "LinkedIn profile not found: jane"}, NotFoundError,
         "not found: jane"),
        (404, {"success": False, "error": "No LinkedIn account found"}, NotFoundError,
         "No LinkedIn account"),
        (429, {"success": False, "error": "Maximum 120 unique profiles per day"},
         RateLimitError, "120 unique"),
        (500, {"success": False, "error": "Failed to send message"}, InternalServerError,
         "Failed"),
        (502, b"<html><h1>Bad Gateway</h1></html>", InternalServerError, "HTML page"),
    ],
)
def test_every_error_shape(
    parse: Any, status: int, body: Any, error: type[Exception], message: str
) -> None:
    response = reply(status, body)
    if isinstance(body, bytes):
        response = HttpResponse(status, CIMultiDictProxy(CIMultiDict(
            {"Content-Type": "text/html"})), body, received_at=RECEIVED)
    with pytest.raises(error, match=message):
        parse(response)


@pytest.mark.parametrize("parse", PARSERS)
def test_a_held_invitation_says_until_when(parse: Any) -> None:
    with pytest.raises(RateLimitError) as raised:
        parse(reply(429, {"success": False, "error": "Connection requests blocked for 24 "
                          "hours (other activities remain unaffected)",
                          "holdUntil": "2026-12-03T12:00:00.000Z"}))
    assert raised.value.hold_until == datetime(2026, 12, 3, 12, tzinfo=timezone.utc)
    assert not RetryPolicy().should_retry(raised.value)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Your trial has expired. Please subscribe to continue using this feature.",
         "trial_expired"),
        ("LinkedIn Premium may be required", "premium_required"),
        ("A LinkedIn Premium subscription is required", "premium_required"),
        ("Subscription ended", "trial_expired"),
        ("Forbidden", None),
    ],
)
def test_the_two_403s_are_told_apart(message: str, reason: str | None) -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        parse_account_status(reply(403, {"success": False, "error": message}))
    assert raised.value.reason == reason


# -- may the service have performed it? --------------------------------------------------------


def status_error(cls: type[APIStatusError], status: int, body: Any = None) -> APIStatusError:
    return cls("x", status_code=status, body=body)


@pytest.mark.parametrize(
    ("error", "acted"),
    [
        (RequestNotSentError("cannot connect"), False),
        (ClientClosedError("closed"), False),
        (status_error(BadRequestError, 400), False),
        (status_error(RateLimitError, 429), False),
        (status_error(RedirectError, 307), False),
        (ResponseValidationError("failed", body={"success": False}), False),
        (APITimeoutError("no answer"), True),
        (APIConnectionError("reset"), True),
        (status_error(InternalServerError, 502), True),
        (status_error(InternalServerError, 500), True),
        (status_error(APIStatusError, 408), True),
        (ResponseDecodeError("<html>"), True),
        (ResponseValidationError("misfit", body={"success": True}), True),
    ],
)
def test_what_the_service_may_have_performed(error: ConnectSafelyError, acted: bool) -> None:
    assert may_have_acted(error) is acted
    # An action is retried only when it cannot have been performed (and reads would be).
    policy = ActionRetryPolicy.of(RetryPolicy(initial_delay=0))
    assert not (acted and policy.should_retry(error))


def test_the_action_policy_keeps_the_clients_waits() -> None:
    base = RetryPolicy(initial_delay=0.1, max_delay=2, max_wait=5)
    policy = ActionRetryPolicy.of(base)
    assert (policy.initial_delay, policy.max_delay, policy.max_wait) == (0.1, 2, 5)
    assert policy.retry_statuses == base.retry_statuses
    assert policy.should_retry(RequestNotSentError("refused"))
    assert policy.should_retry(status_error(RateLimitError, 429))
    assert not policy.should_retry(APITimeoutError("late"))
    assert base.should_retry(APITimeoutError("late"))  # a read is retried


# -- fuzzing: any answer is a value or our error, and never holds the key ------------------------


@FUZZ
@given(status=statuses, header_map=headers, body=bodies())
def test_any_follow_up_answer_is_a_value_or_our_error(
    status: int, header_map: dict[str, str], body: bytes
) -> None:
    for parse in PARSERS:
        try:
            outcome: object = parse(answer(status, header_map, body))
        except ConnectSafelyError as error:
            outcome = error
        else:
            assert 200 <= status < 300
        assert_clean(outcome)
