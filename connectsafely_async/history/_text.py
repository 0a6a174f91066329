"""The one rule for text between the parser and every store: pure, no I/O.

The parser hands on any string valid JSON can spell, and a store must record it and read it
back the same on every engine, so that a name never pins a history. Two things cannot be
stored as they are:

- a lone surrogate (the JSON escape ``"\\ud800"``): UTF-8 cannot encode it, and SQLite and
  PostgreSQL both store UTF-8;
- NUL (``"\\u0000"``): PostgreSQL's text refuses it.

Each becomes U+FFFD (the replacement character) in what the store records; everything else is
kept byte for byte. An identity key longer than ``MAX_KEY_BYTES`` (a 5 KB URN) is stored as
the SHA-256 digest of the key (``sha256:<hex>``), so that it fits any engine's index: the same
visitor always gives the same key, and two different keys practically never share a digest.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import struct
from collections.abc import Sequence
from typing import Any, Final

import attrs

from .._models import Visitor

__all__ = [
    "MAX_KEY_BYTES", "REPLACEMENT", "key_number", "storable_key", "storable_text",
    "storable_visitor", "storable_visitors",
]

#: What a character no store can hold becomes.
REPLACEMENT: Final = "\ufffd"
#: The longest identity key kept as it is (PostgreSQL's index rows hold about 2.7 KB).
MAX_KEY_BYTES: Final = 512

_TEXT_FIELDS: Final = (
    "entity_urn", "public_identifier", "name", "headline", "profile_picture", "viewed_at",
    "connection_degree", "profile_url", "navigation_url",
)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def storable_text(text: str) -> str:
    """``text`` with every NUL and lone surrogate replaced by U+FFFD (else ``text`` itself)."""
    if _storable(text):
        return text
    return "".join(REPLACEMENT if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in text)


def storable_visitor(visitor: Visitor) -> Visitor:
    """``visitor`` as every store records it (itself when nothing needs replacing)."""
    values = [getattr(visitor, name) for name in _TEXT_FIELDS]
    if _storable("".join(value for value in values if value)):
        return visitor
    changes: dict[str, Any] = {
        name: storable_text(value)
        for name, value in zip(_TEXT_FIELDS, values, strict=True) if value
    }
    return attrs.evolve(visitor, **changes)


_texts = operator.attrgetter(*_TEXT_FIELDS)


def storable_visitors(visitors: Sequence[Visitor]) -> Sequence[Visitor]:
    """``visitors`` as every store records them: checked as one text (a page is almost
    always clean, and then it is returned as it is), else visitor by visitor."""
    texts = filter(None, itertools.chain.from_iterable(map(_texts, visitors)))
    if _storable("".join(texts)):
        return visitors
    return list(map(storable_visitor, visitors))


def storable_key(key: str) -> str:
    """``key``, or its ``sha256:`` digest when it is longer than ``MAX_KEY_BYTES``."""
    if len(key) * 4 <= MAX_KEY_BYTES or len(key.encode()) <= MAX_KEY_BYTES:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_number(key: str) -> int:
    """A 64-bit number for ``key``: the first 8 bytes of its SHA-256, big-endian, signed.

    A store indexes an alias by this number rather than by its text: an index entry of 8
    bytes instead of some 60, so the random keys of a page of new visitors land on a few
    pages of a small index, not each on a page of its own. Two keys may share a number
    (practically never): a lookup by number always checks the key itself too. PostgreSQL
    computes the same number as ``('x' || left(encode(sha256(convert_to(key, 'UTF8')),
    'hex'), 16))::bit(64)::bigint``.
    """
    number: int = _first_8_bytes(hashlib.sha256(key.encode()).digest())[0]
    return number


# (Unpacked by a struct: a third faster than int.from_bytes of a slice, per key of a page.)
_first_8_bytes: Final = struct.Struct(">q").unpack_from
