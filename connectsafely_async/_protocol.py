"""The wire protocol, free of I/O: build requests, turn answers into data or errors.

Everything here takes and returns plain values (bytes, headers, datetimes), so every quirk of
the service can be tested with bytes alone. The transport moves the bytes; the client wires
the two together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urlsplit

import attrs
import cattrs
from cattrs.v import format_exception

from ._converters import converter, structure_visitors, to_camel
from ._errors import (
    APIStatusError,
    BadRequestError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ValidationIssue,
    error_class_for_status,
)
from ._json import UndecodableJSON, loads, stdlib_loads
from ._models import AppliedFilters, Pagination, RateLimit, Visitor, VisitorsPage

__all__ = [
    "VISITORS_PATH",
    "HttpRequest",
    "HttpResponse",
    "VisitorsQuery",
    "build_visitors_request",
    "error_from_response",
    "parse_datetime",
    "parse_rate_limit",
    "parse_retry_after",
    "parse_visitors_page",
]

VISITORS_PATH: Final = "/linkedin/profile/visitors"

_MAX_MESSAGE_CHARS: Final = 300
_MAX_TEXT_BODY_CHARS: Final = 2000
# Unix timestamps are far larger than any "seconds from now" a server would send.
_EPOCH_THRESHOLD: Final = 1_000_000_000
_ATTRIBUTE: Final = re.compile(r"\.([a-z][a-z0-9_]*)")
# Seconds as HTTP writes them (RFC 9110: 1*DIGIT), with a fraction tolerated; never "inf",
# "1e9", "+5", "1_000" or non-ASCII digits, which float() would all accept.
_DECIMAL: Final = re.compile(r"[0-9]{1,40}(?:\.[0-9]{1,9})?")


@attrs.frozen
class VisitorsQuery:
    """The body of one visitors request, in snake_case; ``None`` fields are not sent."""

    account_id: str | None = None
    time_range: str | None = None
    count: int | None = None
    start: int | None = None
    fetch_all: bool | None = None
    max_visitors: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The camelCase body the service expects, without the unset fields."""
        fields = {
            "accountId": self.account_id,
            "timeRange": self.time_range,
            "count": self.count,
            "start": self.start,
            "fetchAll": self.fetch_all,
            "maxVisitors": self.max_visitors,
        }
        return {key: value for key, value in fields.items() if value is not None}


@attrs.frozen
class HttpRequest:
    """What to send, minus the Authorization header (the transport adds it)."""

    method: str
    path: str
    body: bytes | None = None


@attrs.frozen
class HttpResponse:
    """What came back: status, headers (case-insensitive mapping), raw body, receive time."""

    status: int
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=lambda body: f"<{len(body)} bytes>")
    received_at: datetime = attrs.field(factory=lambda: datetime.now(timezone.utc))

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-Id")

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


@attrs.frozen(kw_only=True)
class _VisitorsHead:
    """Everything of a visitors answer but the visitors (the fast path structures those)."""

    has_more: bool
    success: bool | None = None
    account_id: str | None = None
    pagination: Pagination | None = None
    time_range: str | None = None
    filters: AppliedFilters | None = None


@attrs.frozen(kw_only=True)
class _VisitorsBody(_VisitorsHead):
    """The whole JSON body of a visitors answer (the converter maps the camelCase keys)."""

    visitors: tuple[Visitor, ...]


# json.dumps with any option builds a new encoder per call; a request per page reuses this one.
_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"))


def build_visitors_request(query: VisitorsQuery) -> HttpRequest:
    """The ``POST /linkedin/profile/visitors`` request for ``query``."""
    body = _COMPACT_JSON.encode(query.to_json()).encode()
    return HttpRequest("POST", VISITORS_PATH, body)


def parse_visitors_page(response: HttpResponse) -> VisitorsPage:
    """Turn one visitors answer into a ``VisitorsPage``.

    A well-formed answer takes the fast path (orjson when installed, ``structure_visitors``);
    anything unusual is parsed again by the detailed path, which alone decides what is an
    error and how it is worded, so the fast path changes speed, never results.

    Raises:
        APIStatusError: a subclass chosen by status, for any non-2xx answer.
        ResponseValidationError: a 2xx whose body is not JSON or does not fit the model.
    """
    page = _parse_visitors_page_fast(response)
    if page is not None:
        return page
    data = _decode_success(response)
    visitors = data.get("visitors")
    if type(visitors) is list:
        # The receive time travels with each visitor so it can estimate when the view happened.
        for record in visitors:
            if type(record) is dict:
                record["fetchedAt"] = response.received_at
    try:
        body = converter.structure(data, _VisitorsBody)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        errors = _validation_messages(exc)
        msg = f"the visitors answer does not fit the model: {'; '.join(errors[:3])}"
        raise ResponseValidationError(
            msg, errors=errors, body=data, request_id=response.request_id
        ) from None
    return _visitors_page(body, body.visitors, response)


