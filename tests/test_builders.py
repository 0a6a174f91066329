"""Record builders: exactly the converter's results, or ``None`` where it would raise."""

from __future__ import annotations

from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectsafely_async import Visitor, make_converter
from connectsafely_async._builders import make_records_builder
from connectsafely_async._converters import converter, to_camel
from connectsafely_async.types import AppliedFilters, Pagination

fast = settings(max_examples=80, deadline=None)


@attrs.frozen
class Mixed:
    text: str  # required: a missing key is the converter's error
    count: int | None = None
    flag: bool = False  # a default that the strict check would refuse
    label: str | None = None
    total: int = 7


@attrs.define
class Mutable:
    first_name: str | None = None
    age: int | None = None


class StrSubclass(str):
    pass


json_value = (
    st.none() | st.text(max_size=3) | st.integers() | st.booleans()
    | st.floats(allow_nan=False) | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
)


def records_for(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    keys = [to_camel(field.name) for field in attrs.fields(cls)]
    return st.dictionaries(st.sampled_from([*keys, "extraKey"]), json_value, max_size=8)


def converter_result(cls: type, records: list[Any]) -> tuple[Any, ...] | None:
    try:
        return converter.structure(records, tuple[cls, ...])  # type: ignore[valid-type]
    except (cattrs.BaseValidationError, TypeError, ValueError):
        return None


@fast
@given(data=st.data(), cls=st.sampled_from([Mixed, Mutable, Pagination, AppliedFilters]))
def test_a_builder_gives_the_converters_result_or_steps_aside_where_it_raises(
    data: st.DataObject, cls: type
) -> None:
    build = make_records_builder(cls, key=to_camel)
    assert build is not None
    records = data.draw(st.lists(records_for(cls), max_size=4) | st.lists(json_value, max_size=2))
    built = build(records)
    expected = converter_result(cls, records)
    # Exactly as strict: None where the converter raises, and only there.
    assert (built is None) == (expected is None)
    if built is not None:
        assert built == expected
        assert all(type(item) is cls for item in built)


@fast
@given(record=records_for(Visitor) | json_value, cls=st.sampled_from([Visitor, Pagination]))
def test_the_package_converter_with_builders_equals_a_converter_without(
    record: Any, cls: type
) -> None:
    # make_converter() has no builder-backed hooks: same results, same errors and wire paths.
    assert outcome(converter, record, cls) == outcome(make_converter(), record, cls)


def outcome(used: cattrs.Converter, record: Any, cls: type) -> tuple[str, Any]:
    """The result, or the error's class and its messages with their wire paths."""
    try:
        return "ok", used.structure(record, cls)
    except (cattrs.BaseValidationError, TypeError) as error:
        return type(error).__name__, cattrs.transform_error(error)


@pytest.mark.parametrize(
    ("record", "accepted"),
    [
        ({"text": "a"}, True),
        ({"text": StrSubclass("a")}, False),  # _strict_str refuses str subclasses
        ({"text": 5}, False),  # a number where a string belongs
        ({"text": "a", "count": True}, False),  # true is not a count
        ({"text": "a", "count": 1.0}, False),
        ({"text": "a", "flag": None}, False),  # a null where no null is allowed
        ({"text": "a", "flag": 1}, False),
        ({"text": "a", "count": None, "label": None}, True),
        ({"count": 1}, False),  # the required key is missing
    ],
)
def test_the_builder_checks_exact_types(record: dict[str, Any], accepted: bool) -> None:
    build = make_records_builder(Mixed, key=to_camel)
    assert build is not None
    assert (build([record]) is not None) is accepted
    assert (converter_result(Mixed, [record]) is not None) is accepted


def test_a_built_frozen_instance_is_frozen_and_complete() -> None:
    build = make_records_builder(Mixed, key=to_camel)
    assert build is not None
    built = build([{"text": "a", "label": "b"}])
    assert built is not None
    (item,) = built
    assert item == Mixed("a", label="b")
    assert (item.count, item.flag, item.total) == (None, False, 7)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        item.text = "b"  # type: ignore[misc]


def test_given_fields_are_set_from_the_arguments_not_the_records() -> None:
    build = make_records_builder(Mutable, key=to_camel, given=("age",))
    assert build is not None
    built = build([{"firstName": "a", "age": "not read"}, {}], 3)
    assert built == (Mutable("a", 3), Mutable(None, 3))
    with pytest.raises(ValueError, match="no field"):
        make_records_builder(Mutable, key=to_camel, given=("nope",))


def _checked(_: object, __: Any, value: object) -> None:
    pass


@attrs.frozen
class WithValidator:
    name: str | None = attrs.field(default=None, validator=_checked)


@attrs.frozen
class WithConverter:
    name: str | None = attrs.field(default=None, converter=lambda v: v)


@attrs.frozen
class WithPostInit:
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen
class WithPreInit:
    name: str | None = None

    def __attrs_pre_init__(self) -> None:
        pass


@attrs.frozen
class WithFactory:
    names: str = attrs.field(factory=str)


@attrs.frozen
class WithPrivate:
    _name: str | None = None


@attrs.frozen
class WithNoInit:
    name: str | None = attrs.field(default=None, init=False)


@attrs.frozen(slots=False)
class WithoutSlots:
    name: str | None = None


@attrs.frozen(cache_hash=True)
class WithCachedHash:
    name: str | None = None


@attrs.frozen
class WithFloat:
    ratio: float | None = None


@attrs.frozen
class WithNested:
    pagination: Pagination | None = None


@pytest.mark.parametrize(
    "cls",
    [WithValidator, WithConverter, WithPostInit, WithPreInit, WithFactory, WithPrivate,
     WithNoInit, WithoutSlots, WithCachedHash, WithFloat, WithNested, dict],
)
def test_models_whose_init_does_more_than_store_get_no_builder(cls: type) -> None:
    assert make_records_builder(cls, key=to_camel) is None


def test_visitor_has_a_builder() -> None:
    from connectsafely_async import _converters

    assert _converters._build_visitors is not None


@attrs.frozen
class Holder:
    pagination: Pagination | None = None
    filters: AppliedFilters = attrs.field(default=AppliedFilters(time_range="x"))  # no null
    required: Pagination | None = attrs.field(kw_only=True)
    label: str | None = None


def holders() -> st.SearchStrategy[dict[str, Any]]:
    nested = records_for(Pagination) | records_for(AppliedFilters) | json_value
    keys = ["pagination", "filters", "required", "label", "extraKey"]
    return st.dictionaries(st.sampled_from(keys), nested, max_size=5)


def _nested_builders() -> dict[type, Any]:
    from connectsafely_async import _converters

    return _converters._NESTED


@fast
@given(records=st.lists(holders(), max_size=3) | st.lists(json_value, max_size=2))
def test_a_builder_with_nested_models_gives_the_converters_result(records: list[Any]) -> None:
    build = make_records_builder(Holder, key=to_camel, nested=_nested_builders())
    assert build is not None
    built = build(records)
    expected = converter_result(Holder, records)
    assert (built is None) == (expected is None)
    if built is not None:
        assert built == expected
        assert all(type(item.filters) is AppliedFilters for item in built)


def test_a_nested_model_without_a_builder_gets_none() -> None:
    assert make_records_builder(WithNested, key=to_camel, nested={AppliedFilters: int}) is None
    assert make_records_builder(WithNested, key=to_camel, nested=_nested_builders()) is not None


def heads() -> st.SearchStrategy[dict[str, Any]]:
    from connectsafely_async._protocol.visitors import _VisitorsHead

    nested = records_for(Pagination) | records_for(AppliedFilters) | json_value
    keys = [to_camel(field.name) for field in attrs.fields(_VisitorsHead)]
    return st.dictionaries(st.sampled_from([*keys, "visitors"]), nested | st.booleans())


@fast
@given(head=heads() | json_value)
def test_the_page_heads_builder_gives_the_converters_result(head: Any) -> None:
    from connectsafely_async._protocol.visitors import _build_head, _VisitorsHead

    assert _build_head is not None
    built = _build_head([head])
    expected = converter_result(_VisitorsHead, [head])
    assert (built is None) == (expected is None)
    if built is not None:
        assert built == expected


def test_a_plain_import_builds_no_converter() -> None:
    # cattrs and the converter's hooks cost import time; a walk of well-formed pages never
    # needs them, so they load on first use.
    import subprocess
    import sys

    code = (
        "import sys, connectsafely_async; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cattrs'))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
