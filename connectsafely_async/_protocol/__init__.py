"""The wire protocol, free of I/O: build requests, turn answers into data or errors.

Everything here takes and returns plain values (bytes, headers, datetimes), so every quirk of
the service can be tested with bytes alone. The transport moves the bytes; the client wires
the two together. One module per job:

- ``http``: the request and answer values, and the ``Redactor`` every answer passes first;
- ``headers``: rate-limit headers, ``Retry-After`` and dates, in every spelling;
- ``errors``: the right error for any answer, shared by every endpoint;
- ``visitors``, ``accounts``: one module per endpoint, its request builder and its parser.
"""

from .accounts import ACCOUNTS_PATH, Account, build_accounts_request, parse_accounts
from .errors import decode_json_answer, decode_json_object, error_from_response
from .headers import parse_datetime, parse_rate_limit, parse_retry_after
from .http import HttpRequest, HttpResponse, Redactor
from .visitors import VISITORS_PATH, VisitorsQuery, build_visitors_request, parse_visitors_page

__all__ = [
    "ACCOUNTS_PATH",
    "VISITORS_PATH",
    "Account",
    "HttpRequest",
    "HttpResponse",
    "Redactor",
    "VisitorsQuery",
    "build_accounts_request",
    "build_visitors_request",
    "decode_json_answer",
    "decode_json_object",
    "error_from_response",
    "parse_accounts",
    "parse_datetime",
    "parse_rate_limit",
    "parse_retry_after",
    "parse_visitors_page",
]
