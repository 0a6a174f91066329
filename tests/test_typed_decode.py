"""The speed extra's decode (msgspec): exactly the core path's results, or the core decides.

For any answer, the page the SDK gives with msgspec equals the one it gives without (the
converter's path, with json and with orjson), value for value, receive times included; or
both raise the same error, class, message and wire paths. The Struct types are derived from
the attrs models, so the two paths cannot disagree on what a field is called.

The default suite runs a modest number of examples; a longer run:

    CONNECTSAFELY_FUZZ_EXAMPLES=20000 python -m pytest tests/test_typed_decode.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connectsafely_async._protocol.visitors as protocol
from connectsafely_async import ConnectSafelyError, Visitor, VisitorsPage
from connectsafely_async._converters import to_camel
from connectsafely_async._json import MAX_INT_DIGITS, holds_long_digit_run, stdlib_loads
from connectsafely_async._protocol import HttpResponse
from connectsafely_async._protocol.visitors import parse_visitors_page
from connectsafely_async.types import AppliedFilters, Pagination

msgspec = pytest.importorskip("msgspec")

from connectsafely_async._typed_decode import (  # noqa: E402
    LAX_RUN,
    TypedDecoder,
    _is_utf8,
    wire_struct,
)

RECEIVED = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
EXAMPLES = int(os.environ.get("CONNECTSAFELY_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)

try:
    import orjson
except ImportError:
    CORE_LOADS: tuple[Callable[[bytes], Any], ...] = (stdlib_loads,)
else:
    CORE_LOADS = (stdlib_loads, orjson.loads)

SPEED = TypedDecoder(protocol._VisitorsBody)


@contextmanager
def path(typed: Callable[[bytes], Any] | None, loads: Callable[[bytes], Any]) -> Iterator[None]:
    """The parser with the speed decoder on (``typed``) or off, and the core's decode."""
    saved = protocol._typed, protocol._loads
    protocol._typed, protocol._loads = typed, loads
    try:
        yield
    finally:
        protocol._typed, protocol._loads = saved


def outcome(body: bytes) -> tuple[Any, ...]:
    """What the parser makes of ``body``: the page and every visitor's receive time and
    class, or the error's class, message and problems."""
    response = HttpResponse(200, {"Content-Type": "application/json"}, body,
                            received_at=RECEIVED)
    try:
        page = parse_visitors_page(response)
    except ConnectSafelyError as error:
        return type(error), str(error), getattr(error, "errors", None)
    assert isinstance(page, VisitorsPage)
    return (
        page,
        [(type(v), v.fetched_at) for v in page.visitors],
        type(page.pagination), type(page.filters),
    )


def speed_and_core(body: bytes) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    with path(SPEED, stdlib_loads):
        speed = outcome(body)
    core = []
    for loads in CORE_LOADS:
        with path(None, loads):
            core.append(outcome(body))
    return speed, core


# -- pages, right and wrong ---------------------------------------------------------------------

VISITOR_KEYS = [to_camel(f.name) for f in attrs.fields(Visitor) if f.name != "fetched_at"]
PAGINATION_KEYS = [to_camel(f.name) for f in attrs.fields(Pagination)]
FILTER_KEYS = [to_camel(f.name) for f in attrs.fields(AppliedFilters)]
HEAD_KEYS = ["success", "hasMore", "accountId", "timeRange", "pagination", "filters"]

class Obj(list[tuple[str, Any]]):
    """A JSON object as its key-value pairs in order: duplicate keys are possible."""


texts = st.text(max_size=6) | st.sampled_from(["", "\x00", "a\x00b", "\ud800", "é", "\U0001f600"])
scalars = st.one_of(
    st.none(), st.booleans(), texts,
    st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 2**63, -(2**63) - 1, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1.0, -0.0, 1e300]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.lists(st.tuples(st.text(max_size=4), inner), max_size=3).map(Obj),
    max_leaves=8,
)


def record(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Obj]:
    pairs = st.tuples(st.sampled_from([*keys, "extraKey", "fetchedAt"]), values)
    return st.lists(pairs, max_size=len(keys) + 2).map(Obj)


