"""Reading LinkedIn's relative ``viewedAt`` text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectsafely_async._relative_time import (
    bucket_seconds,
    parse_relative_age,
    parse_relative_bucket,
)

MINUTE = 60
HOUR = 3600
DAY = 86400

# Written out here, not read from the module, so a wrong table in the module fails.
UNIT_SECONDS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": MINUTE, "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": DAY, "day": DAY, "days": DAY,
    "w": 7 * DAY, "wk": 7 * DAY, "wks": 7 * DAY, "week": 7 * DAY, "weeks": 7 * DAY,
    "mo": 30 * DAY, "mos": 30 * DAY, "month": 30 * DAY, "months": 30 * DAY,
    "y": 365 * DAY, "yr": 365 * DAY, "yrs": 365 * DAY, "year": 365 * DAY, "years": 365 * DAY,
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Viewed 47m ago", timedelta(minutes=47)),
        ("Viewed 1h ago", timedelta(hours=1)),
        ("Viewed 2d ago", timedelta(days=2)),
        ("Viewed 3w ago", timedelta(weeks=3)),
        ("Viewed 2mo ago", timedelta(days=60)),
        ("Viewed 1y ago", timedelta(days=365)),
        ("Viewed 30s ago", timedelta(seconds=30)),
        ("5 minutes ago", timedelta(minutes=5)),
        ("3 weeks ago", timedelta(weeks=3)),
        ("an hour ago", timedelta(hours=1)),
        ("a day ago", timedelta(days=1)),
        ("a month ago", timedelta(days=30)),
        ("just now", timedelta(0)),
        ("Viewed just now", timedelta(0)),
        ("now", timedelta(0)),
        ("today", timedelta(0)),
        ("moments ago", timedelta(0)),
        ("VIEWED 2MO AGO", timedelta(days=60)),
        ("Viewed 12 mos ago", timedelta(days=360)),
        ("2mo", timedelta(days=60)),
        ("1y", timedelta(days=365)),
        ("Viewed 999999s ago", timedelta(seconds=999999)),
    ],
)
def test_table(text: str, expected: timedelta) -> None:
    assert parse_relative_age(text) == expected


@pytest.mark.parametrize(
    "text",
    [None, "", "garbage", "as it was", "Viewed ago", "Viewed 5 parsecs ago", "Viewed 5x ago"],
)
def test_unreadable_is_none(text: str | None) -> None:
    assert parse_relative_age(text) is None


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=1, max_value=999_999), unit=st.sampled_from(sorted(UNIT_SECONDS)))
def test_short_form_property(n: int, unit: str) -> None:
    assert parse_relative_age(f"Viewed {n}{unit} ago") == timedelta(seconds=n * UNIT_SECONDS[unit])


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=1, max_value=999_999), unit=st.sampled_from(sorted(UNIT_SECONDS)))
def test_spaced_form_property(n: int, unit: str) -> None:
    assert parse_relative_age(f"{n} {unit} ago") == timedelta(seconds=n * UNIT_SECONDS[unit])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_never_raises_for_ascii_text(text: str) -> None:
    result = parse_relative_age(text)
    assert result is None or result >= timedelta(0)


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("Viewed 5\u017f ago")  # LONG S: an "s" to a Unicode case-insensitive regex
@example("Viewed 5 m\u0130n ago")  # DOTTED CAPITAL I
@example("Viewed \u0665m ago")  # an Arabic-Indic digit
def test_never_raises_for_arbitrary_text(text: str) -> None:
    result = parse_relative_age(text)
    assert result is None or result >= timedelta(0)


def test_unicode_case_variants_are_not_units() -> None:
    assert parse_relative_age("Viewed 5\u017f ago") is None
    assert parse_relative_age("Viewed 5\u017fecs ago") is None


@pytest.mark.parametrize("text", ["Viewed 1000000m ago", "Viewed 1234567d ago", "x99999999h"])
def test_numbers_over_six_digits_are_not_misread(text: str) -> None:
    # read whole or not at all: never the last six digits of a longer number
    assert parse_relative_age(text) is None


def _bucket_in_seconds(text: str | None) -> tuple[float, float] | None:
    bucket = parse_relative_bucket(text)
    return None if bucket is None else (bucket[0].total_seconds(), bucket[1].total_seconds())


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=0, max_value=9_999_999),
       unit=st.sampled_from(sorted(UNIT_SECONDS)),
       spelling=st.sampled_from(["Viewed {n}{unit} ago", "Viewed {n}{unit} ago ",
                                 "viewed {n}{unit} ago", "Viewed {n} {unit} ago",
                                 "Viewed 0{n}{unit} ago", "{n}{unit}"]))
@example(n=5, unit="mo", spelling="Viewed {n}{unit} ago")
@example(n=1_234_567, unit="d", spelling="Viewed {n}{unit} ago")
def test_bucket_seconds_reads_as_the_general_reading(n: int, unit: str, spelling: str) -> None:
    # LinkedIn's own spelling takes a shorter way; every text reads the same either way.
    text = spelling.format(n=n, unit=unit)
    assert bucket_seconds(text) == _bucket_in_seconds(text)
    if spelling == "Viewed {n}{unit} ago" and n <= 999_999:
        assert bucket_seconds(text) == (n * UNIT_SECONDS[unit], UNIT_SECONDS[unit])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(), st.from_regex(r"Viewed \d{1,7}(mo|m|h|d|w|y|s) ago")))
def test_bucket_seconds_of_any_text_is_the_general_reading(text: str | None) -> None:
    assert bucket_seconds(text) == _bucket_in_seconds(text)
