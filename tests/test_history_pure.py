"""The pure parts of the history: identity keys, view intervals, the same-view decision."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectsafely_async import Visitor
from connectsafely_async._relative_time import parse_relative_bucket
from connectsafely_async.history import (
    SLACK,
    ViewDecision,
    ViewInterval,
    decide,
    identity_keys,
    profile_slug,
    view_interval,
    visitor_key,
)
from connectsafely_async.history._intervals import EARLIEST, view_bounds
from connectsafely_async.history._queries import utc_time, view_times
from connectsafely_async.history._text import storable_visitor, storable_visitors

DAY = 86400.0


# (unit, its size, the age from which the next unit takes over), as LinkedIn writes them.
UNITS = [("m", 60.0, 3600.0), ("h", 3600.0, DAY), ("d", DAY, 7 * DAY),
         ("w", 7 * DAY, 30 * DAY), ("mo", 30 * DAY, 365 * DAY), ("y", 365 * DAY, float("inf"))]


def render(age_seconds: float) -> str:
    """LinkedIn's text for an age: the largest unit that fits, rounded down."""
    if age_seconds < 60:
        return "Viewed just now"
    unit, size, _ = next(u for u in UNITS if age_seconds < u[2])
    return f"Viewed {int(age_seconds // size)}{unit} ago"


# -- identity ---------------------------------------------------------------------------------


def test_the_urn_is_the_strongest_key_then_the_public_id_then_the_profile_slug() -> None:
    visitor = Visitor(entity_urn="urn:li:fsd_profile:ACoAA1", public_identifier="Ritika-K",
                      profile_url="https://www.linkedin.com/in/ritika-k/",
                      navigation_url="https://de.linkedin.com/in/Ritika-K?trk=profile-views")
    assert identity_keys(visitor) == ("urn:li:fsd_profile:ACoAA1", "in:ritika-k")
    assert visitor_key(visitor) == "urn:li:fsd_profile:ACoAA1"


def test_a_visitor_without_urn_is_known_by_its_profile_link() -> None:
    assert identity_keys(Visitor(profile_url="https://www.linkedin.com/in/jo%C3%ABl")) == (
        "in:joël",)
    assert identity_keys(Visitor(navigation_url="https://linkedin.com/in/ana/details")) == (
        "in:ana",)


@pytest.mark.parametrize("visitor", [
    Visitor(name="LinkedIn Member", viewed_at="Viewed 2d ago"),
    Visitor(name="Someone at a company in Software", headline="Someone at a company in Software"),
    # A link that is not a profile identifies no one (all anonymous rows would merge).
    Visitor(name="LinkedIn Member", navigation_url="https://www.linkedin.com/premium/upsell"),
    Visitor(name="LinkedIn Member", profile_url="https://example.com/in/someone"),
    Visitor(entity_urn="  ", public_identifier=""),
])
def test_anonymous_entries_have_no_key(visitor: Visitor) -> None:
    assert identity_keys(visitor) == ()
    assert visitor_key(visitor) is None


@pytest.mark.parametrize("url", [None, "", "not a url", "http://[::1", "https://linkedin.com/",
                                 "https://evil-linkedin.com/in/x", "https://linkedin.com/in/"])
def test_profile_slug_rejects_what_is_not_a_profile_link(url: str | None) -> None:
    assert profile_slug(url) is None


@given(st.builds(Visitor, entity_urn=st.none() | st.text(), public_identifier=st.none() |
                 st.text(), profile_url=st.none() | st.text(), navigation_url=st.none() |
                 st.text(), name=st.none() | st.text()))
def test_identity_keys_never_fail_and_are_unique_and_prefixed(visitor: Visitor) -> None:
    keys = identity_keys(visitor)
    assert len(keys) == len(set(keys))
    assert all(key.startswith(("urn:", "in:")) for key in keys)
    # The name never identifies anyone: two people can share one.
    assert identity_keys(visitor) == identity_keys(Visitor(
        entity_urn=visitor.entity_urn, public_identifier=visitor.public_identifier,
        profile_url=visitor.profile_url, navigation_url=visitor.navigation_url, name="other"))


# -- intervals --------------------------------------------------------------------------------


def test_two_days_ago_is_the_day_before_yesterday_exclusive() -> None:
    interval = view_interval("Viewed 2d ago", 10 * DAY)
    assert interval == ViewInterval(7 * DAY, 8 * DAY)
    assert interval.estimate == 7.5 * DAY
    assert interval.width == DAY


@pytest.mark.parametrize(("text", "age", "width"), [
    ("Viewed 47m ago", 47 * 60, 60), ("Viewed 1h ago", 3600, 3600), ("Viewed 3w ago", 21 * DAY,
                                                                     7 * DAY),
    ("Viewed 2mo ago", 60 * DAY, 30 * DAY), ("Viewed 1y ago", 365 * DAY, 365 * DAY),
    ("Viewed just now", 0, 60),
])
def test_every_unit_gives_its_bucket(text: str, age: float, width: float) -> None:
    assert parse_relative_bucket(text) == (timedelta(seconds=age), timedelta(seconds=width))


def test_unreadable_text_has_no_interval() -> None:
    assert view_interval(None, 0.0) is None
    assert view_interval("Viewed recently", 0.0) is None


# Whole seconds: a float sum landing a hair off an exclusive bound tests float rounding,
# not the interval logic.
ages = st.integers(min_value=0, max_value=3 * 365 * 86400)
waits = st.lists(st.integers(min_value=0, max_value=40 * 86400), min_size=1, max_size=6)


