"""``POST /linkedin/profile/visitors``: one page of profile visitors, free of I/O.

``build_visitors_request`` turns a ``VisitorsQuery`` into bytes; ``parse_visitors_page``
turns an answer into a ``VisitorsPage`` or the right error. The walks decide which queries
to send (see ``_pagination``); the transport moves the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from .. import _converters
from .._json import UndecodableJSON, check_values, holds_long_digit_run, stdlib_loads
from .._models import AppliedFilters, Pagination, Visitor, VisitorsPage
from .errors import decode_json_object, raise_misfit, undecodable_error
from .headers import parse_rate_limit
from .http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    import cattrs

    from .._typed_decode import TypedDecoder

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
class _VisitorsBody:
    """The whole JSON body of a visitors answer (the converter maps the camelCase keys)."""

    has_more: bool
    visitors: tuple[Visitor, ...]
    success: bool | None = None
    account_id: str | None = None
    pagination: Pagination | None = None
    time_range: str | None = None
    filters: AppliedFilters | None = None


# json.dumps with any option builds a new encoder per call; a request per page reuses this one.
_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"))


def build_visitors_request(query: VisitorsQuery) -> HttpRequest:
    """The ``POST /linkedin/profile/visitors`` request for ``query``."""
    body = _COMPACT_JSON.encode(query.to_json()).encode()
    return HttpRequest("POST", VISITORS_PATH, body)


def parse_visitors_page(response: HttpResponse) -> VisitorsPage:
    """Turn one visitors answer into a ``VisitorsPage``.

    One way to the models on each path. With the speed extra, msgspec decodes the answer
    into them and type-checks it in C (``_typed_decode``); without it, or for anything it
    refuses, the core path decodes the JSON (orjson when installed, else json) and the
    package converter structures it, without detailed validation (``fast_converter``).
    Anything the core path cannot take is parsed again by the detailed path (the strict
    json decode, then the detailed converter), which alone decides what is an error and
    how it is worded: the faster paths change speed, never results.

    Before any of them, the body's values are counted (``_json.check_values``): a page
    that could hold more than ``MAX_VALUES`` is refused before anything is decoded or built.

    Raises:
        APIStatusError: a subclass chosen by status, for any non-2xx answer.
        ResponseValidationError: a 2xx whose body is not JSON, holds more values than the
            bound, or does not fit the model.
    """
    body = _fast_body(response)
    if body is None:
        # The detailed path: the strict decode says what is wrong with the JSON, if anything,
        # and the converter what is wrong with the answer (e.g. a lone surrogate, which
        # orjson refuses and json reads, is fine).
        data = decode_json_object(response)
        import cattrs  # with the converter, on first use: not part of the package's import

        try:
            body = _structure(data, response.received_at, _converters.converter)
        except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
            raise_misfit("the visitors answer", exc, data, response)
    return _visitors_page(body, response)


def _fast_body(response: HttpResponse) -> _VisitorsBody | None:
    """The answer's body, or ``None`` when it needs the detailed path (errors, odd values).

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
    typed = _typed_decode()
    # A number too long for the core's decode, which msgspec would skip unread under a key
    # no model has: the core path then refuses the answer, as it does without the extra.
    if typed is not None and not holds_long_digit_run(response.body):
        wire = typed.decode(response.body)
        if wire is not None and wire.success is not False:
            for visitor in wire.visitors:
                # The receive time, as the converter's path puts it into each record.
                visitor.fetched_at = response.received_at
            return typed.build(wire)
    try:
        data = _fast_loads()(response.body)
    except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        return None  # the detailed path says what is wrong
    if type(data) is not dict or data.get("success") is False:
        return None
    try:
        return _structure(data, response.received_at, _converters.fast_converter)
    except Exception:  # any failure: the detailed path decides, and words it
        return None  # the detailed path decodes again, strictly, and words the error


def _structure(
    data: dict[str, Any], received_at: datetime | None, converter: cattrs.Converter
) -> _VisitorsBody:
    """``converter``'s ``_VisitorsBody`` of decoded ``data``.

    Raises:
        cattrs.BaseValidationError: ``data`` does not fit (or ``TypeError``/``ValueError``;
            without detailed validation, any exception).
    """
    visitors = data.get("visitors")
    if type(visitors) is list:
        # The receive time travels with each visitor so it can estimate when the view happened.
        for record in visitors:
            if type(record) is dict:
                record["fetchedAt"] = received_at
    return converter.structure(data, _VisitorsBody)


def _visitors_page(body: _VisitorsBody, response: HttpResponse) -> VisitorsPage:
    time_range = body.time_range
    if time_range is None and body.filters is not None:
        time_range = body.filters.time_range
    return VisitorsPage(
        visitors=body.visitors,
        has_more=body.has_more,
        account_id=body.account_id,
        pagination=body.pagination,
        time_range=time_range,
        filters=body.filters,
        request_id=response.request_id,
        rate_limit=parse_rate_limit(response.headers, now=response.received_at),
        fetched_at=response.received_at,
    )


def _typed_decode() -> TypedDecoder[_VisitorsBody] | None:
    """The speed extra's decoder of a whole answer (msgspec), or ``None`` without msgspec.

    Imported on first use, not with the package, so ``import connectsafely_async`` stays cheap.
    """
    global _typed  # a one-time lazy import
    if _typed is _UNRESOLVED:
        try:
            from .._typed_decode import TypedDecoder  # imports msgspec, optional
        except ImportError:
            _typed = None
        else:
            _typed = TypedDecoder(_VisitorsBody)
    return _typed


def _fast_loads() -> Callable[[bytes], Any]:
    """``orjson.loads`` when installed, else a strict ``json.loads``: the core path's decode.

    Imported on first use, not with the package, so ``import connectsafely_async`` stays cheap.
    orjson is stricter than json (no NaN, no lone surrogates, huge integers become floats);
    whatever it refuses or reads differently fails the core path and is read again by json.
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


_UNRESOLVED: Final[Any] = object()
_typed: TypedDecoder[_VisitorsBody] | None = _UNRESOLVED
_loads: Callable[[bytes], Any] | None = None
