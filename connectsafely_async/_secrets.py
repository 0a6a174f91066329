"""Containers that keep the API key, and URLs with passwords, out of reprs, logs and
tracebacks with locals."""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote

from ._urls import describe_url

__all__ = ["REDACTED", "Secret", "SecretHeaders", "SecretURL"]

REDACTED: Final = "[REDACTED]"


class Secret:
    """The API key. Its repr and str are redacted; ``reveal()`` is the one way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself: for the Authorization header and for redaction, nothing else."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __reduce__(self) -> str:
        # Pickling would write the key to disk or across a process boundary.
        msg = "the API key cannot be pickled"
        raise TypeError(msg)


class SecretHeaders(dict[str, str]):
    """Request headers whose repr hides every value (tracebacks with locals show reprs)."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{name!r}: {REDACTED!r}" for name in self) + "}"


class SecretURL(Secret):
    """A URL that may carry a password (a store's DSN, a Redis URL).

    Its repr names where it points (``describe_url``), never the password; ``reveal()`` is
    for the call into the driver alone, so no frame of ours holds the URL as a local.
    """

    __slots__ = ("_described",)

    def __init__(self, value: str, *, keep_user: bool = True) -> None:
        super().__init__(value)
        self._described = describe_url(value, keep_user=keep_user)

    @property
    def described(self) -> str:
        """Where the URL points, without its password, query or fragment."""
        return self._described

    def redact(self, text: str) -> str:
        """``text`` without the URL's password, as written or percent-decoded (as a driver
        would quote it): for the messages built from a driver's errors."""
        userinfo, at, _ = self._value.partition("://")[2].rpartition("@")
        password = userinfo.partition(":")[2] if at else ""
        for spelling in sorted({password, unquote(password)} - {""}, key=len, reverse=True):
            text = text.replace(spelling, REDACTED)
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._described!r})"

    __str__ = __repr__

    def __reduce__(self) -> str:
        msg = "a URL that may hold a password cannot be pickled"
        raise TypeError(msg)
