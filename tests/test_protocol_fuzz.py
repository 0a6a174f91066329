"""The pure layer under fuzzing: any status, headers and bytes in -> a result or our error out.

Each example goes through what the client does with an answer: the redactor, then the
parser of the endpoint. Whatever comes in, what comes out is a ``VisitorsPage`` (or a tuple
of ``Account``s) or a ``ConnectSafelyError``, never any other exception, and the key is in
neither (their repr, their pickle, an error's attributes).

The default suite runs a bounded number of examples; a longer run:

    CONNECTSAFELY_FUZZ_EXAMPLES=20000 python -m pytest tests/test_protocol_fuzz.py
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

import connectsafely_async._protocol.visitors as protocol
from connectsafely_async import ConnectSafelyError, VisitorsPage
from connectsafely_async._json import stdlib_loads
from connectsafely_async._protocol import HttpResponse, Redactor
from connectsafely_async._protocol.accounts import parse_accounts
from connectsafely_async._protocol.visitors import parse_visitors_page
from connectsafely_async._secrets import Secret

# Each way the parser can run: the speed extra's msgspec decode (when installed) before the
# core path, and the core path's decode, json or orjson (when installed).
Decoders = tuple[Callable[[bytes], Any] | None, Callable[[bytes], Any]]
DECODERS: list[Decoders] = [(None, stdlib_loads)]
try:
    import orjson
except ImportError:  # optional: fuzz the stdlib core path alone
    pass
else:
    DECODERS.append((None, orjson.loads))
try:
    from connectsafely_async._typed_decode import TypedDecoder
except ImportError:  # the speed extra (msgspec) is optional
    pass
else:
    DECODERS.append((TypedDecoder(protocol._VisitorsBody), stdlib_loads))

KEY = 'sk_live_F"uzz/Key\\0123abcXYZ'  # a quote, a slash and a backslash: every short escape
REDACTOR = Redactor(Secret(KEY))
RECEIVED = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
EXAMPLES = int(os.environ.get("CONNECTSAFELY_FUZZ_EXAMPLES", "250"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)

# -- values -----------------------------------------------------------------------------------


def spell(text: str, draw: st.DrawFn) -> str:
    """``text`` as JSON string content, each character plain or escaped, as ``draw`` picks."""
    out = []
    for char in text:
        short = {'"': '\\"', "\\": "\\\\", "/": "\\/"}.get(char)
        choice = draw(st.integers(0, 2))
        if choice == 0:
            out.append(short or char)
        elif choice == 1:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(short if short and char == "/" else f"\\u{ord(char):04X}")
    return "".join(out)


@st.composite
def key_echo(draw: st.DrawFn) -> str:
    """A JSON string literal (quotes included) that decodes to text holding the key."""
    before = draw(st.text(max_size=5).map(lambda s: json.dumps(s)[1:-1]))
    return f'"{before}{spell(KEY, draw)}"'


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=8), inner, max_size=4), max_leaves=12,
)
text_or_odd = st.one_of(st.text(max_size=30), json_values, st.just(KEY))
visitor_keys = ["entityUrn", "publicIdentifier", "name", "headline", "profilePicture",
                "viewedAt", "connectionDegree", "profileUrl", "navigationUrl"]


@st.composite
def visitor(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(visitor_keys), unique=True, max_size=9))
    return {key: draw(text_or_odd) for key in keys}


@st.composite
def page(draw: st.DrawFn) -> Any:
    """A visitors answer, right or a little wrong (missing keys, wrong types, extras)."""
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["success"] = draw(st.one_of(st.booleans(), json_values))
    if draw(st.integers(0, 5)):
        body["hasMore"] = draw(st.one_of(st.booleans(), json_values))
    body["visitors"] = draw(st.one_of(st.lists(visitor(), max_size=5), json_values))
    if draw(st.booleans()):
        body["pagination"] = draw(st.one_of(
            st.fixed_dictionaries({}, optional={
                "start": st.integers(), "count": st.integers(), "total": st.integers()}),
            json_values,
        ))
    if draw(st.booleans()):
        body["filters"] = draw(st.one_of(st.dictionaries(st.text(max_size=10), scalars), scalars))
    if draw(st.booleans()):
        body["error"] = draw(text_or_odd)
    return body


@st.composite
def accounts(draw: st.DrawFn) -> Any:
    return draw(st.lists(st.one_of(
        st.fixed_dictionaries({"id": text_or_odd}, optional={
            "firstName": text_or_odd, "status": text_or_odd, "enabled": st.booleans()}),
        json_values,
    ), max_size=4))


def dumps(value: Any, draw: st.DrawFn) -> bytes:
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    # Put escaped echoes of the key where strings were: in values, keys, error messages.
    while '"' in text and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(text) - 1))
        if text[at] == ":" or text[at] == ",":
            text = text[: at + 1] + (f'"x":{draw(key_echo())},' if text[at] == "," else
                                     f"{draw(key_echo())},\"y\":") + text[at + 1 :]
            break
    return text.encode()


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(
        ["page", "accounts", "truncated", "deep", "huge-number", "bad-utf8", "echo", "bytes",
         "html"]
    ))
    if kind in ("page", "accounts"):
        return dumps(draw(page() if kind == "page" else accounts()), draw)
    if kind == "truncated":
        raw = dumps(draw(page()), draw)
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "deep":
        depth = draw(st.sampled_from([63, 64, 65, 500, 999, 1001, 5000, 20000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        core = "[]" if opener == "[" else "1"
        inner = opener * depth + core + closer * depth
        return f'{{"hasMore": false, "visitors": [], "x": {inner}}}'.encode()
    if kind == "huge-number":
        digits = draw(st.sampled_from([20, 4300, 4301, 5000, 100_000]))
        where = draw(st.sampled_from(["hasMore", "pagination", "x"]))
        number = "9" * digits
        value = number if where != "pagination" else f'{{"start": {number}}}'
        return f'{{"hasMore": false, "visitors": [], "{where}": {value}}}'.encode()
    if kind == "bad-utf8":
        raw = bytearray(dumps(draw(page()), draw))
        for _ in range(draw(st.integers(1, 3))):
            raw.insert(draw(st.integers(0, len(raw))), draw(st.sampled_from([0xFF, 0xC3, 0xED])))
        return bytes(raw)
    if kind == "echo":
        return (f'{{"success": false, "error": {draw(key_echo())}, '
                f'"message": {draw(key_echo())}}}').encode()
    if kind == "html":
        return f"<html><body>{KEY} {spell(KEY, draw)}</body></html>".encode()
    return draw(st.binary(max_size=300))


statuses = st.one_of(
    st.sampled_from([200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 418, 429, 500, 502, 503]),
    st.integers(100, 599),
)
header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    st.sampled_from(["inf", "nan", "-1", "1e35", "9" * 50, "Wed, 01 Jan 2025 12:00:45 GMT",
                     "2025-01-01T12:00:00Z", KEY, f"req-{KEY}", "\u0663"]),
)
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Retry-After", "X-RateLimit-Limit",
                     "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Action",
                     "X-RateLimit-Reset", "X-Request-Id", "Location"]),
    header_values, max_size=5,
).map(lambda h: {**h, "Content-Type": h.get("Content-Type", "application/json")})


def answer(status: int, header_map: dict[str, str], body: bytes) -> HttpResponse:
    proxy = CIMultiDictProxy(CIMultiDict(header_map))
    return REDACTOR(HttpResponse(status, proxy, body, received_at=RECEIVED))


def assert_clean(outcome: object) -> None:
    assert KEY not in repr(outcome)
    if isinstance(outcome, ConnectSafelyError):
        assert KEY not in str(outcome)
        assert KEY not in repr(vars(outcome))
    assert KEY.encode() not in pickle.dumps(outcome)


@contextmanager
def fast_path_decoder(decoders: Decoders) -> Iterator[None]:
    # Which decoders the parser uses depends on what is installed, not on any answer, so
    # no request could choose them: each example runs with each decoder there is.
    saved = protocol._typed, protocol._loads
    protocol._typed, protocol._loads = decoders
    try:
        yield
    finally:
        protocol._typed, protocol._loads = saved


@FUZZ
@given(status=statuses, header_map=headers, body=bodies())
def test_any_answer_is_a_page_or_our_error_and_never_holds_the_key(
    status: int, header_map: dict[str, str], body: bytes
) -> None:
    outcomes = []
    for decoders in DECODERS:
        with fast_path_decoder(decoders):
            try:
                outcome: object = parse_visitors_page(answer(status, header_map, body))
            except ConnectSafelyError as error:
                outcome = error
            else:
                assert isinstance(outcome, VisitorsPage)
                assert 200 <= status < 300
        assert_clean(outcome)
        outcomes.append(outcome)
    # Either decoder, the same verdict: a page, or an error of the same class.
    assert len({type(outcome) for outcome in outcomes}) == 1


@FUZZ
@given(status=statuses, header_map=headers, body=bodies())
def test_any_accounts_answer_is_accounts_or_our_error_and_never_holds_the_key(
    status: int, header_map: dict[str, str], body: bytes
) -> None:
    try:
        outcome: object = parse_accounts(answer(status, header_map, body))
    except ConnectSafelyError as error:
        outcome = error
    else:
        assert type(outcome) is tuple
        assert 200 <= status < 300
    assert_clean(outcome)
