"""The wire protocol, free of I/O: build requests, turn answers into data or errors.

Everything here takes and returns plain values (bytes, headers, datetimes), so every quirk of
the service can be tested with bytes alone. The transport moves the bytes; the client wires
the two together. One module per job:

- ``http``: the request and answer values, and the ``Redactor`` every answer passes first;
- ``headers``: rate-limit headers, ``Retry-After`` and dates, in every spelling;
- ``errors``: the right error for any answer, shared by every endpoint;
- ``visitors``, ``accounts``: one module per endpoint, its request builder and its parser;
- ``account_status``, ``relationship``, ``message``, ``invitation``, ``profile``: the calls
  that follow "who viewed my profile", one module each, and ``followup``, the identifiers
  they share.

The package re-exports what every endpoint shares (``http``, ``headers``, ``errors``,
``followup``); an endpoint's builder, parser and result type are imported from its own
module, so a new endpoint adds its module and registers nothing here.
"""

from .errors import decode_json_answer, decode_json_object, error_from_response
from .followup import check_account_id, check_person, is_urn
from .headers import parse_datetime, parse_rate_limit, parse_retry_after
from .http import HttpRequest, HttpResponse, Redactor

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "Redactor",
    "check_account_id",
    "check_person",
    "decode_json_answer",
    "decode_json_object",
    "error_from_response",
    "is_urn",
    "parse_datetime",
    "parse_rate_limit",
    "parse_retry_after",
]