def _parse_visitors_page_fast(response: HttpResponse) -> VisitorsPage | None:
    """The page, or ``None`` when the answer needs the detailed path (errors, odd values)."""
    if not 200 <= response.status < 300:
        return None
    content_type = response.content_type
    if content_type and "json" not in content_type:
        return None
    try:
        data = _fast_loads()(response.body)
    except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        return None  # the detailed path says what is wrong
    if type(data) is not dict or data.get("success") is False:
        return None
    visitors = structure_visitors(data.get("visitors"), response.received_at)
    if visitors is None:
        return None
    try:
        # The generated hook reads only _VisitorsHead's keys: "visitors" is not looked at.
        head = converter.structure(data, _VisitorsHead)
    except (cattrs.BaseValidationError, TypeError, ValueError):
        return None
    return _visitors_page(head, visitors, response)


def _visitors_page(
    body: _VisitorsHead | _VisitorsBody, visitors: tuple[Visitor, ...], response: HttpResponse
) -> VisitorsPage:
    time_range = body.time_range
    if time_range is None and body.filters is not None:
        time_range = body.filters.time_range
    return VisitorsPage(
        visitors=visitors,
        has_more=body.has_more,
        account_id=body.account_id,
        pagination=body.pagination,
        time_range=time_range,
        filters=body.filters,
        request_id=response.request_id,
        rate_limit=parse_rate_limit(response.headers, now=response.received_at),
        fetched_at=response.received_at,
    )


def _fast_loads() -> Callable[[bytes], Any]:
    """``orjson.loads`` when the ``speed`` extra is installed, else a strict ``json.loads``.

    Imported on first use, not with the package, so ``import connectsafely_async`` stays cheap.
    orjson is stricter than json (no NaN, no lone surrogates, huge integers become floats);
    whatever it refuses or reads differently fails the fast path and is read again by json.
    """
    global _loads  # a one-time lazy import
    if _loads is None:
        try:
            import orjson  # optional, and imported late on purpose
        except ImportError:
            _loads = stdlib_loads
        else:
            _loads = orjson.loads
    return _loads


_loads: Callable[[bytes], Any] | None = None


def _decode_success(response: HttpResponse) -> dict[str, Any]:
    """The JSON object of a 2xx answer, or the right error for anything else."""
    if not 200 <= response.status < 300:
        raise error_from_response(response)
    content_type = response.content_type
    if content_type and "json" not in content_type:
        msg = f"expected a JSON answer, got {content_type!r} (HTTP {response.status})"
        raise ResponseDecodeError(
            msg, body=_text_body(response.body), request_id=response.request_id
        )
    data = decode_json_answer(response, what="the answer")
    if type(data) is not dict:
        msg = f"expected a JSON object, got {_json_type(data)}"
        raise ResponseValidationError(
            msg, errors=[f"{msg} @ $"], body=data, request_id=response.request_id
        )
    if data.get("success") is False:
        message, _ = _error_message(data)
        reason = message or "no reason given"
        msg = f"the service reported a failure with HTTP {response.status}: {reason}"
        raise ResponseValidationError(msg, body=data, request_id=response.request_id)
    return data


def decode_json_answer(response: HttpResponse, *, what: str) -> Any:
    """The JSON value of a 2xx answer's body, decoded strictly.

    Raises:
        ResponseDecodeError: the body is not JSON (retried: often a proxy's page or a body
            cut short).
        ResponseValidationError: valid JSON the SDK refuses (nested too deeply, a number
            too long): the same answer would come again, so it is not retried.
    """
    try:
        return loads(response.body)
    except UndecodableJSON as problem:
        msg = f"{what} {problem.reason} (HTTP {response.status}, {len(response.body)} bytes)"
        error_class = ResponseDecodeError if problem.malformed else ResponseValidationError
        raise error_class(
            msg, errors=[f"it {problem.reason} @ $"], body=_text_body(response.body),
            request_id=response.request_id,
        ) from None


def error_from_response(response: HttpResponse) -> APIStatusError:
    """The error for a non-2xx answer: the class by status, the message by body shape.

    Accepts every documented body shape (``{"error": "..."}``, ``{"success": false, "error":
    {...ZodError}}``, ``{"code", "message"}``), an HTML page from a proxy, and anything else.
    """
    body = _decode_error_body(response)
    message, issues = _error_message(body)
    if message is None:
        message = _describe_status(response.status, is_html=response.content_type == "text/html")
    if 300 <= response.status < 400:
        location = _safe_location(response.headers.get("Location"))
        message = f"redirect to {location} not followed ({message})"
    cls = error_class_for_status(response.status)
    common: dict[str, Any] = {
        "status_code": response.status,
        "body": body,
        "request_id": response.request_id,
        "rate_limit": parse_rate_limit(response.headers, now=response.received_at),
        "retry_after": parse_retry_after(
            response.headers.get("Retry-After"), now=response.received_at
        ),
    }
    if cls is RateLimitError:
        hold_until = parse_datetime(body.get("holdUntil")) if isinstance(body, dict) else None
        return RateLimitError(message, hold_until=hold_until, **common)
    if cls is BadRequestError:
        return BadRequestError(message, issues=issues, **common)
    return cls(message, **common)


