"""Visitors as data frames, for the optional ``pandas`` and ``polars`` extras.

Neither library is a dependency: each is imported when a frame is asked for, and its
absence is one clear ``ImportError`` saying which extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._display import RECORD_FIELDS, records

if TYPE_CHECKING:
    from ._models import Visitor

__all__ = ["to_pandas", "to_polars"]

_TIMES = ("fetched_at", "estimated_viewed_at")


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        msg = (
            f"{module} is not installed: pip install 'connectsafely-async[{module}]' "
            f"(or pip install {module})"
        )
        raise ImportError(msg, name=module) from error


def to_pandas(visitors: Sequence[Visitor]) -> Any:
    """A ``pandas.DataFrame`` of *visitors*, the record columns in their order."""
    pandas = _require("pandas")
    frame = pandas.DataFrame.from_records(records(visitors), columns=list(RECORD_FIELDS))
    for column in _TIMES:
        frame[column] = pandas.to_datetime(frame[column], utc=True)
    return frame


def to_polars(visitors: Sequence[Visitor]) -> Any:
    """A ``polars.DataFrame`` of *visitors*, the record columns in their order."""
    polars = _require("polars")
    # Every column typed up front: a page of anonymous visitors is all nulls, and polars
    # would otherwise guess a Null dtype that a second page cannot be appended to.
    schema = dict.fromkeys(RECORD_FIELDS, polars.String)
    schema["is_anonymous"] = polars.Boolean
    schema["viewed_ago_seconds"] = polars.Int64
    frame = polars.DataFrame(records(visitors), schema=schema, orient="row")
    return frame.with_columns(
        polars.col(column).str.to_datetime(time_zone="UTC") for column in _TIMES
    )
