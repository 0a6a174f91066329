"""Checks for caller-supplied arguments, run before any request is sent.

A wrong type raises ``TypeError``, a wrong value ``ValueError``; ``bool`` is never accepted
where a number belongs (``True`` is an ``int`` to Python, never a page size to us).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

__all__ = [
    "check_bool",
    "check_clock",
    "check_meta",
    "check_non_negative_int",
    "check_optional_text",
    "check_positive_int",
    "check_prefetch",
    "check_timeout",
    "check_window",
]

#: The most pages a walk may request ahead. Each one is a request the service counts
#: (60 a minute per key, about 30 reads a minute per account) and a page held in memory;
#: past a handful, look-ahead no longer hides latency, it only spends the budget.
MAX_PREFETCH: Final = 16


def _require_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an int, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def check_positive_int(name: str, value: Any) -> int:
    if _require_int(name, value) < 1:
        msg = f"{name} must be at least 1, got {value}"
        raise ValueError(msg)
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    if _require_int(name, value) < 0:
        msg = f"{name} must be 0 or more, got {value}"
        raise ValueError(msg)
    return int(value)


def check_prefetch(value: Any) -> int:
    if check_non_negative_int("prefetch", value) > MAX_PREFETCH:
        msg = f"prefetch must be at most {MAX_PREFETCH}, got {value}"
        raise ValueError(msg)
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        msg = f"{name} must be a bool, got {type(value).__name__}"
        raise TypeError(msg)
    return value


def check_meta(value: Any) -> dict[str, str] | None:
    """``None``, or settings for a store: a mapping of texts to texts (``set_meta``'s)."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
            isinstance(key, str) and isinstance(text, str) for key, text in value.items()):
        msg = f"meta must be a mapping of str to str or None, got {type(value).__name__}"
        raise TypeError(msg)
    return dict(value)


def check_optional_text(name: str, value: Any) -> str | None:
    """``None``, or a non-empty single-line string (str enums such as ``TimeRange`` included)."""
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{name} must be a string, got {type(value).__name__}"
        raise TypeError(msg)
    text = str(value.value) if isinstance(value, Enum) else str(value)
    if not text or not text.isprintable() or text != text.strip():
        msg = f"{name} must be a non-empty string without surrounding spaces, got {text!r}"
        raise ValueError(msg)
    return text


def check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"timeout must be a number of seconds, got {type(value).__name__}"
        raise TypeError(msg)
    if not (math.isfinite(value) and value > 0):
        msg = f"timeout must be a finite number of seconds above 0, got {value}"
        raise ValueError(msg)
    return float(value)


def check_window(value: Any) -> float | None:
    """``None`` ("however long"), or a finite number of seconds, 0 or more."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"resume_within must be a number of seconds or None, got {type(value).__name__}"
        raise TypeError(msg)
    if not (math.isfinite(value) and value >= 0):
        msg = f"resume_within must be a finite number of seconds, 0 or more, got {value}"
        raise ValueError(msg)
    return float(value)


def check_clock(value: Any) -> None:
    if value is not None and not callable(value):
        msg = f"clock must be callable or None, got {type(value).__name__}"
        raise TypeError(msg)