def _decode_error_body(response: HttpResponse) -> Any:
    if response.content_type != "text/html":
        try:
            return loads(response.body)
        except UndecodableJSON:
            pass
    return _text_body(response.body)


def _safe_location(location: str | None) -> str:
    """Where a redirect pointed, without credentials, query or fragment (they may hold
    tokens), in at most 200 printable characters."""
    try:
        parts = urlsplit((location or "").strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "an unreadable location"
    host = parts.netloc.rpartition("@")[2]
    shown = f"{parts.scheme}://{host}{parts.path}" if parts.scheme and host else parts.path
    return "".join(c for c in shown if c.isprintable())[:200] or "an unnamed location"


def _error_message(body: Any) -> tuple[str | None, list[ValidationIssue]]:
    """The service's message and validation issues, from any documented error shape."""
    if not isinstance(body, dict):
        return None, []
    error = body.get("error")
    if isinstance(error, dict):
        issues = _zod_issues(error.get("issues"))
        if issues:
            return _one_line("; ".join(str(issue) for issue in issues)), issues
        error = error.get("message") or error.get("name")
    for candidate in (error, body.get("message"), body.get("code")):
        if isinstance(candidate, str) and candidate.strip():
            return _one_line(candidate), []
    return None, []


def _zod_issues(raw: Any) -> list[ValidationIssue]:
    if not isinstance(raw, list):
        return []
    issues = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        path = item.get("path")
        issues.append(
            ValidationIssue(
                message=str(item.get("message") or "invalid"),
                path=tuple(p for p in path if isinstance(p, (str, int))) if isinstance(path, list)
                else (),
                code=item["code"] if isinstance(item.get("code"), str) else None,
            )
        )
    return issues


def _describe_status(status: int, *, is_html: bool) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    if is_html:
        return f"{phrase} (an HTML page, likely from a proxy in front of the service)"
    return phrase


def parse_rate_limit(headers: Mapping[str, str], *, now: datetime) -> RateLimit | None:
    """The ``X-RateLimit-*`` headers, or ``None`` when the answer carried none."""
    limit = headers.get("X-RateLimit-Limit")
    remaining = headers.get("X-RateLimit-Remaining")
    used = headers.get("X-RateLimit-Used")
    action = headers.get("X-RateLimit-Action")
    reset = headers.get("X-RateLimit-Reset")
    if limit is None and remaining is None and used is None and action is None and reset is None:
        return None
    return RateLimit(
        limit=_parse_int(limit),
        remaining=_parse_int(remaining),
        used=_parse_int(used),
        action=action,
        reset_at=_parse_reset(reset, now),
    )


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` in seconds: a number or an HTTP date. Garbage or negative -> ``None``."""
    if value is None:
        return None
    value = value.strip()
    if not _DECIMAL.fullmatch(value):
        try:
            # Imported here: email.utils costs ~10 ms of import time, and dates are rare.
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - now).total_seconds())
    return float(value)


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 instant as aware UTC, or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"  # fromisoformat learned "Z" only in Python 3.11
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _parse_reset(value: str | None, now: datetime) -> datetime | None:
    """``X-RateLimit-Reset``: ISO-8601 (current docs) or Unix seconds (older docs)."""
    if value is None:
        return None
    value = value.strip()
    if not _DECIMAL.fullmatch(value):
        return parse_datetime(value)
    number = float(value)
    try:
        if number >= _EPOCH_THRESHOLD:
            return datetime.fromtimestamp(number, tz=timezone.utc)
        return datetime.fromtimestamp(now.timestamp() + number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    if len(line) > _MAX_MESSAGE_CHARS:
        return line[: _MAX_MESSAGE_CHARS - 1] + "…"
    return line


def _text_body(raw: bytes) -> str:
    return raw[: _MAX_TEXT_BODY_CHARS * 4].decode("utf-8", errors="replace")[:_MAX_TEXT_BODY_CHARS]


def _validation_messages(exc: Exception) -> list[str]:
    """One line per problem, with the path spelled as in the answer (``$.visitors[0].hasMore``)."""
    if not isinstance(exc, cattrs.BaseValidationError):
        return [f"{exc} @ $"]
    messages = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_describe_problem):
        problem, at, path = line.rpartition(" @ ")
        messages.append(f"{problem}{at}{_ATTRIBUTE.sub(lambda m: '.' + to_camel(m[1]), path)}")
    return messages


def _describe_problem(exc: BaseException, target: Any) -> str:
    # Our strict hooks explain themselves ("expected an array, got str"); cattrs' own
    # default wording covers everything else.
    if isinstance(exc, TypeError) and str(exc).startswith("expected "):
        return f"invalid value ({exc})"
    return format_exception(exc, target)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
