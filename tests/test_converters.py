"""The package's own cattrs converter: camelCase, strict primitives, never the global one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectsafely_async import Visitor, make_converter
from connectsafely_async._converters import converter, to_camel
from connectsafely_async.types import AppliedFilters, Pagination

TEXT_FIELDS = {
    "entityUrn": "entity_urn",
    "publicIdentifier": "public_identifier",
    "name": "name",
    "headline": "headline",
    "profilePicture": "profile_picture",
    "viewedAt": "viewed_at",
    "connectionDegree": "connection_degree",
    "profileUrl": "profile_url",
    "navigationUrl": "navigation_url",
}

optional_text = st.none() | st.text()
not_a_string = (
    st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.lists(st.text(), max_size=2)
    | st.dictionaries(st.text(), st.text(), max_size=2)
    | st.binary(max_size=4)
)
fast = settings(max_examples=60, deadline=None)


def test_visitor_text_fields_are_exactly_the_expected_ones() -> None:
    names = {a.name for a in attrs.fields(Visitor)} - {"fetched_at"}
    assert names == set(TEXT_FIELDS.values())


@fast
@given(
    fields=st.fixed_dictionaries(dict.fromkeys(TEXT_FIELDS.values(), optional_text)),
    fetched_at=st.none() | st.datetimes(timezones=st.just(timezone.utc)),
)
def test_visitor_round_trips(fields: dict[str, str | None], fetched_at: datetime | None) -> None:
    visitor = Visitor(**fields, fetched_at=fetched_at)
    raw = converter.unstructure(visitor)
    assert set(raw) == {*TEXT_FIELDS, "fetchedAt"}
    for camel, snake in TEXT_FIELDS.items():
        assert raw[camel] == fields[snake]
    again = converter.structure(raw, Visitor)
    assert again == visitor
    # fetched_at is not part of equality: check it separately.
    assert again.fetched_at == fetched_at


@fast
@given(
    raw=st.dictionaries(st.sampled_from(sorted(TEXT_FIELDS)), optional_text),
    extra=st.dictionaries(
        st.text().filter(lambda key: key not in TEXT_FIELDS and key != "fetchedAt"),
        st.integers() | st.text() | st.none(),
        max_size=3,
    ),
)
def test_any_camel_case_visitor_dict_structures(
    raw: dict[str, str | None], extra: dict[str, Any]
) -> None:
    visitor = converter.structure({**raw, **extra}, Visitor)
    for camel, snake in TEXT_FIELDS.items():
        assert getattr(visitor, snake) == raw.get(camel)
    assert visitor.fetched_at is None


@fast
@given(
    field=st.sampled_from(sorted(TEXT_FIELDS)),
    value=not_a_string,
)
def test_non_string_in_a_string_field_is_rejected(field: str, value: Any) -> None:
    with pytest.raises(cattrs.ClassValidationError) as info:
        converter.structure({field: value}, Visitor)
    (inner,) = info.value.exceptions
    assert isinstance(inner, TypeError)
    assert str(inner) == f"expected a string, got {type(value).__name__}"


@pytest.mark.parametrize("value", [5, 5.0, True, b"x", ["x"], {"a": "b"}])
def test_strict_str(value: Any) -> None:
    with pytest.raises(TypeError, match="expected a string"):
        converter.structure(value, str)


def test_strict_str_accepts_strings() -> None:
    assert converter.structure("5", str) == "5"
    assert converter.structure("", str) == ""


@pytest.mark.parametrize("value", [True, False, "5", 5.0, None, [5]])
def test_strict_int(value: Any) -> None:
    with pytest.raises(TypeError, match="expected an integer"):
        converter.structure(value, int)


@pytest.mark.parametrize("value", [1, 0, "true", None, 1.0])
def test_strict_bool(value: Any) -> None:
    with pytest.raises(TypeError, match="expected a boolean"):
        converter.structure(value, bool)


@fast
@given(st.integers())
def test_ints_pass_through(value: int) -> None:
    assert converter.structure(value, int) == value


@fast
@given(
    field=st.sampled_from(["start", "count", "total"]),
    value=st.booleans() | st.text() | st.floats(allow_nan=False),
)
def test_pagination_ints_reject_bools_strings_and_floats(field: str, value: Any) -> None:
    with pytest.raises(cattrs.ClassValidationError):
        converter.structure({field: value}, Pagination)


def test_nested_camel_case() -> None:
    filters = converter.structure(
        {"timeRange": "past_7_days", "fetchAll": True, "maxVisitors": 3, "time_range": "no"},
        AppliedFilters,
    )
    assert filters == AppliedFilters(time_range="past_7_days", fetch_all=True, max_visitors=3)
    assert converter.unstructure(filters) == {
        "timeRange": "past_7_days",
        "count": None,
        "start": None,
        "fetchAll": True,
        "maxVisitors": 3,
    }


@pytest.mark.parametrize("value", ["", "ab", {}, {"a": "b"}, ("a",), None, 3])
def test_arrays_must_be_lists(value: Any) -> None:
    with pytest.raises(TypeError, match="expected an array"):
        converter.structure(value, tuple[str, ...])


def test_arrays_structure_lists() -> None:
    assert converter.structure(["a", "b"], tuple[str, ...]) == ("a", "b")
    assert converter.structure([], tuple[Visitor, ...]) == ()
    assert converter.structure([{"name": "x"}], tuple[Visitor, ...]) == (Visitor(name="x"),)


@pytest.mark.parametrize("value", ["x", ["a"], None, 3])
def test_object_fields_reject_non_objects(value: Any) -> None:
    with pytest.raises(TypeError, match="expected an object"):
        converter.structure(value, Pagination)


def test_datetime_structures_from_iso_text_and_datetime() -> None:
    when = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert converter.structure(when, datetime) is when
    assert converter.structure("2025-01-01T12:00:00+00:00", datetime) == when
    with pytest.raises(TypeError):
        converter.structure(1735732800, datetime)


def test_make_converter_is_independent() -> None:
    mine = make_converter()
    assert mine is not converter
    mine.register_structure_hook(str, lambda value, _: f"<{value}>")
    assert mine.structure("a", str) == "<a>"
    assert converter.structure("a", str) == "a"
    assert converter.structure({"name": "a"}, Visitor).name == "a"
    # and a fresh one is configured like the package's own
    fresh = make_converter()
    with pytest.raises(TypeError):
        fresh.structure(5, str)
    assert fresh.structure({"viewedAt": "Viewed 1h ago"}, Visitor).viewed_at == "Viewed 1h ago"


def test_global_converter_is_untouched() -> None:
    make_converter()
    assert cattrs.global_converter is not converter
    assert cattrs.global_converter.structure(5, str) == "5"
    assert cattrs.global_converter.structure(True, int) == 1
    assert cattrs.structure(5, str) == "5"
    # The global converter knows nothing of camelCase.
    assert cattrs.global_converter.unstructure(Pagination(start=1))["start"] == 1
    assert "fetchAll" not in cattrs.global_converter.unstructure(AppliedFilters())


@pytest.mark.parametrize(
    ("snake", "camel"),
    [
        ("profile_picture", "profilePicture"),
        ("entity_urn", "entityUrn"),
        ("name", "name"),
        ("max_visitors", "maxVisitors"),
        ("a_b_c", "aBC"),
        ("", ""),
    ],
)
def test_to_camel(snake: str, camel: str) -> None:
    assert to_camel(snake) == camel


@fast
@given(st.lists(st.from_regex(r"[a-z][a-z0-9]*", fullmatch=True), min_size=1, max_size=4))
def test_to_camel_property(parts: list[str]) -> None:
    camel = to_camel("_".join(parts))
    assert camel == parts[0] + "".join(p[0].upper() + p[1:] for p in parts[1:])
    assert "_" not in camel


@pytest.mark.parametrize(
    ("cls", "good", "bad", "message"),
    [
        (str, "x", 5, "expected a string, got int"),
        (int, 5, True, "expected an integer, got bool"),
        (bool, False, 0, "expected a boolean, got int"),
    ],
)
def test_optional_primitives_are_one_strict_hook(
    cls: type, good: Any, bad: Any, message: str
) -> None:
    optional: Any = cls | None
    assert converter.structure(None, optional) is None
    assert converter.structure(good, optional) == good
    with pytest.raises(TypeError) as info:
        converter.structure(bad, optional)
    assert str(info.value) == message


def test_a_replaced_primitive_hook_also_serves_its_optional() -> None:
    mine = make_converter()
    mine.register_structure_hook(str, lambda value, _: f"<{value}>")
    assert mine.structure("a", str | None) == "<a>"  # type: ignore[arg-type]
    assert mine.structure(None, str | None) is None  # type: ignore[arg-type]
    assert mine.structure({"name": "a"}, Visitor).name == "<a>"


# -- the converter without detailed validation, the parsers' first try -------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=6,
)


def _mostly(kind: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(kind, kind, kind, json_like)


_visitor_dicts = st.dictionaries(
    st.sampled_from([*sorted(TEXT_FIELDS), "fetchedAt", "extraKey"]),
    _mostly(optional_text | st.datetimes(timezones=st.just(timezone.utc))), max_size=6,
)
_int_blocks = st.dictionaries(
    st.sampled_from(["start", "count", "total", "maxVisitors", "fetchAll", "timeRange"]),
    _mostly(st.none() | st.integers() | st.booleans() | st.text(max_size=3)), max_size=4,
)
_bodies = st.fixed_dictionaries(
    {"hasMore": _mostly(st.booleans()),
     "visitors": _mostly(st.lists(_mostly(_visitor_dicts), max_size=4))},
    optional={
        "success": _mostly(st.none() | st.booleans()),
        "accountId": _mostly(optional_text),
        "timeRange": _mostly(optional_text),
        "pagination": _mostly(_int_blocks),
        "filters": _mostly(_int_blocks),
        "extraKey": json_like,
    },
)


def _verdict(convert: cattrs.Converter, data: Any) -> Any:
    from connectsafely_async._protocol.visitors import _VisitorsBody

    try:
        body = convert.structure(data, _VisitorsBody)
    except Exception:  # the fast converter's refusals are any exception, by design
        return "refused"
    return body, [v.fetched_at for v in body.visitors]


@settings(max_examples=300, deadline=None)
@given(data=_bodies | json_like)
def test_the_fast_converter_takes_and_refuses_what_the_detailed_one_does(data: Any) -> None:
    from connectsafely_async._converters import fast_converter

    assert _verdict(fast_converter, data) == _verdict(converter, data)


def test_the_fast_converter_is_the_package_converter_without_detailed_validation() -> None:
    from connectsafely_async._converters import fast_converter

    assert converter.detailed_validation
    assert not fast_converter.detailed_validation
    assert not make_converter(detailed=False).detailed_validation
    with pytest.raises(TypeError, match="expected an object, got str"):
        fast_converter.structure(["x"], tuple[Visitor, ...])
    assert fast_converter.structure([], tuple[Visitor, ...]) == ()
