"""The sans-I/O protocol: requests built as bytes, answers turned into pages or errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from connectsafely_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseValidationError,
    Visitor,
)
from connectsafely_async._protocol import (
    HttpResponse,
    Redactor,
    error_from_response,
    parse_datetime,
    parse_rate_limit,
    parse_retry_after,
)
from connectsafely_async._protocol.accounts import build_accounts_request, parse_accounts
from connectsafely_async._protocol.visitors import (
    VISITORS_PATH,
    VisitorsQuery,
    build_visitors_request,
    parse_visitors_page,
)
from connectsafely_async._secrets import Secret
from connectsafely_async.types import AppliedFilters, Pagination, RateLimit, ValidationIssue

FIXTURE = Path(__file__).parent / "fixtures" / "vendor_example.json"
RECEIVED = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
SECRET = "sk-live-7f3a9c2e1b8d4f60a5e7"
JSON = {"Content-Type": "application/json; charset=utf-8"}


def vendor_example() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def response(
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {**JSON, **(headers or {})}, raw, received_at=RECEIVED)


def html_response(status: int, html: str, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status,
        {"Content-Type": "text/html; charset=utf-8", **(headers or {})},
        html.encode(),
        received_at=RECEIVED,
    )


# --- the vendor's own example ------------------------------------------------------------


def test_vendor_example_parses_every_field() -> None:
    page = parse_visitors_page(response(200, vendor_example(), {"X-Request-Id": "req-123"}))

    assert page.has_more is False
    assert page.account_id == "696ce9e780e0483585e4e553"
    assert page.pagination == Pagination(start=0, count=10, total=8)
    assert page.filters == AppliedFilters(
        time_range="past_90_days", count=20, start=0, fetch_all=False, max_visitors=10
    )
    assert page.request_id == "req-123"
    assert page.rate_limit is None
    assert page.fetched_at == RECEIVED
    assert page.visitors == (
        Visitor(
            entity_urn="urn:li:fsd_profile:ACoAADlVtYMBLWFFOJ1ezKvVfycTiiAjoFmMK68",
            public_identifier="ritika-kulkarni-85718922a",
            name="Ritika Kulkarni",
            headline="Full Stack Developer | Agentic AI | Python | Gen AI",
            profile_picture=(
                "https://media.licdn.com/dms/image/v2/.../profile-displayphoto-shrink_100_100/..."
            ),
            viewed_at="Viewed 47m ago",
            connection_degree="1st",
            profile_url="https://www.linkedin.com/in/ritika-kulkarni-85718922a",
            navigation_url=None,
        ),
    )
    (visitor,) = page.visitors
    assert visitor.is_anonymous is False


def test_time_range_falls_back_to_filters_when_top_level_is_null() -> None:
    data = vendor_example()
    assert data["timeRange"] is None
    assert parse_visitors_page(response(200, data)).time_range == "past_90_days"


def test_top_level_time_range_wins_when_set() -> None:
    data = vendor_example()
    data["timeRange"] = "past_7_days"
    assert parse_visitors_page(response(200, data)).time_range == "past_7_days"


def test_time_range_none_without_top_level_or_filters() -> None:
    data = vendor_example()
    del data["filters"]
    page = parse_visitors_page(response(200, data))
    assert page.time_range is None
    assert page.filters is None


def test_visitor_times_come_from_the_response() -> None:
    page = parse_visitors_page(response(200, vendor_example()))
    (visitor,) = page.visitors
    assert visitor.fetched_at == RECEIVED
    assert visitor.viewed_ago == timedelta(minutes=47)
    # "Viewed 47m ago": 47 to 48 minutes before it was received; the estimate is the middle.
    assert visitor.estimated_viewed_at == RECEIVED - timedelta(minutes=47.5)
    assert visitor.estimated_viewed_at == datetime(2025, 1, 1, 11, 12, 30, tzinfo=timezone.utc)


def test_unknown_fields_are_ignored_and_navigation_url_is_kept() -> None:
    data = vendor_example()
    data["somethingNew"] = {"nested": [1, 2, 3]}
    data["pagination"]["hasNextPage"] = True
    data["filters"]["futureFilter"] = "x"
    data["visitors"][0]["navigationUrl"] = "https://www.linkedin.com/in/ritika?nav=1"
    data["visitors"][0]["mutualConnections"] = 12
    page = parse_visitors_page(response(200, data))
    (visitor,) = page.visitors
    assert visitor.navigation_url == "https://www.linkedin.com/in/ritika?nav=1"
    assert visitor.name == "Ritika Kulkarni"
    assert page.pagination == Pagination(start=0, count=10, total=8)


@pytest.mark.parametrize(
    "record",
    [
        {"name": "LinkedIn Member", "headline": "Someone at a company in Software"},
        {
            "entityUrn": None,
            "publicIdentifier": None,
            "name": "LinkedIn Member",
            "headline": "Someone at a company in Software",
            "profilePicture": None,
            "viewedAt": "Viewed 2d ago",
            "profileUrl": None,
        },
        {},
    ],
    ids=["missing", "null", "empty-object"],
)
def test_anonymous_visitor(record: dict[str, Any]) -> None:
    data = vendor_example()
    data["visitors"].append(record)
    page = parse_visitors_page(response(200, data))
    assert len(page.visitors) == 2
    anonymous = page.visitors[1]
    assert anonymous.is_anonymous is True
    assert anonymous.entity_urn is None
    assert anonymous.public_identifier is None
    assert anonymous.profile_url is None
    assert anonymous.profile_picture is None
    assert anonymous.connection_degree is None
    assert anonymous.name == record.get("name")
    assert anonymous.fetched_at == RECEIVED


def test_empty_page_parses() -> None:
    page = parse_visitors_page(response(200, {"visitors": [], "hasMore": False}))
    assert page.visitors == ()
    assert page.has_more is False
    assert page.pagination is None
    assert page.account_id is None


# --- headers -------------------------------------------------------------------------------


def test_rate_limit_headers_with_iso_reset() -> None:
    headers = {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": " 59 ",
        "X-RateLimit-Used": "1",
        "X-RateLimit-Action": "read",
        "X-RateLimit-Reset": "2025-01-01T12:01:00Z",
    }
    page = parse_visitors_page(response(200, vendor_example(), headers))
    assert page.rate_limit == RateLimit(
        limit=60,
        remaining=59,
        used=1,
        action="read",
        reset_at=datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc),
    )


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        ("2025-01-01T12:01:00Z", datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc)),
        ("2025-01-01T14:01:00+02:00", datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc)),
        ("2025-01-01T12:01:00", datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc)),
        # A Unix timestamp (older docs).
        ("1735732860", datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc)),
        ("1735732860.5", datetime(2025, 1, 1, 12, 1, 0, 500000, tzinfo=timezone.utc)),
        # A small number: seconds from now.
        ("30", RECEIVED + timedelta(seconds=30)),
        ("0", RECEIVED),
        ("garbage", None),
        ("-5", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_rate_limit_reset_forms(reset: str, expected: datetime | None) -> None:
    rate_limit = parse_rate_limit({"X-RateLimit-Reset": reset}, now=RECEIVED)
    assert rate_limit == RateLimit(reset_at=expected)


def test_rate_limit_absent_is_none_and_bad_ints_are_none() -> None:
    assert parse_rate_limit({}, now=RECEIVED) is None
    assert parse_rate_limit({"X-RateLimit-Limit": "lots"}, now=RECEIVED) == RateLimit()


def test_headers_are_case_insensitive_with_a_multidict() -> None:
    headers = CIMultiDict(
        {
            "content-type": "application/json",
            "x-request-id": "req-lower",
            "x-ratelimit-limit": "60",
            "x-ratelimit-remaining": "10",
            "x-ratelimit-reset": "1735732860",
        }
    )
    raw = json.dumps(vendor_example()).encode()
    page = parse_visitors_page(HttpResponse(200, headers, raw, received_at=RECEIVED))
    assert page.request_id == "req-lower"
    assert page.rate_limit == RateLimit(
        limit=60, remaining=10, reset_at=datetime(2025, 1, 1, 12, 1, tzinfo=timezone.utc)
    )

    error_headers = CIMultiDict(
        {"content-type": "text/html", "retry-after": "12", "x-request-id": "req-err"}
    )
    error = error_from_response(
        HttpResponse(429, error_headers, b"<html>slow down</html>", received_at=RECEIVED)
    )
    assert type(error) is RateLimitError
    assert error.retry_after == 12.0
    assert error.request_id == "req-err"
    assert error.body == "<html>slow down</html>"


# --- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("1" + "0" * 35, 1e35),
        ("1e35", None),  # not how HTTP writes seconds (1*DIGIT)
        ("Wed, 01 Jan 2025 12:01:00 GMT", 60.0),
        ("Wed, 01 Jan 2025 11:00:00 GMT", 0.0),  # in the past: no wait, not negative
        ("garbage", None),
        ("", None),
        ("-1", None),
        ("-0.5", None),
        ("nan", None),
        ("inf", None),
        ("-inf", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=RECEIVED) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-01T13:00:00Z", datetime(2025, 1, 1, 13, 0, tzinfo=timezone.utc)),
        ("2025-01-01T15:00:00+02:00", datetime(2025, 1, 1, 13, 0, tzinfo=timezone.utc)),
        ("2025-01-01T13:00:00", datetime(2025, 1, 1, 13, 0, tzinfo=timezone.utc)),
        ("tomorrow", None),
        ("", None),
        (None, None),
        (1735736400, None),
    ],
)
def test_parse_datetime(value: Any, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


# --- error bodies --------------------------------------------------------------------------


def test_401_plain_error_shape() -> None:
    error = error_from_response(
        response(401, {"error": "Unauthorized - Invalid credentials"}, {"X-Request-Id": "r-1"})
    )
    assert type(error) is AuthenticationError
    assert error.status_code == 401
    assert error.message == "Unauthorized - Invalid credentials"
    assert str(error) == "HTTP 401: Unauthorized - Invalid credentials (request id r-1)"
    assert repr(error) == (
        "AuthenticationError(status_code=401, message='Unauthorized - Invalid credentials')"
    )
    assert error.body == {"error": "Unauthorized - Invalid credentials"}
    assert error.request_id == "r-1"
    assert error.retry_after is None


def test_403_trial_expired() -> None:
    text = "Your trial has expired. Please subscribe to continue using this feature."
    error = error_from_response(response(403, {"success": False, "error": text}))
    assert type(error) is PermissionDeniedError
    assert error.message == text
    assert str(error) == f"HTTP 403: {text}"


def test_400_zod_error_carries_issues() -> None:
    body = {
        "success": False,
        "error": {
            "name": "ZodError",
            "issues": [
                {
                    "code": "invalid_type",
                    "expected": "number",
                    "received": "string",
                    "path": ["maxVisitors"],
                    "message": "Expected number, received string",
                },
                {"code": "too_small", "path": ["filters", 0, "count"], "message": "Too small"},
            ],
        },
    }
    error = error_from_response(response(400, body))
    assert type(error) is BadRequestError
    assert error.issues == (
        ValidationIssue(
            message="Expected number, received string", path=("maxVisitors",), code="invalid_type"
        ),
        ValidationIssue(message="Too small", path=("filters", 0, "count"), code="too_small"),
    )
    assert error.message == (
        "maxVisitors: Expected number, received string; filters.0.count: Too small"
    )
    assert "maxVisitors" in str(error)


def test_400_zod_error_without_issues_uses_the_name() -> None:
    error = error_from_response(
        response(400, {"success": False, "error": {"name": "ZodError", "issues": []}})
    )
    assert type(error) is BadRequestError
    assert error.issues == ()
    assert error.message == "ZodError"


def test_code_and_message_shape() -> None:
    body = {"success": False, "code": "validation_error", "message": "count must be <= 100"}
    error = error_from_response(response(400, body))
    assert type(error) is BadRequestError
    assert error.message == "count must be <= 100"
    assert error.issues == ()


def test_code_only_shape_uses_the_code() -> None:
    error = error_from_response(response(400, {"success": False, "code": "validation_error"}))
    assert error.message == "validation_error"


def test_404_not_found() -> None:
    error = error_from_response(response(404, {"success": False, "error": "Account not found"}))
    assert type(error) is NotFoundError
    assert error.message == "Account not found"


def test_429_with_retry_after_and_hold_until() -> None:
    body = {"success": False, "error": "Rate limited", "holdUntil": "2025-01-01T13:00:00Z"}
    error = error_from_response(
        response(429, body, {"Retry-After": "30", "X-RateLimit-Remaining": "0"})
    )
    assert type(error) is RateLimitError
    assert error.message == "Rate limited"
    assert error.retry_after == 30.0
    assert error.hold_until == datetime(2025, 1, 1, 13, 0, tzinfo=timezone.utc)
    assert error.rate_limit == RateLimit(remaining=0)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("5", 5.0),
        ("Wed, 01 Jan 2025 12:00:45 GMT", 45.0),
        ("soon", None),
        ("-3", None),
        ("1" + "0" * 35, 1e35),
        ("1e35", None),  # not how HTTP writes seconds (1*DIGIT)
        ("nan", None),
        ("inf", None),
    ],
)
def test_429_retry_after_forms(retry_after: str, expected: float | None) -> None:
    error = error_from_response(response(429, {"error": "slow down"}, {"Retry-After": retry_after}))
    assert type(error) is RateLimitError
    assert error.retry_after == expected
    assert error.hold_until is None


@pytest.mark.parametrize("hold_until", ["not a date", 12345, None])
def test_429_unreadable_hold_until_is_none(hold_until: Any) -> None:
    error = error_from_response(response(429, {"error": "x", "holdUntil": hold_until}))
    assert type(error) is RateLimitError
    assert error.hold_until is None


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ],
)
def test_5xx_is_internal_server_error(status: int, phrase: str) -> None:
    error = error_from_response(response(status, {}))
    assert type(error) is InternalServerError
    assert error.message == phrase

    with_message = error_from_response(
        response(status, {"success": False, "error": "Failed to fetch profile visitors"})
    )
    assert type(with_message) is InternalServerError
    assert with_message.message == "Failed to fetch profile visitors"


def test_html_502_from_a_proxy() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    error = error_from_response(html_response(502, page))
    assert type(error) is InternalServerError
    assert error.message == (
        "Bad Gateway (an HTML page, likely from a proxy in front of the service)"
    )
    assert str(error) == (
        "HTTP 502: Bad Gateway (an HTML page, likely from a proxy in front of the service)"
    )
    assert error.body == page


def test_html_page_that_happens_to_be_json_is_still_text() -> None:
    error = error_from_response(html_response(503, '{"error": "x"}'))
    assert type(error) is InternalServerError
    assert error.body == '{"error": "x"}'
    assert error.message.startswith("Service Unavailable (an HTML page")


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"[]", []),
        (b'""', ""),
        (b"null", None),
        (b"", ""),
        (b"42", 42),
        (b'{"error": ""}', {"error": ""}),
        (b'{"error": "   "}', {"error": "   "}),
        (b"\xff\xfe\xfd not utf-8", "\ufffd\ufffd\ufffd not utf-8"),
    ],
)
@pytest.mark.parametrize(
    ("status", "cls", "default"),
    [
        (401, AuthenticationError, "Unauthorized"),
        (403, PermissionDeniedError, "Forbidden"),
        (404, NotFoundError, "Not Found"),
        (429, RateLimitError, "Too Many Requests"),
        (500, InternalServerError, "Internal Server Error"),
        (400, BadRequestError, "Bad Request"),
    ],
)
def test_odd_error_bodies_get_a_default_message(
    raw: bytes, body: Any, status: int, cls: type[APIStatusError], default: str
) -> None:
    error = error_from_response(response(status, raw))
    assert type(error) is cls
    assert error.message == default
    assert str(error) == f"HTTP {status}: {default}"
    assert error.body == body


def test_3xx_mentions_the_location() -> None:
    error = error_from_response(
        response(301, b"", {"Location": "https://api.connectsafely.ai/v2/visitors"})
    )
    assert type(error) is RedirectError
    assert error.status_code == 301
    assert error.message == (
        "redirect to https://api.connectsafely.ai/v2/visitors not followed (Moved Permanently)"
    )
    assert "https://api.connectsafely.ai/v2/visitors" in str(error)


def test_3xx_without_location() -> None:
    error = error_from_response(response(307, b""))
    assert type(error) is RedirectError
    assert error.message == "redirect to an unnamed location not followed (Temporary Redirect)"


def test_3xx_never_shows_credentials_or_a_query_of_the_location() -> None:
    location = "https://user:pa55@evil.example:8443/take?token=t0ps3cret#frag"
    error = error_from_response(response(302, b"", {"Location": location}))
    assert error.message == "redirect to https://evil.example:8443/take not followed (Found)"
    for secret in ("user", "pa55", "t0ps3cret", "frag"):
        assert secret not in str(error)


def test_418_is_plain_api_status_error() -> None:
    error = error_from_response(response(418, {"error": "I am a teapot"}))
    assert type(error) is APIStatusError
    assert error.status_code == 418
    assert error.message == "I am a teapot"


def test_unknown_status_without_phrase() -> None:
    error = error_from_response(response(499, b""))
    assert type(error) is APIStatusError
    assert error.message == "error"


def test_long_messages_are_one_short_line() -> None:
    error = error_from_response(response(500, {"error": "line one\n\tline two " + "x" * 1000}))
    assert "\n" not in error.message
    assert len(error.message) == 300
    assert error.message.startswith("line one line two xxx")
    assert error.message.endswith("…")


def test_non_2xx_through_parse_visitors_page_raises_the_status_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        parse_visitors_page(response(401, {"error": "Unauthorized - Invalid credentials"}))
    assert info.value.message == "Unauthorized - Invalid credentials"


# --- the key never leaks -------------------------------------------------------------------
# The client passes every answer through ``redact`` before parsing; these tests do the same.


def redacted(resp: HttpResponse) -> HttpResponse:
    return Redactor(Secret(SECRET))(resp)


def assert_scrubbed(error: Exception) -> None:
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert SECRET not in getattr(error, "message", "")
    assert SECRET not in json.dumps(getattr(error, "body", None), default=str)
    assert SECRET not in repr(getattr(error, "issues", ()))
    assert SECRET not in repr(getattr(error, "errors", ()))


def test_redact_replaces_the_key_in_the_raw_body() -> None:
    original = response(401, {"error": f"bad key {SECRET}", SECRET: SECRET})
    clean = redacted(original)
    assert clean.body == (
        b'{"error": "bad key [REDACTED]", "[REDACTED]": "[REDACTED]"}'
    )
    assert clean.status == 401
    assert clean.headers == original.headers
    assert clean.received_at == RECEIVED
    assert SECRET not in repr(original)  # the repr never shows the body


def test_redact_without_the_key_returns_the_same_response() -> None:
    original = response(200, vendor_example())
    assert redacted(original) is original
    assert Redactor(Secret(""))(original) is original


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500])
def test_secret_in_json_error_body_is_scrubbed(status: int) -> None:
    body = {
        "success": False,
        "error": f"Invalid API key {SECRET}",
        SECRET: {"echo": [f"Bearer {SECRET}", 1]},
        "message": f"key={SECRET}",
    }
    error = error_from_response(redacted(response(status, body)))
    assert_scrubbed(error)
    assert error.message == "Invalid API key [REDACTED]"
    assert error.body == {
        "success": False,
        "error": "Invalid API key [REDACTED]",
        "[REDACTED]": {"echo": ["Bearer [REDACTED]", 1]},
        "message": "key=[REDACTED]",
    }


def test_secret_in_message_field_is_scrubbed() -> None:
    body = {"success": False, "code": "validation_error", "message": f"bad key {SECRET}"}
    error = error_from_response(redacted(response(400, body)))
    assert_scrubbed(error)
    assert error.message == "bad key [REDACTED]"


def test_secret_in_zod_issue_is_scrubbed() -> None:
    body = {
        "success": False,
        "error": {
            "name": "ZodError",
            "issues": [{"code": "custom", "path": [SECRET], "message": f"{SECRET} is bad"}],
        },
    }
    error = error_from_response(redacted(response(400, body)))
    assert isinstance(error, BadRequestError)
    assert_scrubbed(error)
    assert error.issues == (
        ValidationIssue(message="[REDACTED] is bad", path=("[REDACTED]",), code="custom"),
    )


def test_secret_in_html_error_page_is_scrubbed() -> None:
    page = f"<html><body><p>Authorization: Bearer {SECRET}</p><p>{SECRET}</p></body></html>"
    error = error_from_response(redacted(html_response(502, page)))
    assert type(error) is InternalServerError
    assert_scrubbed(error)
    assert error.body == (
        "<html><body><p>Authorization: Bearer [REDACTED]</p><p>[REDACTED]</p></body></html>"
    )


def test_secret_in_non_json_text_error_is_scrubbed() -> None:
    error = error_from_response(redacted(response(401, f"bad key {SECRET}".encode())))
    assert_scrubbed(error)
    assert error.body == "bad key [REDACTED]"


def test_secret_straddling_the_text_truncation_is_not_partly_leaked() -> None:
    page = "x" * 1990 + SECRET
    error = error_from_response(redacted(html_response(502, page)))
    assert SECRET[:10] not in error.body
    assert error.body == "x" * 1990 + "[REDACTED]"


def test_secret_in_200_validation_failure_is_scrubbed() -> None:
    data = vendor_example()
    data["visitors"][0]["name"] = 5
    data[SECRET] = SECRET
    with pytest.raises(ResponseValidationError) as info:
        parse_visitors_page(redacted(response(200, data)))
    assert_scrubbed(info.value)
    assert info.value.body["[REDACTED]"] == "[REDACTED]"


def test_secret_in_200_html_body_is_scrubbed() -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_visitors_page(redacted(html_response(200, f"<p>{SECRET}</p>")))
    assert_scrubbed(info.value)
    assert info.value.body == "<p>[REDACTED]</p>"


def test_secret_in_200_not_json_is_scrubbed() -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_visitors_page(redacted(response(200, f"oops {SECRET}".encode())))
    assert_scrubbed(info.value)


def test_secret_in_200_success_false_message_is_scrubbed() -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_visitors_page(
            redacted(response(200, {"success": False, "error": f"invalid key {SECRET}"}))
        )
    assert_scrubbed(info.value)
    assert info.value.message == (
        "the service reported a failure with HTTP 200: invalid key [REDACTED]"
    )


def test_secret_spelled_with_json_escapes_is_scrubbed() -> None:
    escaped = SECRET.replace("-", "\\u002d")
    raw = b'{"error": "bad key ' + escaped.encode() + b'"}'
    error = error_from_response(redacted(response(401, raw)))
    assert_scrubbed(error)


# --- 200 answers that do not fit -----------------------------------------------------------


def validation_error(resp: HttpResponse) -> ResponseValidationError:
    with pytest.raises(ResponseValidationError) as info:
        parse_visitors_page(resp)
    return info.value


def test_200_not_json() -> None:
    error = validation_error(response(200, b"{not json", {"X-Request-Id": "r-9"}))
    assert error.message == "the answer is not valid JSON (HTTP 200, 9 bytes)"
    assert error.body == "{not json"
    assert error.request_id == "r-9"


def test_200_html() -> None:
    error = validation_error(html_response(200, "<html>login</html>"))
    assert error.message == "expected a JSON answer, got 'text/html' (HTTP 200)"
    assert error.body == "<html>login</html>"


def test_200_without_content_type_is_still_read_as_json() -> None:
    raw = json.dumps(vendor_example()).encode()
    page = parse_visitors_page(HttpResponse(200, {}, raw, received_at=RECEIVED))
    assert len(page.visitors) == 1


def test_200_json_array() -> None:
    error = validation_error(response(200, [vendor_example()]))
    assert error.message == "expected a JSON object, got an array"
    assert error.errors == ("expected a JSON object, got an array @ $",)


@pytest.mark.parametrize(
    ("raw", "kind"), [(b"null", "null"), (b'"x"', "a string"), (b"3", "a number")]
)
def test_200_json_scalar(raw: bytes, kind: str) -> None:
    error = validation_error(response(200, raw))
    assert error.message == f"expected a JSON object, got {kind}"


@pytest.mark.parametrize(
    ("has_more", "got"),
    [("yes", "str"), (1, "int"), (0, "int"), (None, "NoneType"), ("false", "str")],
)
def test_200_has_more_not_a_bool(has_more: Any, got: str) -> None:
    data = vendor_example()
    data["hasMore"] = has_more
    error = validation_error(response(200, data))
    # the path names the key as the answer spells it, not the model's attribute
    assert error.errors == (f"invalid value (expected a boolean, got {got}) @ $.hasMore",)
    assert error.message == (
        "the visitors answer does not fit the model: "
        f"invalid value (expected a boolean, got {got}) @ $.hasMore"
    )


def test_200_has_more_missing() -> None:
    data = vendor_example()
    del data["hasMore"]
    error = validation_error(response(200, data))
    assert error.errors == ("required field missing @ $.hasMore",)


def test_200_visitors_missing() -> None:
    data = vendor_example()
    del data["visitors"]
    error = validation_error(response(200, data))
    assert error.errors == ("required field missing @ $.visitors",)
    assert error.message == (
        "the visitors answer does not fit the model: required field missing @ $.visitors"
    )


@pytest.mark.parametrize(
    ("visitors", "got"),
    [(None, "NoneType"), ({}, "dict"), ("", "str"), ("ab", "str"), (5, "int")],
    ids=["null", "object", "empty-string", "string", "number"],
)
def test_200_visitors_not_an_array(visitors: Any, got: str) -> None:
    data = vendor_example()
    data["visitors"] = visitors
    error = validation_error(response(200, data))
    assert error.errors == (f"invalid value (expected an array, got {got}) @ $.visitors",)


def test_200_visitor_name_is_a_number() -> None:
    data = vendor_example()
    data["visitors"].append({"name": 5, "viewedAt": "Viewed 1h ago"})
    error = validation_error(response(200, data))
    assert error.errors == ("invalid value (expected a string, got int) @ $.visitors[1].name",)
    assert "$.visitors[1].name" in str(error)


def test_200_visitor_camel_case_field_path() -> None:
    data = vendor_example()
    data["visitors"][0]["profilePicture"] = ["a", "b"]
    error = validation_error(response(200, data))
    assert error.errors == (
        "invalid value (expected a string, got list) @ $.visitors[0].profilePicture",
    )


def test_200_visitor_is_a_string() -> None:
    data = vendor_example()
    data["visitors"].append("Ritika Kulkarni")
    error = validation_error(response(200, data))
    assert error.errors == ("invalid value (expected an object, got str) @ $.visitors[1]",)


def test_200_visitor_is_null() -> None:
    data = vendor_example()
    data["visitors"].insert(0, None)
    error = validation_error(response(200, data))
    assert error.errors == ("invalid value (expected an object, got NoneType) @ $.visitors[0]",)


def test_200_pagination_total_is_a_bool() -> None:
    data = vendor_example()
    data["pagination"]["total"] = True
    error = validation_error(response(200, data))
    assert error.errors == (
        "invalid value (expected an integer, got bool) @ $.pagination.total",
    )


def test_200_filters_fetch_all_is_a_string() -> None:
    data = vendor_example()
    data["filters"]["fetchAll"] = "false"
    error = validation_error(response(200, data))
    assert error.errors == (
        "invalid value (expected a boolean, got str) @ $.filters.fetchAll",
    )


def test_200_pagination_not_an_object() -> None:
    data = vendor_example()
    data["pagination"] = [0, 10, 8]
    error = validation_error(response(200, data))
    assert error.errors == ("invalid value (expected an object, got list) @ $.pagination",)


def test_200_several_problems_are_all_listed() -> None:
    data = vendor_example()
    data["visitors"] = [{"name": 1}, {"headline": 2}, {"viewedAt": 3}, {"profileUrl": 4}]
    error = validation_error(response(200, data))
    assert error.errors == (
        "invalid value (expected a string, got int) @ $.visitors[0].name",
        "invalid value (expected a string, got int) @ $.visitors[1].headline",
        "invalid value (expected a string, got int) @ $.visitors[2].viewedAt",
        "invalid value (expected a string, got int) @ $.visitors[3].profileUrl",
    )
    # the message shows the first three only
    assert "$.visitors[2].viewedAt" in error.message
    assert "$.visitors[3]" not in error.message


def test_200_success_false() -> None:
    error = validation_error(
        response(200, {"success": False, "error": "LinkedIn session expired"})
    )
    assert error.message == (
        "the service reported a failure with HTTP 200: LinkedIn session expired"
    )
    assert error.body == {"success": False, "error": "LinkedIn session expired"}


def test_200_success_false_without_message() -> None:
    error = validation_error(response(200, {"success": False}))
    assert error.message.startswith("the service reported a failure with HTTP 200")
    assert "None" not in error.message


# --- requests ------------------------------------------------------------------------------


def test_build_visitors_request_exact_bytes() -> None:
    query = VisitorsQuery(
        account_id="696ce9e780e0483585e4e553",
        time_range="past_7_days",
        count=10,
        start=20,
        fetch_all=False,
        max_visitors=31,
    )
    request = build_visitors_request(query)
    assert request.method == "POST"
    assert request.path == VISITORS_PATH == "/linkedin/profile/visitors"
    assert request.body == (
        b'{"accountId":"696ce9e780e0483585e4e553","timeRange":"past_7_days","count":10,'
        b'"start":20,"fetchAll":false,"maxVisitors":31}'
    )


def test_build_visitors_request_omits_none() -> None:
    assert build_visitors_request(VisitorsQuery()).body == b"{}"
    assert build_visitors_request(VisitorsQuery(count=5, start=0)).body == (
        b'{"count":5,"start":0}'
    )


def test_visitors_query_to_json() -> None:
    assert VisitorsQuery(max_visitors=0, fetch_all=True).to_json() == {
        "fetchAll": True,
        "maxVisitors": 0,
    }
    assert VisitorsQuery(account_id="a", time_range="ALL_TIME").to_json() == {
        "accountId": "a",
        "timeRange": "ALL_TIME",
    }
    assert VisitorsQuery().to_json() == {}


def test_request_id_absent() -> None:
    assert response(200, {}).request_id is None
    assert response(200, {}, {"X-Request-Id": "abc"}).request_id == "abc"
    assert response(200, {}).content_type == "application/json"


@pytest.mark.parametrize("quotes_before", [0, 5, 30, 500])
@pytest.mark.parametrize(
    ("key", "spelling"),
    [
        ("sk_live_abc123", "sk_live_\\u0061bc123"),
        ("sk_live_abc123", "\\u0073\\u006B_live_abc123"),
        ("sk/live/abc", "sk\\/live\\/abc"),
        ('sk"live', 'sk\\"live'),
        ("sk\\live", "sk\\\\live"),
    ],
)
def test_every_json_spelling_of_the_key_is_redacted(
    key: str, spelling: str, quotes_before: int
) -> None:
    # Escaped quotes before the echo take the redactor past its backslash scan to its regex.
    padding = '\\"q\\" ' * quotes_before
    raw = f'{{"hasMore": false, "visitors": [], "note": "{padding}x {spelling} y"}}'.encode()
    assert json.loads(raw)["note"].endswith(f"x {key} y")
    clean = Redactor(Secret(key))(response(200, raw))
    assert json.loads(clean.body)["note"].endswith("x [REDACTED] y")
    assert key not in json.dumps(json.loads(clean.body), ensure_ascii=False)


# -- the accounts endpoint -------------------------------------------------------------------


def test_the_accounts_request_filters_only_when_asked() -> None:
    assert build_accounts_request().path == "/linkedin/accounts"
    filtered = build_accounts_request("Ada L")
    assert (filtered.method, filtered.path, filtered.body) == (
        "GET", "/linkedin/accounts?q=Ada+L", None
    )


def test_accounts_come_typed_in_the_service_order() -> None:
    body = [{"id": "a" * 24, "firstName": "Ada", "enabled": True, "extra": 1}, {"id": "b" * 24}]
    first, second = parse_accounts(response(200, body))
    assert (first.id, first.first_name, first.enabled) == ("a" * 24, "Ada", True)
    assert (second.id, second.first_name) == ("b" * 24, None)


def test_an_accounts_misfit_names_the_path_as_the_answer_spells_it() -> None:
    with pytest.raises(ResponseValidationError, match="accounts answer") as caught:
        parse_accounts(response(200, [{"id": "a" * 24, "firstName": 5}]))
    assert any("$[0].firstName" in line for line in caught.value.errors)


def test_an_accounts_error_status_is_the_same_error_as_for_visitors() -> None:
    with pytest.raises(AuthenticationError, match="bad key"):
        parse_accounts(response(401, {"error": "bad key"}))
