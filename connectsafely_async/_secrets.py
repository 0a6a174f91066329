"""Containers that keep the API key out of reprs, logs and tracebacks with locals."""

from __future__ import annotations

from typing import Final

__all__ = ["REDACTED", "Secret", "SecretHeaders"]

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