def typed_or(kind: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right JSON type, sometimes anything."""
    return st.one_of(kind, kind, kind, json_values)


visitor_records = record(VISITOR_KEYS, typed_or(st.none() | texts))
pages = st.fixed_dictionaries(
    {"hasMore": typed_or(st.booleans()),
     "visitors": typed_or(st.lists(visitor_records | json_values, max_size=4))},
    optional={
        "success": typed_or(st.just(True) | st.none()),
        "accountId": typed_or(st.none() | texts),
        "timeRange": typed_or(st.none() | texts),
        "pagination": typed_or(record(PAGINATION_KEYS, typed_or(st.none() | st.integers()))),
        "filters": typed_or(record(FILTER_KEYS, typed_or(st.none() | texts | st.integers()
                                                         | st.booleans()))),
        "extraKey": json_values,
    },
).flatmap(lambda head: st.lists(st.sampled_from([*head, "hasMore", "visitors"]), max_size=2)
          .map(lambda dupes: Obj([*head.items(), *((k, head[k]) for k in dupes)])))


@st.composite
def spelled(draw: st.DrawFn, value: Any) -> str:
    """``value`` as JSON text, every choice of spelling drawn: escapes, spaces, duplicates."""
    space = draw(st.sampled_from(["", " ", "\n\t "]))
    if isinstance(value, Obj):
        items = [f"{draw(spelled_string(key))}:{space}{draw(spelled(item))}"
                 for key, item in value]
        return "{" + f",{space}".join(items) + "}"
    if isinstance(value, list):
        return "[" + f",{space}".join(draw(spelled(item)) for item in value) + "]"
    if isinstance(value, str):
        return draw(spelled_string(value))
    return json.dumps(value)


@st.composite
def spelled_string(draw: st.DrawFn, text: str) -> str:
    out = []
    for char in text:
        escaped = f"\\u{ord(char):04x}" if ord(char) < 0x10000 else json.dumps(char)[1:-1]
        plain = json.dumps(char, ensure_ascii=False)[1:-1]
        if 0xD800 <= ord(char) <= 0xDFFF:
            plain = escaped  # a lone surrogate has no UTF-8: only its escape spells it
        out.append(draw(st.sampled_from([plain, escaped])))
    return '"' + "".join(out) + '"'


def encode(text: str) -> bytes:
    return text.encode("utf-8")


# -- the properties -------------------------------------------------------------------------------


@FUZZ
@given(body=pages.flatmap(spelled).map(encode))
def test_the_speed_path_gives_the_core_paths_page_or_error(body: bytes) -> None:
    speed, core = speed_and_core(body)
    for each in core:
        assert speed == each


@FUZZ
@given(body=json_values.flatmap(spelled).map(encode))
def test_any_json_at_all_gets_the_same_verdict(body: bytes) -> None:
    speed, core = speed_and_core(body)
    for each in core:
        assert speed == each


@FUZZ
@given(page=pages)
def test_well_formed_pages_take_the_speed_path(page: Obj) -> None:
    body = encode(_plain(page))
    with path(None, stdlib_loads):
        core = outcome(body)
    if (not isinstance(core[0], VisitorsPage) or LONE_SURROGATE.search(body.decode())
            or _repeats_a_key(page)):
        # An error; a lone surrogate; or a key given twice, the first time with a value of
        # the wrong type (json keeps the last, msgspec checks both): the core decides those.
        return
    assert SPEED.decode(body) is not None


def _repeats_a_key(value: Any) -> bool:
    if isinstance(value, Obj):
        keys = [key for key, _ in value]
        return len(set(keys)) < len(keys) or any(_repeats_a_key(item) for _, item in value)
    return isinstance(value, list) and any(_repeats_a_key(item) for item in value)


#: The escape of a high surrogate with no low one after it, or of a low one with no high one.
LONE_SURROGATE = re.compile(
    r"\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f]"
)


def _plain(value: Any) -> str:
    if isinstance(value, Obj):
        return "{" + ",".join(f"{json.dumps(k)}:{_plain(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_plain(item) for item in value) + "]"
    return json.dumps(value)


# -- the quirks, one by one -----------------------------------------------------------------------

HEAD = '{"success":true,"hasMore":false,"visitors":'


@pytest.mark.parametrize(
    "body",
    [
        HEAD + '[{"name":"\\ud800"},{"name":"x"}]}',  # a lone surrogate: msgspec refuses it
        HEAD + '[{"name":"a\\u0000b","headline":"\x7f"}]}',  # NUL spelled out, DEL plain
        HEAD + '[{},{"entityUrn":null,"name":"LinkedIn Member"}]}',  # anonymous visitors
        HEAD + '[{"name":"x","fetchedAt":"2020-01-01T00:00:00+00:00"}]}',  # not the SDK's
        HEAD + '[{"name":"a","name":"b"}]}',  # the last of two keys wins, as in json
        HEAD + '[{"name":5,"name":"b"}]}',
        HEAD + '[{"n\\u0061me":"escaped key"}]}',
        '{"hasMore":true,"hasMore":false,"visitors":[]}',
        '{"hasMore":false,"visitors":[],"pagination":{"start":' + "9" * MAX_INT_DIGITS + "}}",
        '{"hasMore":false,"visitors":[],"pagination":{"start":-' + "9" * MAX_INT_DIGITS + "}}",
        '{"hasMore":false,"visitors":[],"pagination":{"start":'
        + "9" * (MAX_INT_DIGITS + 1) + "}}",
        '{"hasMore":false,"visitors":[],"x":' + "9" * (MAX_INT_DIGITS + 1) + "}",
        '{"hasMore":false,"visitors":[],"x":"' + "9" * (MAX_INT_DIGITS + 1) + '"}',
        '{"hasMore":false,"visitors":[],"x":' + "9" * (MAX_INT_DIGITS + 1) + ".5}",
        '{"hasMore":false,"visitors":[],"pagination":{"start":1.0}}',
        '{"hasMore":false,"visitors":[],"pagination":{"start":true}}',
        '{"hasMore":false,"visitors":[],"pagination":{"start":1e2}}',
        '{"hasMore":false,"visitors":[],"filters":{"fetchAll":1}}',
        '{"hasMore":1,"visitors":[]}',
        '{"hasMore":null,"visitors":[]}',
        '{"hasMore":"true","visitors":[]}',
        '{"visitors":[]}',
        '{"hasMore":false}',
        '{"hasMore":false,"visitors":{}}',
        '{"hasMore":false,"visitors":[null]}',
        '{"hasMore":false,"visitors":["x"]}',
        '{"success":false,"hasMore":false,"visitors":[]}',
        '{"success":null,"hasMore":false,"visitors":[]}',
        '{"success":"yes","hasMore":false,"visitors":[]}',
        '{"hasMore":false,"visitors":[],"x":NaN}',
        '{"hasMore":false,"visitors":[],"x":' + "[" * 80 + "]" * 80 + "}",
        '\ufeff{"hasMore":false,"visitors":[]}',
        '{"hasMore":false,"visitors":[]} ',
        '{"hasMore":false,"visitors":[]}x',
        '[{"hasMore":false,"visitors":[]}]',
        "null",
        "",
    ],
)
def test_each_quirk_gets_the_core_paths_result(body: str) -> None:
    raw = body.encode("utf-8", "surrogatepass")
    speed, core = speed_and_core(raw)
    for each in core:
        assert speed == each


@pytest.mark.parametrize(
    "body",
    [
        b'{"\xffsuccess":false,"hasMore":false,"visitors":[]}',  # an unknown key
        b'{"hasMore":false,"visitors":[],"x":"\xff"}',  # an unknown value
        b'{"hasMore":false,"visitors":[{"name":"\xc3"}]}',  # a field's value, cut short
        b'{"hasMore":false,"visitors":[{"extra":"\xed\xa0\x80"}]}',  # a surrogate as UTF-8
        "{\"hasMore\":false,\"visitors\":[{\"name\":\"Chlo\u00e9\"}]}".encode(),  # valid
    ],
)
def test_bytes_that_are_not_utf8_get_the_core_paths_result_wherever_they_are(
    body: bytes,
) -> None:
    speed, core = speed_and_core(body)
    for each in core:
        assert speed == each


#: Pages the strict type takes, mostly: known keys only, fetchedAt (the SDK's own) any value.
known_pages = st.fixed_dictionaries(
    {"hasMore": st.booleans(),
     "visitors": st.lists(
         st.dictionaries(st.sampled_from(VISITOR_KEYS), st.none() | texts).flatmap(
             lambda known: st.fixed_dictionaries({}, optional={"fetchedAt": json_values})
             .map(lambda given: Obj([*known.items(), *given.items()]))),
         max_size=3)},
).map(lambda head: Obj(head.items()))


#: Bytes that are not UTF-8: a stray continuation byte, a lead byte cut short, a surrogate
#: and an overlong NUL spelled in UTF-8's pattern, a code point past U+10FFFF, 0xFF.
NOT_UTF8 = [b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xff"]


@FUZZ
@given(body=(pages | known_pages).flatmap(spelled).map(encode), data=st.data())
def test_bytes_that_are_not_utf8_anywhere_in_a_page_get_the_core_paths_result(
    body: bytes, data: st.DataObject,
) -> None:
    body = _spoiled(body, data)
    speed, core = speed_and_core(body)
    for each in core:
        assert speed == each


@FUZZ
@given(body=(pages | known_pages).flatmap(spelled).map(encode), data=st.data())
def test_what_the_strict_type_takes_is_utf8_and_read_as_the_lax_type_reads_it(
    body: bytes, data: st.DataObject,
) -> None:
    if data.draw(st.booleans()):
        body = _spoiled(body, data)
    try:
        strict = msgspec.json.decode(body, type=wire_struct(protocol._VisitorsBody, strict=True))
    except (msgspec.DecodeError, RecursionError):
        return
    body.decode()  # no UnicodeDecodeError: nothing in it went unread
    lax = msgspec.json.decode(body, type=wire_struct(protocol._VisitorsBody))
    for wire in (strict, lax):
        for visitor in wire.visitors:
            visitor.fetched_at = RECEIVED
    assert SPEED.build(strict) == SPEED.build(lax)


def _spoiled(body: bytes, data: st.DataObject) -> bytes:
    """``body`` with bytes that are not UTF-8 put in: mostly just after a quote (at the start
    of a key or a string value, unknown ones and fetchedAt's included), else anywhere."""
    quotes = [at + 1 for at, byte in enumerate(body) if byte == ord('"')]
    where = st.sampled_from(quotes) if quotes else st.nothing()
    at = data.draw(where | where | where | st.integers(0, len(body)))
    return body[:at] + data.draw(st.sampled_from(NOT_UTF8)) + body[at:]


#: A page of known keys only, with text that is not ASCII (so the strict type reads it).
KNOWN = '{"success":true,"hasMore":false,"visitors":[{"name":"Chlo\u00e9","headline":"é"%s}]%s}'


@pytest.mark.parametrize(
    ("body", "strict"),
    [
        ((KNOWN % ("", "")).encode(), True),
        ((KNOWN % (',"fetchedAt":{"é":["x"]}', "")).encode(), True),  # the SDK's own key
        ((KNOWN % (',"navigationUrl":"u"', ',"filters":{"fetchAll":null}')).encode(), True),
        ((KNOWN % (',"extra":"é"', "")).encode(), False),  # an unknown key in a visitor
        ((KNOWN % ("", ',"extra":1')).encode(), False),  # an unknown key in the page
        ((KNOWN % ("", ',"pagination":{"hasNextPage":false}')).encode(), False),
    ],
)
def test_a_page_with_an_unknown_key_takes_the_lax_type(body: bytes, strict: bool) -> None:
    wire = TypedDecoder(protocol._VisitorsBody).decode(body)
    assert type(wire) is wire_struct(protocol._VisitorsBody, strict=strict)
    speed, core = speed_and_core(body)
    for each in core:
        assert speed == each
    assert isinstance(speed[0], VisitorsPage)


def test_after_a_page_with_an_unknown_key_the_next_ones_skip_the_strict_type() -> None:
    decoder = TypedDecoder(protocol._VisitorsBody)
    known, unknown = (KNOWN % ("", "")).encode(), (KNOWN % ("", ',"extra":1')).encode()
    strict, lax = (wire_struct(protocol._VisitorsBody, strict=s) for s in (True, False))
    assert type(decoder.decode(known)) is strict
    assert type(decoder.decode(unknown)) is lax
    ascii_page = b'{"hasMore":false,"visitors":[]}'
    assert type(decoder.decode(ascii_page)) is lax  # an ASCII page does not count
    for _ in range(LAX_RUN - 1):
        assert type(decoder.decode(known)) is lax
    # The run's last answer: on the lax type's side too, bytes that are not UTF-8 are refused.
    assert decoder.decode(b'{"hasMore":false,"visitors":[],"extra":"\xff"}') is None
    assert type(decoder.decode(known)) is strict
    # A page the lax type refuses as well starts no run.
    assert decoder.decode('{"hasMore":1,"visitors":[],"é":0}'.encode()) is None
    assert type(decoder.decode(known)) is strict


@pytest.mark.parametrize(
    "tail",
    [
        b',"extra":"\xff"',  # an unknown key's value: the strict type refuses the key
        b',"\xffextra":1',  # an unknown key's name
        b',"fetchedAt":"\xff"',  # the SDK's own key: a msgspec.Raw in the lax type
        b',"fetchedAt":["\xc3"]',
        b',"fetchedAt":{"\xed\xa0\x80":1}',
        b',"headline":"\xc0\x80"',  # a known string value
        b',"navigationUrl":"a\\n\xf4\x90\x80\x80"',  # after an escape
    ],
)
@pytest.mark.parametrize("ascii_elsewhere", [True, False])
def test_bytes_that_are_not_utf8_are_refused_on_either_type(
    tail: bytes, ascii_elsewhere: bool,
) -> None:
    name = b"Chloe" if ascii_elsewhere else "Chloé".encode()
    body = b'{"hasMore":false,"visitors":[{"name":"' + name + b'"' + tail + b"}]}"
    assert SPEED.decode(body) is None  # the core decides: json reads a surrogate in UTF-8
    speed, core = speed_and_core(body)
    for each in core:
        assert speed == each


def test_msgspec_reads_no_bytes_of_a_raw_value_but_every_string_it_decodes() -> None:
    # Why the strict type decodes the SDK's own key as Any rather than msgspec.Raw: a Raw
    # value's bytes pass unread, as an unknown key's do in the lax type.
    raw = msgspec.defstruct("R", [("r", msgspec.Raw, None)], forbid_unknown_fields=True)
    assert bytes(msgspec.json.decode(b'{"r":"\xff"}', type=raw).r) == b'"\xff"'
    anything = msgspec.defstruct("A", [("a", Any, None)], forbid_unknown_fields=True)
    for value in (b'"\xff"', b'["\xc3"]', b'{"\xff":1}', b'{"k\\n\xed\xa0\x80":1}'):
        with pytest.raises(msgspec.DecodeError, match="UTF-8"):
            msgspec.json.decode(b'{"a":' + value + b"}", type=anything)
    with pytest.raises(msgspec.DecodeError, match="UTF-8"):
        msgspec.json.decode(b'{"\xff":1}', type=anything)  # an unknown key's name


@settings(max_examples=300, deadline=None)
@given(head=st.binary(max_size=40), text=st.text(max_size=40), tail=st.binary(max_size=40),
       step=st.integers(1, 7))
def test_the_utf8_check_in_steps_agrees_with_a_whole_decode(
    head: bytes, text: str, tail: bytes, step: int,
) -> None:
    # Small steps, so that characters of several bytes straddle a step's end.
    body = head + text.encode("utf-8", "surrogatepass") + tail
    try:
        body.decode()
    except UnicodeDecodeError:
        assert not _is_utf8(body, step=step)
    else:
        assert _is_utf8(body, step=step)


def test_a_well_formed_page_is_decoded_by_msgspec_alone() -> None:
    body = (HEAD + '[{"name":"a","extra":{"deep":[1,2,{"x":null}]}},{}],'
            '"pagination":{"start":0,"count":2,"total":9},"filters":{"fetchAll":false}}').encode()
    wire = SPEED.decode(body)
    assert wire is not None
    for visitor in wire.visitors:
        visitor.fetched_at = RECEIVED
    decoded = SPEED.build(wire)
    assert [v.fetched_at for v in decoded.visitors] == [RECEIVED, RECEIVED]
    assert decoded.visitors == (Visitor(name="a"), Visitor())
    assert type(decoded.pagination) is Pagination
    assert type(decoded.filters) is AppliedFilters
    assert decoded.filters.fetch_all is False


def test_the_wire_types_are_the_models_fields_spelled_in_camel_case() -> None:
    for model in (Visitor, Pagination, AppliedFilters, protocol._VisitorsBody):
        for strict in (False, True):
            struct = wire_struct(model, strict=strict)
            names = [f.name for f in attrs.fields(model)]
            assert list(struct.__struct_fields__) == names
            assert list(struct.__struct_encode_fields__) == [to_camel(name) for name in names]
            assert struct.__struct_config__.forbid_unknown_fields is strict
    assert wire_struct(Visitor) is wire_struct(Visitor)
    assert wire_struct(Visitor, strict=True) is not wire_struct(Visitor)


def test_a_given_field_left_unset_is_refused_when_built() -> None:
    wire = SPEED.decode(b'{"hasMore":false,"visitors":[{"fetchedAt":"2020-01-01"}]}')
    assert wire is not None
    with pytest.raises(msgspec.ValidationError):
        SPEED.build(wire)  # a msgspec.Raw where a datetime belongs


@attrs.frozen
class WithDatetime:
    when: datetime | None = None


@attrs.frozen
class WithFloat:
    ratio: float = 0.0


@attrs.frozen
class WithFactory:
    names: tuple[str, ...] = attrs.field(factory=tuple)


@pytest.mark.parametrize("model", [WithDatetime, WithFloat, WithFactory])
def test_a_field_msgspec_would_read_otherwise_is_refused_when_the_type_is_made(
    model: type,
) -> None:
    # The converter reads a datetime from ISO text with its own hook and has no float hook;
    # msgspec would read them its own way. A model that grows one fails here, loudly.
    with pytest.raises(TypeError):
        wire_struct(model)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", False),
        ("9" * MAX_INT_DIGITS, False),
        ("9" * (MAX_INT_DIGITS + 1), True),
        ("x" * 4299 + "9" * (MAX_INT_DIGITS + 1), True),
        ("x" * 4300 + "9" * (MAX_INT_DIGITS + 1), True),
        ("x" * 4301 + "9" * (MAX_INT_DIGITS + 1) + "x", True),
        (("9" * MAX_INT_DIGITS + "x") * 5, False),
        ("x" * 10_000 + "9" * MAX_INT_DIGITS, False),
    ],
)
def test_a_long_digit_run_is_found_wherever_it_is(text: str, expected: bool) -> None:
    assert holds_long_digit_run(text.encode()) is expected


@settings(max_examples=200, deadline=None)
@given(before=st.integers(0, 9000), run=st.integers(MAX_INT_DIGITS - 2, MAX_INT_DIGITS + 2),
       after=st.integers(0, 9000))
def test_the_long_digit_run_check_is_exact(before: int, run: int, after: int) -> None:
    body = b"x" * before + b"7" * run + b"-" * after
    assert holds_long_digit_run(body) is (run > MAX_INT_DIGITS)


def test_a_plain_import_loads_neither_cattrs_nor_msgspec() -> None:
    # Both cost import time; the first parse loads what it uses.
    code = (
        "import sys, connectsafely_async; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cattrs', 'msgspec')))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_without_msgspec_the_core_path_parses() -> None:
    code = (
        "import sys; sys.modules['msgspec'] = None\n"
        "from connectsafely_async._protocol import HttpResponse\n"
        "from connectsafely_async._protocol.visitors import parse_visitors_page\n"
        "import connectsafely_async._protocol.visitors as v\n"
        "body = b'{\"hasMore\": false, \"visitors\": [{\"name\": \"a\"}]}'\n"
        "page = parse_visitors_page(HttpResponse(200, {}, body))\n"
        "print(page.visitors[0].name, v._typed)\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["a", "None"]
