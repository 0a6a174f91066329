"""Exports: ``Visitor.to_dict()``, ``VisitorList.to_pandas()`` and ``.to_polars()``."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import pytest

from connectsafely_async import AsyncConnectSafely, Visitor, VisitorList, collect
from connectsafely_async._display import RECORD_FIELDS


async def test_to_dict_is_the_record_of_to_dicts(client: AsyncConnectSafely) -> None:
    visitors = await collect(client.iter_visitors(max_visitors=30))
    assert [v.to_dict() for v in visitors] == visitors.to_dicts()
    record = visitors[0].to_dict()
    assert tuple(record) == RECORD_FIELDS
    assert record["name"] == visitors[0].name
    assert isinstance(record["fetched_at"], str)


async def test_to_pandas(client: AsyncConnectSafely) -> None:
    pandas = pytest.importorskip("pandas")  # installed by the test extra
    visitors = await collect(client.iter_visitors(max_visitors=45))
    frame = visitors.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(RECORD_FIELDS)
    assert len(frame) == 45
    assert frame["name"].tolist() == [v.name for v in visitors]
    assert str(frame["fetched_at"].dt.tz) == "UTC"
    assert frame["is_anonymous"].sum() == sum(v.is_anonymous for v in visitors)


async def test_to_polars(client: AsyncConnectSafely) -> None:
    polars = pytest.importorskip("polars")
    visitors = await collect(client.iter_visitors(max_visitors=45))
    frame = visitors.to_polars()
    assert frame.columns == list(RECORD_FIELDS)
    assert frame.height == 45
    assert frame["name"].to_list() == [v.name for v in visitors]
    assert frame.schema["fetched_at"] == polars.Datetime("us", "UTC")
    assert frame.schema["viewed_ago_seconds"] == polars.Int64


def test_all_anonymous_and_empty_lists_still_have_typed_columns() -> None:
    pytest.importorskip("polars")
    pytest.importorskip("pandas")
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    anonymous = VisitorList([Visitor(name="LinkedIn Member", fetched_at=when)] * 3)
    assert anonymous.to_polars()["entity_urn"].null_count() == 3
    assert anonymous.to_pandas()["is_anonymous"].all()
    assert VisitorList().to_polars().columns == list(RECORD_FIELDS)
    assert list(VisitorList().to_pandas().columns) == list(RECORD_FIELDS)


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_a_missing_library_is_one_clear_error(
    library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # what an uninstalled module looks like
    with pytest.raises(ImportError, match=rf"pip install 'connectsafely-async\[{library}\]'"):
        getattr(VisitorList(), f"to_{library}")()


def test_the_core_does_not_import_them() -> None:
    import subprocess

    code = ("import sys, connectsafely_async, connectsafely_async._frames; "
            "print(sorted({'pandas', 'polars', 'numpy'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: S603
                         check=True).stdout
    assert out.strip() == "[]"


