"""What the follow-up calls share: their identifiers, checked before any request, and the
JSON body of a POST.

An account id is 24 hexadecimal digits (it may land in a URL path, so nothing else gets
through). A person is named by a public identifier (the slug of ``linkedin.com/in/<slug>``)
or by a profile URN (``urn:li:fsd_profile:...``), which the service prefers when known.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from .http import HttpRequest

__all__ = [
    "URN_PREFIX",
    "check_account_id",
    "check_person",
    "is_urn",
    "person_fields",
    "post_json",
]

URN_PREFIX: Final = "urn:li:"
_ACCOUNT_ID: Final = re.compile(r"[0-9a-fA-F]{24}")
_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"))


def check_account_id(value: Any) -> str | None:
    """``None`` (the default account), or a 24-hex-digit account id.

    Raises:
        TypeError: not a string.
        ValueError: not 24 hexadecimal digits.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"account_id must be a string, got {type(value).__name__}"
        raise TypeError(msg)
    if not _ACCOUNT_ID.fullmatch(value):
        msg = f"account_id must be 24 hexadecimal digits, got {value[:40]!r}"
        raise ValueError(msg)
    return value


def check_person(name: str, value: Any) -> str:
    """A public identifier or a profile URN: one printable word, no spaces.

    Raises:
        TypeError: not a string.
        ValueError: empty, or holding spaces or unprintable characters.
    """
    if not isinstance(value, str):
        msg = f"{name} must be a string, got {type(value).__name__}"
        raise TypeError(msg)
    if not value or not value.isprintable() or any(c.isspace() for c in value):
        msg = f"{name} must be a public identifier or a urn:li: URN, got {value[:60]!r}"
        raise ValueError(msg)
    return value


def is_urn(person: str) -> bool:
    """Whether ``person`` is a URN (``urn:li:...``) rather than a public identifier."""
    return person.startswith(URN_PREFIX)


def person_fields(person: str, *, id_key: str, urn_key: str) -> dict[str, str]:
    """The one body field naming ``person``: ``urn_key`` for a URN, else ``id_key``."""
    return {urn_key if is_urn(person) else id_key: person}


def post_json(path: str, body: dict[str, Any]) -> HttpRequest:
    """A POST of ``body`` as compact JSON (ASCII: any text, even a lone surrogate, encodes)."""
    return HttpRequest("POST", path, _COMPACT_JSON.encode(body).encode())
