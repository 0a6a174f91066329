"""HTTP values, and the scrub every answer passes before anything reads it.

``HttpRequest`` and ``HttpResponse`` are what the protocol builds and parses and what the
transport moves: plain values, so every quirk of the service can be tested with bytes.

A server can echo the key back: in an error message, in a visitor's field, in a header. JSON
lets it spell every character another way (``\\u0061`` or ``\\u0041``-style escapes, ``\\/``
for ``/``), and ``json.loads`` would bring the plain key back to life in a decoded value, an
error's ``body`` or a ``repr``. So the client passes every answer through one
:class:`Redactor` before parsing: it rewrites each spelling of the key in the raw bytes to
``[REDACTED]`` and each header value that holds it.

An answer that is not HTTP at all never reaches it: the HTTP parser quotes the raw bytes in
its own error (``b"HTTP/1.1 2x0 <key>"``), escaped the way Python's ``repr`` escapes them.
``Redactor.redact_text`` scrubs such a text (the sender passes every error's through it),
whatever run of backslashes a ``repr``, a ``repr`` of a ``repr`` or a JSON escape put in
front of a character.

It runs on every answer, so the common case must be nearly free: a plain search for the key
(a few µs for a 40 KB page), and the escape-aware pattern only when the body holds an escape
that could spell one of the key's characters (well-behaved servers write ASCII as ASCII, and
escape only quotes, backslashes, control characters and, for some, non-ASCII text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Final

import attrs
from multidict import CIMultiDict, CIMultiDictProxy  # aiohttp's own header type

from .._secrets import REDACTED, Secret

__all__ = ["HttpRequest", "HttpResponse", "Redactor"]


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


_REDACTED: Final = REDACTED.encode()
# An escape of an ASCII character: the only kind that can spell a character of a key.
_ASCII_ESCAPE: Final = re.compile(rb"\\u00[0-7]")
_OCTAL_DIGITS: Final = frozenset(bytes([d]) for d in b"01234567")
_SCAN_LIMIT: Final = 24
_SHORT_ESCAPES: Final = {'"': rb'\"', "\\": rb"\\", "/": rb"\/"}


def _any_case_hex(code: int, width: int) -> str:
    """``code`` in hex as a regex that takes either case (``\\u004A`` and ``\\u004a``)."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{code:0{width}x}")


def _spellings(char: str) -> bytes:
    """A regex alternation of every way JSON can write ``char`` inside a string."""
    spellings = [re.escape(char).encode(), rb"\\u" + _any_case_hex(ord(char), 4).encode()]
    if char in _SHORT_ESCAPES:
        spellings.append(re.escape(_SHORT_ESCAPES[char]))
    return b"(?:" + b"|".join(spellings) + b")"


def _text_spellings(char: str) -> str:
    """A regex alternation of every way a quoted text (``repr``, ``ascii``, bytes' ``repr``,
    JSON, any of these nested) can write ``char``.

    Each escape level doubles the backslashes in front, so any run of them is accepted; a
    backslash matched in front of a character that needed none only widens the redaction.
    """
    if char == "\\":
        return r"\\+"
    code = _any_case_hex(ord(char), 2)
    return rf"(?:\\*{re.escape(char)}|\\+(?:u00{code}|x{code}))"


class Redactor:
    """Replaces the key in answers; built once per client, called on every answer.

    Args:
        secret: the API key (an empty key redacts nothing).
    """

    __slots__ = ("_escapes", "_key", "_needle", "_pattern", "_text_pattern")

    def __init__(self, secret: Secret) -> None:
        key = secret.reveal()
        self._key = key
        self._needle = key.encode()
        # The escaped spellings, compiled on first need (most clients never see one).
        self._pattern: re.Pattern[bytes] | None = None
        self._text_pattern: re.Pattern[str] | None = None
        # Short escapes that could spell a character of this key (``\"`` for a key with ").
        self._escapes = frozenset(_SHORT_ESCAPES[c] for c in set(key) & set(_SHORT_ESCAPES))
        del key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({REDACTED!r})"

    def __reduce__(self) -> str:
        msg = "a Redactor holds the API key and cannot be pickled"
        raise TypeError(msg)

    def __call__(self, response: HttpResponse) -> HttpResponse:
        """``response`` with every spelling of the key replaced, or itself when it has none."""
        needle = self._needle
        if not needle:
            return response
        body = response.body
        if needle in body or self._may_spell_escaped(body):
            body = self._scrub(body)
        headers = response.headers
        if any(self._key in value for value in headers.values()):
            headers = self._scrub_headers(headers)
        if body is response.body and headers is response.headers:
            return response
        return attrs.evolve(response, body=body, headers=headers)

    def redact_text(self, text: str) -> str:
        """``text`` with every spelling of the key replaced: plain, or as a quoting escaped it.

        For texts the answer scrub never saw: what a parser, a driver or the transport wrote
        about an answer (it may quote the answer's raw bytes, and so an echoed key).
        """
        key = self._key
        if not key or (key not in text and "\\" not in text):
            return text
        if "\\" not in text:
            return text.replace(key, REDACTED)
        if self._text_pattern is None:
            spelled = "".join(_text_spellings(c) for c in key)
            self._text_pattern = re.compile(spelled)
        return self._text_pattern.sub(REDACTED, text)

    def _may_spell_escaped(self, body: bytes) -> bool:
        """Whether ``body`` holds an escape that could spell a character of the key.

        Backslashes are found with memchr, so a page with a few escaped quotes costs a few
        µs; past ``_SCAN_LIMIT`` of them (a server that escapes all non-ASCII text), one
        regex pass over the rest costs less than looking at each.
        """
        find, escapes = body.find, self._escapes
        at = find(b"\\")
        for _ in range(_SCAN_LIMIT):
            if at == -1:
                return False
            # startswith compares in place (no slice); most keys need no short escape at all.
            if body.startswith(b"u00", at + 1) and body[at + 4 : at + 5] in _OCTAL_DIGITS:
                return True
            if escapes and body[at : at + 2] in escapes:
                return True
            at = find(b"\\", at + 2)  # past the escaped character (``\\\\`` included)
        if at == -1:
            return False
        return _ASCII_ESCAPE.search(body, at) is not None or any(
            escape in body for escape in self._escapes
        )

    def _scrub(self, body: bytes) -> bytes:
        if self._pattern is None:
            self._pattern = re.compile(b"".join(_spellings(c) for c in self._key))
        return self._pattern.sub(_REDACTED, body)

    def _scrub_headers(self, headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
        key = self._key
        return CIMultiDictProxy(
            CIMultiDict((name, value.replace(key, REDACTED)) for name, value in headers.items())
        )
