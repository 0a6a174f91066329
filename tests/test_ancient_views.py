"""Ages no ``datetime`` can hold ("Viewed 2100y ago") reach every consumer without an exception.

The reader accepts up to six digits, so an age of a million years parses. Every consumer of
a visitor's estimate (the model, its records, the HTML view, the pandas and polars frames,
the command line's ``visitors`` and ``watch``) must show it, clamped to year 1 (or ``NaT``
in pandas' nanoseconds), rather than fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectsafely_async import AsyncConnectSafely, Visitor, VisitorList, VisitorsPage, collect
from connectsafely_async._frames import PANDAS_TIME_DTYPE, pandas_frame
from connectsafely_async._relative_time import EARLIEST, instant_before
from connectsafely_async.testing import FakeConnectSafely

ACCOUNT = "696ce9e780e0483585e4e553"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
ODD = ("Viewed 2100y ago", "Viewed 999999y ago", "Viewed 0m ago")


def visitors(texts: tuple[str, ...] | list[str], *, fetched_at: datetime = NOW) -> VisitorList:
    return VisitorList(
        Visitor(entity_urn=f"urn:li:fsd_profile:A{i}", name=f"V{i}", viewed_at=text,
                fetched_at=fetched_at)
        for i, text in enumerate(texts)
    )


def every_consumer(listed: VisitorList, *, now: datetime = NOW) -> None:
    """What a user can ask of visitors fetched at ``now``; each must return, whatever ages."""
    for visitor in listed:
        assert visitor.viewed_ago is None or visitor.viewed_ago >= timedelta(0)
        estimate = visitor.estimated_viewed_at
        assert estimate is None or EARLIEST <= estimate <= now
        json.dumps(visitor.to_dict())
    json.dumps(listed.to_dicts())
    page = VisitorsPage(visitors=tuple(listed), has_more=False, fetched_at=now)
    assert page.to_dicts() == listed.to_dicts()
    assert listed._repr_html_().startswith("<table")
    assert page._repr_html_().startswith("<table")
    pytest.importorskip("pandas")
    frame = listed.to_pandas()
    assert str(frame["estimated_viewed_at"].dtype) == PANDAS_TIME_DTYPE
    assert len(frame) == len(listed)
    pytest.importorskip("polars")
    assert listed.to_polars().height == len(listed)


def test_an_age_past_year_one_is_clamped_there() -> None:
    two_thousand_years, ancient, now = visitors(ODD)
    assert two_thousand_years.estimated_viewed_at == EARLIEST
    assert ancient.estimated_viewed_at == EARLIEST
    assert now.estimated_viewed_at == NOW - timedelta(seconds=30)  # the middle of its minute
    assert ancient.to_dict()["estimated_viewed_at"] == "0001-01-02T00:00:00+00:00"
    assert ancient.to_dict()["viewed_ago_seconds"] == 999_999 * 365 * 86_400
    every_consumer(visitors(ODD))


def test_the_clamp_keeps_the_time_zone_of_now_naive_or_aware() -> None:
    naive = datetime(2026, 1, 1)
    assert instant_before(naive, timedelta(days=10**8)) == EARLIEST.replace(tzinfo=None)
    india = timezone(timedelta(hours=5, minutes=30))
    clamped = instant_before(datetime(2026, 1, 1, tzinfo=india), timedelta(days=10**8))
    assert clamped.tzinfo is india
    assert clamped.astimezone(timezone.utc).year == 1  # converts without overflowing
    assert instant_before(NOW, timedelta(hours=1)) == NOW - timedelta(hours=1)


def test_pandas_has_no_room_for_year_one_so_it_is_nat_there() -> None:
    pandas = pytest.importorskip("pandas")
    frame = visitors(ODD).to_pandas()
    estimates = frame["estimated_viewed_at"].tolist()
    assert pandas.isna(estimates[0])
    assert pandas.isna(estimates[1])
    assert estimates[2] == pandas.Timestamp(NOW - timedelta(seconds=30))  # mid-minute
    assert frame["viewed_ago_seconds"].tolist() == [2100 * 365 * 86_400, 999_999 * 365 * 86_400, 0]


def test_polars_holds_year_one() -> None:
    polars = pytest.importorskip("polars")
    frame = visitors(ODD).to_polars()
    assert frame.schema["estimated_viewed_at"] == polars.Datetime("us", "UTC")
    assert frame["estimated_viewed_at"].to_list()[:2] == [EARLIEST, EARLIEST]


def test_the_one_pandas_builder_takes_any_records_with_time_columns() -> None:
    pandas = pytest.importorskip("pandas")
    rows = [
        {"id": 1, "at": "0001-01-02T00:00:00+00:00", "seen": NOW},
        {"id": 2, "at": None, "seen": datetime(9999, 12, 30)},
        {"id": 3, "at": "2026-12-02T12:00:00+00:00", "seen": datetime(2026, 12, 2, 12)},
        {"id": 4},
    ]
    frame = pandas_frame(rows, columns=["id", "at", "seen", "other"], times=("at", "seen", "x"))
    assert list(frame.columns) == ["id", "at", "seen", "other"]
    assert [str(frame[c].dtype) for c in ("at", "seen")] == [PANDAS_TIME_DTYPE] * 2
    assert frame["at"].isna().tolist() == [True, True, False, True]
    assert frame["seen"].isna().tolist() == [False, True, False, True]
    assert frame["seen"][2] == pandas.Timestamp(NOW)  # naive is read as UTC
    empty = pandas_frame([], columns=["at"], times=("at",))
    assert str(empty["at"].dtype) == PANDAS_TIME_DTYPE
    with pytest.raises(ValueError, match="Invalid isoformat"):
        pandas_frame([{"at": "yesterday"}], times=("at",))
    with pytest.raises(TypeError, match="got int"):
        pandas_frame([{"at": 5}], times=("at",))


viewed_texts = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda n, unit, spaced: f"Viewed {n}{' ' if spaced else ''}{unit} ago",
        st.integers(0, 999_999),
        st.sampled_from(["s", "m", "h", "d", "w", "mo", "y", "yr", "years", "months", "weeks"]),
        st.booleans(),
    ),
    st.sampled_from([*ODD, "just now", "Viewed an hour ago", "Viewed 0000001y ago"]),
)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(st.none() | viewed_texts, min_size=1, max_size=5),
    fetched_at=st.datetimes(
        min_value=datetime(1, 1, 3), max_value=datetime(9999, 12, 30),
        timezones=st.just(timezone.utc),
    ),
)
def test_no_viewed_at_text_breaks_a_consumer(texts: list[str | None], fetched_at: datetime) -> None:
    listed = VisitorList(
        Visitor(name=str(i), viewed_at=text, fetched_at=fetched_at) for i, text in enumerate(texts)
    )
    every_consumer(listed, now=fetched_at)


# -- over the wire, and the command line --------------------------------------------------------


def served(texts: tuple[str, ...]) -> list[dict[str, object]]:
    return [
        {"entityUrn": f"urn:li:fsd_profile:A{i}", "publicIdentifier": f"v{i}", "name": f"V{i}",
         "viewedAt": text}
        for i, text in enumerate(texts)
    ]


async def test_a_walk_of_ancient_views_reaches_every_consumer() -> None:
    async with FakeConnectSafely(accounts={ACCOUNT: 0}) as fake:
        fake.set_visitors(ACCOUNT, served(ODD))
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=fake.url, rate_limits=None
        ) as client:
            listed = await collect(client.iter_visitors(time_range="ALL_TIME"))
    assert [v.viewed_at for v in listed] == list(ODD)
    assert [v.estimated_viewed_at == EARLIEST for v in listed] == [True, True, False]
    every_consumer(listed, now=datetime.now(timezone.utc))


async def cli(*args: str, url: str, key: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTSAFELY_")}
    env.update(CONNECTSAFELY_API_KEY=key, CONNECTSAFELY_BASE_URL=url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "connectsafely_async", *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_line_shows_ancient_views(tmp_path: Path) -> None:
    async with FakeConnectSafely(accounts={ACCOUNT: 0}) as fake:
        fake.set_visitors(ACCOUNT, served(ODD))
        for command in ("visitors", "watch"):
            extra = ("--db", str(tmp_path / "watch.db")) if command == "watch" else ()
            for _run in range(2):  # watch: the run after an acknowledged one too
                code, out, err = await cli(command, "--json", "--time-range", "ALL_TIME", *extra,
                                           url=fake.url, key=fake.api_key)
                assert code == 0, err
                assert "Traceback" not in err
                if command == "visitors" or _run == 0:
                    rows = [json.loads(line) for line in out.splitlines()]
                    assert [row["viewed_at"] for row in rows] == list(ODD)
                    assert rows[1]["estimated_viewed_at"] == "0001-01-02T00:00:00+00:00"
