"""Visitors as data frames, for the optional ``pandas`` and ``polars`` extras.

Neither library is a dependency: each is imported when a frame is asked for, and its
absence is one clear ``ImportError`` saying which extra to install.

:func:`pandas_frame` is the one way the package builds a ``pandas.DataFrame`` from records
with datetime columns (the visitors' here, a history's elsewhere). pandas keeps datetimes
as nanoseconds, which reach only from 1677 to 2262, while an estimate read from "Viewed
2100y ago" is year 1: such a value becomes ``NaT`` there instead of an exception.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final

from ._display import RECORD_FIELDS, records

if TYPE_CHECKING:
    from ._models import Visitor

__all__ = ["PANDAS_TIME_DTYPE", "pandas_frame", "to_pandas", "to_polars"]

_TIMES: Final = ("fetched_at", "estimated_viewed_at")
#: The dtype of every datetime column :func:`pandas_frame` builds, on pandas 2 and 3 alike
#: (pandas 3 would otherwise pick microseconds for some inputs and nanoseconds for others).
PANDAS_TIME_DTYPE: Final = "datetime64[ns, UTC]"
# What datetime64[ns] holds (pandas.Timestamp.min/max), kept a second inside its ends.
_NS_EARLIEST: Final = datetime(1677, 9, 21, 0, 12, 44, tzinfo=timezone.utc)
_NS_LATEST: Final = datetime(2262, 4, 11, 23, 47, 15, tzinfo=timezone.utc)


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        msg = (
            f"{module} is not installed: pip install 'connectsafely-async[{module}]' "
            f"(or pip install {module})"
        )
        raise ImportError(msg, name=module) from error


def pandas_frame(
    rows: Iterable[Mapping[str, object]],
    *,
    columns: Sequence[str] | None = None,
    times: Iterable[str] = (),
) -> Any:
    """A ``pandas.DataFrame`` of plain records, the columns named in ``times`` as datetimes.

    Each value of a ``times`` column may be an aware or naive ``datetime`` (naive is read as
    UTC), an ISO-8601 string (``datetime.fromisoformat``'s spelling, as ``isoformat()``
    writes it) or missing (``None``, NaN). The column becomes ``PANDAS_TIME_DTYPE``; a
    missing value, or one outside what that dtype holds (before 1677-09-21 or after
    2262-04-11), becomes ``NaT``. A ``times`` name that is not a column is skipped.

    Args:
        rows: one mapping per row, e.g. ``to_dicts()`` or a history's records.
        columns: the columns, in order (pandas' choice from the rows when ``None``).
        times: the columns holding datetimes.

    Raises:
        ImportError: pandas is not installed.
        ValueError: a ``times`` value is a string that is not ISO-8601.
        TypeError: a ``times`` value is neither a datetime, a string nor missing.

    Returns:
        A new frame, one row per record.
    """
    pandas = _require("pandas")
    frame = pandas.DataFrame.from_records(
        list(rows), columns=None if columns is None else list(columns)
    )
    for column in times:
        if column in frame.columns:
            instants = [_in_range(value) for value in frame[column].tolist()]
            frame[column] = pandas.Series(
                pandas.to_datetime(instants, utc=True), index=frame.index
            ).astype(PANDAS_TIME_DTYPE)
    return frame


def _in_range(value: object) -> datetime | None:
    """``value`` as an aware datetime pandas can hold in nanoseconds, else ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        msg = f"expected a datetime, an ISO-8601 string or None, got {type(value).__name__}"
        raise TypeError(msg)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    # Compared before any conversion: astimezone of year 1 could itself overflow.
    return value if _NS_EARLIEST <= value <= _NS_LATEST else None


def to_pandas(visitors: Sequence[Visitor]) -> Any:
    """A ``pandas.DataFrame`` of *visitors*, the record columns in their order."""
    return pandas_frame(records(visitors), columns=RECORD_FIELDS, times=_TIMES)


def to_polars(visitors: Sequence[Visitor]) -> Any:
    """A ``polars.DataFrame`` of *visitors*, the record columns in their order."""
    polars = _require("polars")
    # Every column typed up front: a page of anonymous visitors is all nulls, and polars
    # would otherwise guess a Null dtype that a second page cannot be appended to.
    schema = dict.fromkeys(RECORD_FIELDS, polars.String)
    schema["is_anonymous"] = polars.Boolean
    schema["viewed_ago_seconds"] = polars.Int64
    frame = polars.DataFrame(records(visitors), schema=schema, orient="row")
    # polars' microseconds reach 290,000 years either way: every datetime fits.
    return frame.with_columns(
        polars.col(column).str.to_datetime(time_zone="UTC") for column in _TIMES
    )