@given(ages, waits)
def test_the_truth_stays_inside_every_interval_and_their_intersection(
    age: int, gaps: list[int]
) -> None:
    viewed = 1_700_000_000
    first = viewed + age
    known = view_interval(render(age), first)
    assert known is not None
    assert known.earliest < viewed <= known.latest
    observed_at = first
    for gap in gaps:
        observed_at += gap
        observed = view_interval(render(observed_at - viewed), observed_at)
        assert observed is not None
        decision, kept = decide(known, observed, is_known=True)
        # The same view is never mistaken for a new one, and the estimate keeps the truth.
        assert decision is ViewDecision.SAME_VIEW
        assert kept is not None
        assert kept.earliest - SLACK < viewed <= kept.latest + SLACK
        assert kept.width <= known.width
        known = kept


@given(ages, st.integers(min_value=0, max_value=30 * 86400),
       st.integers(min_value=0, max_value=30 * 86400))
def test_a_new_view_is_found_when_the_intervals_cannot_meet(
    age: int, gap: int, since: int
) -> None:
    first_view = 1_700_000_000
    first_seen = first_view + age
    known = view_interval(render(age), first_seen)
    second_view = first_seen + gap  # a later view, after the first sync saw the first one
    seen_again = second_view + since
    observed = view_interval(render(since), seen_again)
    assert known is not None
    assert observed is not None
    decision, kept = decide(known, observed, is_known=True)
    if not known.overlaps(observed):
        assert decision is ViewDecision.NEW_VIEW
        assert kept == observed
    else:
        # Too coarse to tell apart (e.g. "1mo" twice): the same view, and kept as one.
        assert decision is ViewDecision.SAME_VIEW


def test_decide_for_a_first_sighting_and_for_unreadable_texts() -> None:
    interval = ViewInterval(0.0, 60.0)
    assert decide(None, interval, is_known=False) == (ViewDecision.NEW_VISITOR, interval)
    assert decide(interval, None, is_known=True) == (ViewDecision.SAME_VIEW, interval)
    assert decide(None, interval, is_known=True) == (ViewDecision.SAME_VIEW, interval)
    # Older than what is known: skewed clocks, the same (latest) view; the known one stays.
    earlier = ViewInterval(-10 * DAY, -9 * DAY)
    assert decide(interval, earlier, is_known=True) == (ViewDecision.SAME_VIEW, interval)


def test_intervals_touching_within_the_slack_meet_in_the_middle() -> None:
    a, b = ViewInterval(0.0, 100.0), ViewInterval(100.0 + SLACK / 2, 200.0)
    assert a.overlaps(b)
    assert a.intersect(b) == ViewInterval(100.0 + SLACK / 4, 100.0 + SLACK / 4)


def test_absurd_ages_are_clamped_to_what_a_datetime_can_hold() -> None:
    interval = view_interval("Viewed 999999y ago", 1.8e9)
    assert interval is not None
    after, before = interval.as_datetimes()
    assert after.year == before.year == 1


@pytest.mark.parametrize(("past_earliest", "expected"), [
    (86400.0 + 10, (10.0, 86400.0 + 10)),  # the whole day fits
    (10.0, (0.0, 10.0)),  # the day's start would be before year 1: held there
    (0.0, (0.0, 0.0)),
    (-10.0, (0.0, 0.0)),  # the view itself would be before year 1
])
def test_an_interval_near_the_earliest_moment_is_clamped_at_each_end(
    past_earliest: float, expected: tuple[float, float]
) -> None:
    received_at = EARLIEST + 86400.0 + past_earliest  # "1d ago": latest is received_at - 1d
    earliest, latest = expected
    assert view_bounds("Viewed 1d ago", received_at) == (EARLIEST + earliest, EARLIEST + latest)


@given(st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True),
       st.sampled_from(["", "/", "?trk=profile-views", "/details/experience", "#top"]),
       st.sampled_from(["https://www.linkedin.com", "https://linkedin.com"]))
def test_the_fast_profile_link_reading_agrees_with_urlsplit(
    slug: str, tail: str, origin: str
) -> None:
    url = f"{origin}/in/{slug}{tail}"
    assert profile_slug(url) == slug.lower()
    # The same link spelled unusually takes the general path and reads the same.
    assert profile_slug(f" {origin.upper()}/in/{slug}{tail}") == slug.lower()


_TEXTS = st.none() | st.text(st.sampled_from(["a", "\x00", "\ud800", "\udfff", "é", "😀"]))


@given(st.lists(st.builds(Visitor, name=_TEXTS, headline=_TEXTS, entity_urn=_TEXTS),
                max_size=5))
def test_a_page_is_storable_as_a_whole_exactly_when_each_visitor_is(
    visitors: list[Visitor],
) -> None:
    assert list(storable_visitors(visitors)) == [storable_visitor(v) for v in visitors]


_SECONDS = st.none() | st.floats() | st.floats(min_value=EARLIEST, max_value=2.6e11)


@given(_SECONDS, _SECONDS)
def test_a_views_times_read_back_from_any_stored_bounds(
    earliest: float | None, latest: float | None
) -> None:
    # Whatever a file or a schema holds (PostgreSQL keeps NaN and infinities), its times read
    # back, clamped to the years a datetime holds; the common view's shortcut agrees.
    after, before, estimate = view_times(earliest, latest)
    assert (after, before) == (utc_time(earliest), utc_time(latest))
    middle = None if earliest is None or latest is None else (earliest + latest) / 2
    assert estimate == utc_time(middle)
    first, last = utc_time(-math.inf), utc_time(math.inf)
    assert first is not None
    assert last is not None
    for seconds, moment in ((earliest, after), (latest, before)):
        if seconds is None:
            assert moment is None
        elif first.timestamp() <= seconds <= last.timestamp():
            assert moment == datetime.fromtimestamp(seconds, timezone.utc)
        else:  # outside, infinite or NaN: an end of the range
            assert moment in (first, last)
