"""``POST /linkedin/profile/visitors``: one page of profile visitors, free of I/O.

``build_visitors_request`` turns a ``VisitorsQuery`` into bytes; ``parse_visitors_page``
turns an answer into a ``VisitorsPage`` or the right error. The walks decide which queries
to send (see ``_pagination``); the transport moves the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import attrs

from .. import _converters
from .._converters import records_builder, structure_visitors
from .._json import UndecodableJSON, check_values, stdlib_loads
from .._models import AppliedFilters, Pagination, Visitor, VisitorsPage
from .errors import decode_json_object, raise_misfit, undecodable_error
from .headers import parse_rate_limit
from .http import HttpRequest, HttpResponse

__all__ = [
    "VISITORS_PATH",
    "VisitorsQuery",
    "build_visitors_request",
    "parse_visitors_page",
]

VISITORS_PATH: Final = "/linkedin/profile/visitors"


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


# Built once at import, like the visitors' builder; None if a model change ever makes the
# head unfit for one: then every page takes the detailed path, slower but the same.
_build_head: Final = records_builder(_VisitorsHead)

# json.dumps with any option builds a new encoder per call; a request per page reuses this one.
_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"))


def build_visitors_request(query: VisitorsQuery) -> HttpRequest:
    """The ``POST /linkedin/profile/visitors`` request for ``query``."""
    body = _COMPACT_JSON.encode(query.to_json()).encode()
    return HttpRequest("POST", VISITORS_PATH, body)


def parse_visitors_page(response: HttpResponse) -> VisitorsPage:
    """Turn one visitors answer into a ``VisitorsPage``.

    A well-formed answer takes the fast path (orjson when installed, the builders of the
    visitors and of the head: no converter);
    anything unusual is parsed again by the detailed path, which alone decides what is an
    error and how it is worded, so the fast path changes speed, never results.

    Before either, the body's values are counted (``_json.check_values``): a page that
    could hold more than ``MAX_VALUES`` is refused before anything is decoded or built.

    Raises:
        APIStatusError: a subclass chosen by status, for any non-2xx answer.
        ResponseValidationError: a 2xx whose body is not JSON, holds more values than the
            bound, or does not fit the model.
    """
    page = _parse_visitors_page_fast(response)
    if page is not None:
        return page
    data = decode_json_object(response)
    page = _built_page(data, response)
    if page is not None:
        return page  # e.g. a lone surrogate: orjson refuses it, json reads it
    visitors = data.get("visitors")
    if type(visitors) is list:
        # The receive time travels with each visitor so it can estimate when the view happened.
        for record in visitors:
            if type(record) is dict:
                record["fetchedAt"] = response.received_at
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        body = _converters.converter.structure(data, _VisitorsBody)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the visitors answer", exc, data, response)
    return _visitors_page(body, body.visitors, response)


def _parse_visitors_page_fast(response: HttpResponse) -> VisitorsPage | None:
    """The page, or ``None`` when the answer needs the detailed path (errors, odd values).

    Raises:
        ResponseValidationError: the body holds more values than the bound (raised here, as
            the detailed path would word it: counting again would double the cost).
    """
    if not 200 <= response.status < 300:
        return None
    content_type = response.content_type
    if content_type and "json" not in content_type:
        return None
    try:
        # Before anything is decoded, and once: the detailed path would count again.
        check_values(response.body)
    except UndecodableJSON as problem:
        raise undecodable_error(response, problem, what="the answer") from None
    try:
        data = _fast_loads()(response.body)
    except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        return None  # the detailed path says what is wrong
    if type(data) is not dict or data.get("success") is False:
        return None
    return _built_page(data, response)


def _built_page(data: dict[str, Any], response: HttpResponse) -> VisitorsPage | None:
    """The page the builders make of decoded ``data``, or ``None`` if one of them refuses."""
    visitors = structure_visitors(data.get("visitors"), response.received_at)
    if visitors is None or _build_head is None:
        return None
    # The head's builder reads only _VisitorsHead's keys: "visitors" is not looked at.
    heads = _build_head([data])
    if heads is None:
        return None
    return _visitors_page(heads[0], visitors, response)


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
