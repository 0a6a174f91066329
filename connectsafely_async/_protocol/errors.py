"""Errors from answers: the right ``ConnectSafelyError`` for whatever a server sent.

Every endpoint's parser decodes through here, so a non-2xx status, a proxy's HTML page, JSON
nested a million deep or a body that does not fit the model all become the same errors with
the same wording, whatever the endpoint.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

from .._converters import to_camel
from .._errors import (
    APIStatusError,
    BadRequestError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ValidationIssue,
    error_class_for_status,
)
from .._json import UndecodableJSON, loads
from .headers import parse_datetime, parse_rate_limit, parse_retry_after
from .http import HttpResponse

__all__ = [
    "decode_json_answer",
    "decode_json_object",
    "error_from_response",
    "one_line",
    "raise_misfit",
    "undecodable_error",
    "validation_messages",
]

_MAX_MESSAGE_CHARS: Final = 300
_MAX_TEXT_BODY_CHARS: Final = 2000
_ATTRIBUTE: Final = re.compile(r"\.([a-z][a-z0-9_]*)")


def decode_json_object(response: HttpResponse) -> dict[str, Any]:
    """The JSON object of a 2xx answer, or the right error for anything else.

    Raises:
        APIStatusError: a subclass chosen by status, for any non-2xx answer.
        ResponseDecodeError: not JSON (or not labelled as JSON).
        ResponseValidationError: JSON, but not an object, or ``"success": false``.
    """
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
        raise undecodable_error(response, problem, what=what) from None


def undecodable_error(
    response: HttpResponse, problem: UndecodableJSON, *, what: str
) -> ResponseDecodeError | ResponseValidationError:
    """The error for a body ``_json`` refused: a decode error when it is not JSON (retried),
    a validation error when it is JSON the SDK will not take (the same would come again)."""
    msg = f"{what} {problem.reason} (HTTP {response.status}, {len(response.body)} bytes)"
    error_class = ResponseDecodeError if problem.malformed else ResponseValidationError
    return error_class(
        msg, errors=[f"it {problem.reason} @ $"], body=_text_body(response.body),
        request_id=response.request_id,
    )


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
            return one_line("; ".join(str(issue) for issue in issues)), issues
        error = error.get("message") or error.get("name")
    for candidate in (error, body.get("message"), body.get("code")):
        if isinstance(candidate, str) and candidate.strip():
            return one_line(candidate), []
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


def raise_misfit(what: str, exc: Exception, data: Any, response: HttpResponse) -> NoReturn:
    """Raise the ``ResponseValidationError`` for an answer that does not fit its model.

    ``exc`` is what structuring raised; the message names the first problems with their
    paths spelled as in the answer (``$.visitors[0].hasMore``).
    """
    errors = validation_messages(exc)
    msg = f"{what} does not fit the model: {'; '.join(errors[:3])}"
    raise ResponseValidationError(
        msg, errors=errors, body=data, request_id=response.request_id
    ) from None


def one_line(text: str) -> str:
    """``text`` on one line, at most 300 characters: how every error message reads."""
    line = " ".join(text.split())
    if len(line) > _MAX_MESSAGE_CHARS:
        return line[: _MAX_MESSAGE_CHARS - 1] + "…"
    return line


def _text_body(raw: bytes) -> str:
    return raw[: _MAX_TEXT_BODY_CHARS * 4].decode("utf-8", errors="replace")[:_MAX_TEXT_BODY_CHARS]


def validation_messages(exc: Exception) -> list[str]:
    """One line per problem, with the path spelled as in the answer (``$.visitors[0].hasMore``)."""
    import cattrs  # imported by whatever raised a cattrs error; here only on an error's path

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
    from cattrs.v import format_exception

    return format_exception(exc, target)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
