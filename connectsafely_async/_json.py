"""The one JSON decode step of the protocol: every way bytes can fail is one exception.

``json.loads`` fails in more ways than ``ValueError``: a document nested a few thousand
levels deep raises ``RecursionError``, and an integer of a million digits takes seconds to
convert on Python 3.10 (3.11 and later refuse it with a ``ValueError`` that reads like a
syntax error). Every caller of the protocol decodes through :func:`loads`, so a hostile
answer becomes an :class:`UndecodableJSON` with a reason, and the caller chooses the SDK
error: nothing else escapes.

The size cap on an answer does not bound what decoding it costs: 16 MiB of ``{},{},...``
is 5.6 million objects, over a gigabyte once decoded and built into visitors, and seconds
with the event loop blocked. So before anything is decoded, :func:`check_values` bounds the
number of values a body can hold (``MAX_VALUES``), with C-speed bytes operations on the raw
body; every decode step of the protocol (the fast path's included) checks it first.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = [
    "CONTAINER_WEIGHT",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_VALUES",
    "UndecodableJSON",
    "check_values",
    "holds_long_digit_run",
    "loads",
    "nesting_depth",
    "stdlib_loads",
]

#: CPython's own default limit on integer digits (``sys.get_int_max_str_digits()``), applied
#: on every version: no field of the service is a number anywhere near this long.
MAX_INT_DIGITS: Final = 4300
#: The deepest nesting an answer may have. The service's deepest answer (a ZodError issue's
#: path) is five levels; errors keep the decoded body, and a body deeper than this would
#: make their repr, pickle or logging run out of stack.
MAX_DEPTH: Final = 64
#: The most values (keys included) an answer may hold, as ``check_values`` counts them: an
#: array or an object counts as ``CONTAINER_WEIGHT`` values, since building one (a dict, then
#: a visitor) costs that many numbers or strings. A real visitor is then about 23 (eight
#: fields, their keys, the object), so some 40,000 of them pass, a page of 16 MB; the worst
#: pages within the bound (every item decoded, built, refused, then decoded again to say why)
#: take under 100 MB and half a second (``python -m benchmarks.hostile_page``).
MAX_VALUES: Final = 1_000_000
#: What one array or object counts for in ``MAX_VALUES``.
CONTAINER_WEIGHT: Final = 8

# Outside strings, each value or key but the first one of a container follows a "," or a
# ":", and the first one follows its container's "[" or "{".
_SEPARATORS: Final = b",:"
_OPENERS: Final = (b"[", b"{")
_SLICE: Final = 1 << 20
_DIGITS: Final = b"0123456789"


class UndecodableJSON(ValueError):  # noqa: N818 (a reason, not an error class of the SDK)
    """Bytes that are not JSON the SDK can use.

    Attributes:
        reason: what is wrong, as a predicate ("is not valid JSON", "holds a number with
            more than 4300 digits"), to follow the name of what was decoded.
        malformed: ``True`` for broken syntax (a proxy's page, a cut-off body: worth a
            retry), ``False`` for valid JSON the SDK refuses (too deep, a number too long).
    """

    def __init__(self, reason: str, *, malformed: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.malformed = malformed


def _bounded_int(text: str) -> int:
    # Counting digits first keeps a million-digit number from costing seconds on 3.10.
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        msg = f"holds a number with more than {MAX_INT_DIGITS} digits"
        raise UndecodableJSON(msg, malformed=False)
    return int(text)


def _no_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity are Python's extensions, not JSON.
    msg = f"is not valid JSON ({name} is not a JSON value)"
    raise UndecodableJSON(msg, malformed=True)


def stdlib_loads(body: bytes | str) -> Any:
    """``json.loads`` without Python's extensions: no NaN or Infinity, no endless integers.

    The parsing step alone, for the fast path when orjson is absent (orjson refuses the same
    things by itself): it raises ``UndecodableJSON`` for those, and json's own exceptions
    (``ValueError``, ``RecursionError``) for the rest.
    """
    return json.loads(body, parse_int=_bounded_int, parse_constant=_no_constant)


def loads(body: bytes | str) -> Any:
    """Decode one JSON document, strictly.

    Raises:
        UndecodableJSON: for every failure: bad syntax or encoding, NaN/Infinity, an integer
            over ``MAX_INT_DIGITS`` digits, nesting deeper than ``MAX_DEPTH``, more than
            ``MAX_VALUES`` values.
    """
    check_values(body)
    try:
        value = stdlib_loads(body)
    except UndecodableJSON:
        raise
    except RecursionError:
        msg = f"is nested more than {MAX_DEPTH} levels deep"
        raise UndecodableJSON(msg, malformed=False) from None
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        msg = "is not valid JSON"
        raise UndecodableJSON(msg, malformed=True) from None
    if nesting_depth(value) > MAX_DEPTH:
        msg = f"is nested more than {MAX_DEPTH} levels deep"
        raise UndecodableJSON(msg, malformed=False)
    return value


def check_values(body: bytes | str) -> None:
    """Refuse a body that may hold more than ``MAX_VALUES`` values, before it is decoded.

    The count is an upper bound for valid JSON: one, plus each ``,`` and ``:`` outside
    strings, plus ``CONTAINER_WEIGHT`` for each ``[`` and ``{`` outside strings (every value
    or key but the first of its container follows a ``,`` or a ``:``, and the first follows
    its container's bracket). Each step is taken only when the ones before cannot decide,
    and each is a pass or two of C over the bytes:

    1. A body too short to reach the bound cannot exceed it.
    2. Those characters counted anywhere, strings included, over-count: within the bound,
       the body is.
    3. Otherwise the strings decide. Their escapes are deleted (``\\\\`` pairs first, then
       ``\\"``: JSON reads escapes left to right, as ``bytes.replace`` does), so every quote
       left opens or closes a string. Each string is a value: more of them than the bound,
       and the body is over it. Else, split at the quotes (a megabyte at a time), every
       other piece is outside the strings, and only those pieces are counted.

    So 16 MiB costs a few ms when it is ordinary JSON and about 0.1 s at worst; invalid JSON
    is counted as if it were valid, and the decoder then says what is wrong with it.

    Raises:
        UndecodableJSON: the body holds more than ``MAX_VALUES`` values (not malformed: the
            same answer would come again).
    """
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if len(raw) * CONTAINER_WEIGHT < MAX_VALUES:
        return
    count = 1 + _weight(raw)
    if count <= MAX_VALUES:
        return
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    if raw.count(b'"') // 2 <= MAX_VALUES and 1 + _weight_outside_strings(raw) <= MAX_VALUES:
        return
    msg = (f"holds more than {MAX_VALUES} values "
           f"(an array or object counting as {CONTAINER_WEIGHT})")
    raise UndecodableJSON(msg, malformed=False)


def holds_long_digit_run(body: bytes) -> bool:
    """True when ``body`` holds more than ``MAX_INT_DIGITS`` digits in a row.

    Such a run is an integer :func:`loads` refuses, or a string or a float that merely
    spells one. A decoder that skips what no model reads (msgspec, for the speed extra) never
    converts that integer, so it would take the body: the speed path leaves such a body to
    the core, which refuses it (or takes it, if the run was in a string).

    Every run that long covers a multiple of ``MAX_INT_DIGITS``, so only the bytes there are
    looked at, and around each one that is a digit the run is measured with two C-speed
    strips: a few microseconds for a page, under a millisecond for 16 MiB.
    """
    step = MAX_INT_DIGITS
    for index in range(0, len(body), step):
        if 0x30 <= body[index] <= 0x39:
            before = body[max(0, index - step) : index]
            after = body[index : index + step + 1]
            digits_before = len(before) - len(before.rstrip(_DIGITS))
            if digits_before + len(after) - len(after.lstrip(_DIGITS)) > step:
                return True
    return False


def _weight_outside_strings(raw: bytes) -> int:
    """``_weight`` of what lies outside strings in ``raw``, whose escapes are gone.

    A slice at a time, so what is split is never much more than the slice: a page's worth of
    pieces at once would cost more memory than decoding the page.
    """
    weight, in_string = 0, False
    for start in range(0, len(raw), _SLICE):
        pieces = raw[start : start + _SLICE].split(b'"')
        # Pieces alternate outside, inside, outside...: from the slice's first one on.
        weight += _weight(b"".join(pieces[1::2] if in_string else pieces[::2]))
        in_string ^= len(pieces) % 2 == 0  # an odd number of quotes in the slice
    return weight


def _weight(raw: bytes) -> int:
    """What the separators and brackets in ``raw`` count for, wherever they are."""
    separators = len(raw) - len(raw.translate(None, _SEPARATORS))
    return separators + CONTAINER_WEIGHT * sum(raw.count(opener) for opener in _OPENERS)


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (a scalar is 0), without recursion.

    Stops counting past ``MAX_DEPTH``: the answer is then "too deep", whatever the rest.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if type(item) is dict:
            children: Any = item.values()
        elif type(item) is list:
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        nested = [child for child in children if type(child) is dict or type(child) is list]
        if nested and depth + 1 > deepest:
            deepest = depth + 1
            if deepest > MAX_DEPTH:
                return deepest
        # An empty array or object is as deep as it gets: counted above, never stacked (a
        # page of a hundred thousand {} visitors would otherwise be walked one by one).
        stack.extend([(child, depth + 1) for child in nested if child])
    return deepest
