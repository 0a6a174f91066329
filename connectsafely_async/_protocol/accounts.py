"""``GET /linkedin/accounts``: the LinkedIn accounts of the workspace, free of I/O.

The answer is a bare JSON array of accounts (``id``, ``firstName``, ``lastName``,
``publicId``, ``picture``, ``status``, ``enabled``). Building the request and reading the
answer are pure functions, tested with bytes like the rest of the protocol.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

import attrs

from .. import _converters
from .errors import decode_json_answer, error_from_response, raise_misfit
from .http import HttpRequest, HttpResponse

__all__ = ["ACCOUNTS_PATH", "Account", "build_accounts_request", "parse_accounts"]

ACCOUNTS_PATH: Final = "/linkedin/accounts"


@attrs.frozen
class Account:
    """One LinkedIn account connected to the workspace; only ``id`` is always there.

    Attributes:
        id: the account id to pass as ``account_id`` (24 hex digits).
        status: the service's own word for the account's state, e.g. ``"RUNNING"``.
        enabled: whether the account is enabled in the workspace.
    """

    id: str
    first_name: str | None = None
    last_name: str | None = None
    public_id: str | None = None
    picture: str | None = None
    status: str | None = None
    enabled: bool | None = None


def build_accounts_request(query: str | None = None) -> HttpRequest:
    """The ``GET /linkedin/accounts`` request, with ``?q=`` when ``query`` is given."""
    if not query:
        return HttpRequest("GET", ACCOUNTS_PATH)
    return HttpRequest("GET", f"{ACCOUNTS_PATH}?{urlencode({'q': query})}")


def parse_accounts(response: HttpResponse) -> tuple[Account, ...]:
    """Turn the accounts answer into ``Account``s, in the service's order.

    Raises:
        APIStatusError: a subclass chosen by status, for any non-2xx answer.
        ResponseValidationError: a 2xx that is not a JSON array of accounts.
    """
    if not 200 <= response.status < 300:
        raise error_from_response(response)
    data = decode_json_answer(response, what="the accounts answer")
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        return _converters.converter.structure(data, tuple[Account, ...])
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the accounts answer", exc, data, response)
