"""The ``POST /linkedin/profile/visitors`` endpoint as pure functions: validate, page, answer.

No I/O here: :func:`parse_query` turns a decoded JSON body into a :class:`VisitorsQuery` or
an error :class:`Reply`, :func:`paginate` slices a visitor list under one reading of the
ambiguous ``maxVisitors`` field, and :func:`visitors_body` shapes the vendor's 200 answer,
quirks included.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from ._data import normalize_time_range

__all__ = [
    "MaxVisitorsMode",
    "Page",
    "Reply",
    "VisitorsQuery",
    "paginate",
    "parse_query",
    "visitors_body",
]


class MaxVisitorsMode(str, enum.Enum):
    """How the fake reads ``maxVisitors``; the vendor documents it ambiguously.

    With ``items`` the visitors in the time range, ``s = start``, ``c = count`` and
    ``m = maxVisitors``:

    ``PER_REQUEST``
        ``m`` caps this one response: ``items[s : s + min(c, m)]``; ``hasMore`` is true
        while visitors remain after the page.
    ``TOTAL``
        ``m`` caps the total counted from offset 0: ``items[s : min(s + c, m)]`` (empty
        once ``s >= m``); ``hasMore`` is still computed against all visitors.
    ``TOTAL_CAPS_HAS_MORE``
        Same slice as ``TOTAL`` but ``hasMore`` is computed against ``min(total, m)``, so a
        page that reaches the cap reports that nothing more exists.

    With ``fetchAll: true`` the count is ignored: ``items[s : s + m]`` under
    ``PER_REQUEST``, ``items[s : m]`` under the total modes.
    """

    PER_REQUEST = "per_request"
    TOTAL = "total"
    TOTAL_CAPS_HAS_MORE = "total_caps_has_more"


@attrs.frozen
class Reply:
    """A JSON answer before it becomes an HTTP response, with headers of its own (an
    action's ``X-RateLimit-*``, which replace the key's)."""

    status: int
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen(kw_only=True)
class VisitorsQuery:
    """A validated visitors request, defaults applied."""

    account_id: str | None
    time_range: str
    count: int
    start: int
    fetch_all: bool
    max_visitors: int


@attrs.frozen
class Page:
    """One page of visitors and whether the server claims more exist."""

    visitors: list[dict[str, Any]]
    has_more: bool


_DEFAULT_TIME_RANGE: Final = "past_90_days"

_JSON_TYPE_NAMES: Final[Mapping[type, str]] = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def parse_query(body: object) -> VisitorsQuery | Reply:
    """Validate a decoded request body the way the service's Zod schema does.

    Returns:
        The query, or a 400 :class:`Reply` in the ZodError shape (every bad field listed) or
        in the ``validation_error`` shape for an unknown time range.
    """
    if not isinstance(body, dict):
        return _zod_error([_type_issue([], "object", body)])
    issues: list[dict[str, Any]] = []
    account_id = _optional_string(body, "accountId", issues)
    time_range = _optional_string(body, "timeRange", issues)
    count = _integer(body, "count", 20, 1, issues)
    start = _integer(body, "start", 0, 0, issues)
    fetch_all = _boolean(body, "fetchAll", False, issues)
    max_visitors = _integer(body, "maxVisitors", 20, 1, issues)
    if issues:
        return _zod_error(issues)
    if time_range is None:
        time_range = _DEFAULT_TIME_RANGE
    applied = normalize_time_range(time_range)
    if applied is None:
        return Reply(
            400,
            {
                "success": False,
                "code": "validation_error",
                "message": f"Invalid timeRange: {time_range}",
            },
        )
    return VisitorsQuery(
        account_id=account_id,
        time_range=applied,
        count=count,
        start=start,
        fetch_all=fetch_all,
        max_visitors=max_visitors,
    )


def paginate(items: Sequence[dict[str, Any]], query: VisitorsQuery, mode: MaxVisitorsMode) -> Page:
    """Slice *items* for *query* under one reading of ``maxVisitors`` (see MaxVisitorsMode)."""
    total, s, c, m = len(items), query.start, query.count, query.max_visitors
    if mode is MaxVisitorsMode.PER_REQUEST:
        end = s + m if query.fetch_all else s + min(c, m)
    else:
        end = m if query.fetch_all else min(s + c, m)
    returned = list(items[s:end]) if end > s else []
    limit = min(total, m) if mode is MaxVisitorsMode.TOTAL_CAPS_HAS_MORE else total
    return Page(returned, s + len(returned) < limit)


def visitors_body(
    query: VisitorsQuery,
    *,
    account_id: str,
    page: Page,
    total: int,
    echo_time_range: bool,
) -> dict[str, Any]:
    """Shape a 200 answer like the vendor's example, quirks and all.

    ``pagination.count`` is the *requested* count, ``pagination.total`` the number of
    visitors in the range, and the top-level ``timeRange`` is null (unless
    *echo_time_range*) while ``filters.timeRange`` holds the applied value.
    """
    return {
        "success": True,
        "accountId": account_id,
        "visitors": page.visitors,
        "pagination": {"start": query.start, "count": query.count, "total": total},
        "hasMore": page.has_more,
        "timeRange": query.time_range if echo_time_range else None,
        "filters": {
            "timeRange": query.time_range,
            "count": query.count,
            "start": query.start,
            "fetchAll": query.fetch_all,
            "maxVisitors": query.max_visitors,
        },
    }


def _zod_error(issues: list[dict[str, Any]]) -> Reply:
    return Reply(400, {"success": False, "error": {"name": "ZodError", "issues": issues}})


def _type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), "unknown")


def _type_issue(path: list[str], expected: str, value: object) -> dict[str, Any]:
    received = "float" if expected == "integer" else _type_name(value)
    return {
        "code": "invalid_type",
        "expected": expected,
        "received": received,
        "path": path,
        "message": f"Expected {expected}, received {received}",
    }


def _optional_string(body: dict[str, Any], field: str, issues: list[dict[str, Any]]) -> str | None:
    if field not in body:
        return None
    value = body[field]
    if not isinstance(value, str):
        issues.append(_type_issue([field], "string", value))
        return None
    return value


def _boolean(body: dict[str, Any], field: str, default: bool, issues: list[dict[str, Any]]) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        issues.append(_type_issue([field], "boolean", value))
        return default
    return value


def _integer(
    body: dict[str, Any], field: str, default: int, minimum: int, issues: list[dict[str, Any]]
) -> int:
    value = body.get(field, default)
    # JSON has one number type: 10.0 is an integer to the service, True is not a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(_type_issue([field], "number", value))
        return default
    if isinstance(value, float) and not value.is_integer():
        issues.append(_type_issue([field], "integer", value))
        return default
    if value < minimum:
        bound = "greater than 0" if minimum == 1 else f"greater than or equal to {minimum}"
        issues.append(
            {
                "code": "too_small",
                "minimum": minimum,
                "type": "number",
                "inclusive": True,
                "exact": False,
                "path": [field],
                "message": f"Number must be {bound}",
            }
        )
        return default
    return int(value)
