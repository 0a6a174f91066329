"""The speed extra's decode: msgspec reads an answer into the models, type-checking in C.

``msgspec.json.Decoder`` decodes the bytes straight into ``Struct`` types derived here from
the attrs models (``wire_struct``): each model's field names, types and defaults, spelled on
the wire by ``_converters.to_camel``. The models stay the one source of truth, and no source
is generated here: ``msgspec.defstruct`` builds each type. The decode type-checks as it
parses, exactly as strictly as the converter's hooks: a JSON string for ``str`` (never a
number), an integer for ``int`` (neither ``true`` nor ``1.0``), ``true`` or ``false`` for
``bool``, ``null`` only where the model says ``| None``, an object for a model, an array for
a tuple. ``msgspec.convert`` then builds the frozen attrs instances from the Structs'
attributes, in C as well.

Each model has two Struct types, which read a page they both take to the same values:

- the **strict** one refuses an unknown key (``forbid_unknown_fields``) and decodes the
  SDK's own ``fetchedAt`` as any JSON value (``Any``), which the caller then overwrites. So
  on a page it takes, msgspec has decoded every string, key or value, and refuses bytes in
  one that are not UTF-8 (json and orjson refuse those anywhere); every byte outside a
  string is JSON's own punctuation, digits, literals or whitespace, all ASCII, or a syntax
  error.
- the **lax** one skips unknown keys, as the converter ignores them, and keeps ``fetchedAt``
  unread (``msgspec.Raw``). msgspec reads neither's text, so bytes that are not UTF-8 there
  would pass: the answer must be checked first (``_is_utf8``).

``TypedDecoder.decode`` checks, in this order: an ASCII answer (``bytes.isascii``) is UTF-8
by construction and goes to the lax type. Any other answer goes to the strict type; a page
of known keys only (every page of the documented answer and of the fake) ends there, with
no check of its own. An answer the strict type refuses (an unknown key, or anything the lax
type refuses too) is checked for UTF-8 in steps (``_is_utf8``), then read by the lax type, as
every non-ASCII answer was before the strict type existed; after one the lax type takes, the
next ``LAX_RUN`` non-ASCII answers skip the strict type (a key the service added comes on
every page).

Nothing here decides what is an error. ``TypedDecoder.decode`` returns ``None`` for whatever
msgspec refuses (a value of the wrong type, a missing required key, a lone surrogate, JSON
nested too deep), and the caller parses the answer again on the core path (the converter),
which alone words errors. So this module changes speed, never results:
``tests/test_typed_decode.py`` holds it to the core path, value for value and refusal for
refusal.

Two refusals of the core are not repeated here, both about values no model reads and both
limits of the core's JSON decoder rather than of the models: an integer of more than 4300
digits under an unknown key (msgspec skips it unconverted; the protocol checks the bytes for
one first, ``_json.holds_long_digit_run``), and nesting within a few levels of the
interpreter's recursion limit (msgspec counts from a shallower stack).

This module imports msgspec: the protocol imports it on first use, when msgspec is installed.
"""

from __future__ import annotations

import codecs
import types
from typing import Any, Final, Generic, TypeVar, Union, get_args, get_origin

import attrs
import msgspec

from ._converters import to_camel
from ._models import Visitor

__all__ = ["LAX_RUN", "SET_BY_THE_SDK", "TypedDecoder", "wire_struct"]

T = TypeVar("T")

#: The fields the SDK fills in itself, whatever an answer says (the converter's path puts
#: them into the records before structuring): a visitor's receive time. Their Structs keep
#: such a key unread (``msgspec.Raw``) for the caller to overwrite before ``build``.
SET_BY_THE_SDK: Final[dict[type, frozenset[str]]] = {Visitor: frozenset({"fetched_at"})}

#: The JSON types msgspec checks exactly as the converter's strict hooks do.
_SCALARS: Final = frozenset({str, int, bool})


def _wire_type(annotation: Any, *, strict: bool) -> Any:
    """The msgspec type that accepts exactly the JSON the converter accepts for ``annotation``
    (a model's type is its ``wire_struct``, ``strict`` or not).

    Raises:
        TypeError: a type the converter structures with a hook of its own (a datetime, say),
            which msgspec would read differently.
    """
    if annotation in _SCALARS:
        return annotation
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return _wire_type(inner, strict=strict) | None
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple[_wire_type(args[0], strict=strict), ...]  # type: ignore[misc]
    if isinstance(annotation, type) and attrs.has(annotation):
        return wire_struct(annotation, strict=strict)
    msg = f"no msgspec type reads {annotation!r} as the converter does"
    raise TypeError(msg)


def wire_struct(model: type, *, strict: bool = False) -> type[msgspec.Struct]:
    """The ``Struct`` type of ``model``'s JSON: its fields (the private ones left out),
    their wire types and defaults, camelCase on the wire.

    Lax (the default), an unknown key is skipped, and a field in ``SET_BY_THE_SDK`` is a
    ``msgspec.Raw`` the caller replaces with the SDK's value: msgspec reads the text of
    neither. ``strict``, an unknown key is refused (``forbid_unknown_fields``, here and in
    every model below), and a field in ``SET_BY_THE_SDK`` is decoded as any JSON value
    (``Any``) for the caller to replace all the same: so msgspec decodes every string of
    an answer it takes, and a string's bytes that are not UTF-8 are refused.

    Made once per model and kind, then the same type.

    Raises:
        TypeError: a field whose type or default msgspec cannot take as the converter does.
    """
    made = _STRUCTS.get((model, strict))
    if made is None:
        made = _STRUCTS[model, strict] = _make_wire_struct(model, strict=strict)
    return made


_STRUCTS: Final[dict[tuple[type, bool], type[msgspec.Struct]]] = {}


def _make_wire_struct(model: type, *, strict: bool) -> type[msgspec.Struct]:
    given = SET_BY_THE_SDK.get(model, frozenset())
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field in attrs.fields(attrs.resolve_types(model)):
        if field.name.startswith("_"):
            continue
        if field.name in given:
            # A Struct attribute all the same: msgspec.convert reads every field of the
            # model from the Struct, and a missing one costs it an AttributeError per item.
            # msgspec.Raw keeps the value's bytes unread, unchecked: only the lax type may.
            spec.append((field.name, Any if strict else msgspec.Raw, None))
            continue
        wire = _wire_type(field.type, strict=strict)
        if field.default is attrs.NOTHING:
            spec.append((field.name, wire))
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            msg = f"{model.__name__}.{field.name}: a default factory has no msgspec twin here"
            raise TypeError(msg)
        else:
            spec.append((field.name, wire, field.default))
    # gc=False: a decoded Struct holds only strings, numbers and other such Structs (and, in
    # a strict one, a given field's JSON value until the caller replaces it), never a cycle,
    # so the garbage collector need not track the hundred made per page.
    return msgspec.defstruct(
        f"{model.__name__}{'Strict' if strict else ''}Wire", spec, rename=to_camel,
        kw_only=True, gc=False, forbid_unknown_fields=strict,
    )


#: How much of an answer one step of the UTF-8 check decodes (see ``_is_utf8``).
_UTF8_STEP: Final = 8192


def _is_utf8(body: bytes, *, step: int = _UTF8_STEP) -> bool:
    """Whether ``body`` is UTF-8 throughout, checked a step at a time.

    The lax type passes over an unknown key or value (and ``fetchedAt``) without reading its
    text, so bytes that are not UTF-8 there would pass, where json and orjson refuse the
    answer: such an answer goes to the converter's path. Only answers that are not ASCII and
    that the strict type refuses are checked. They are decoded in steps, about 20 µs for
    40 KB: decoding
    it whole allocates a string as large as the page, up to four times its bytes, for every
    page, which left a long walk's heap fragmented (a million visitors streamed: 6.2 MB of
    peak RSS growth, against 1.8-2.0 MB in steps and 1.5-1.7 MB with no check at all).
    """
    decode = codecs.getincrementaldecoder("utf-8")().decode
    view = memoryview(body)
    try:
        for start in range(0, len(body), step):
            decode(view[start : start + step])
        decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


#: After an answer with a key the strict type does not know, how many non-ASCII answers
#: go straight to the check and the lax type: a service that grew a key sends it on every
#: page, and the strict type may read most of a page before it meets it (a key after the
#: visitors: 1.7x the time of the check and the lax type).
LAX_RUN: Final = 64


class TypedDecoder(Generic[T]):
    """Decodes JSON bytes into ``model``'s Struct (``decode``), then the Struct into a
    ``model`` instance (``build``); in between, the caller sets the fields the SDK gives."""

    __slots__ = ("_lax", "_lax_left", "_model", "_strict")

    def __init__(self, model: type[T]) -> None:
        self._model = model
        self._strict = msgspec.json.Decoder(wire_struct(model, strict=True)).decode
        self._lax = msgspec.json.Decoder(wire_struct(model)).decode
        self._lax_left = 0

    def decode(self, body: bytes) -> Any:
        """The answer's Struct, or ``None`` where msgspec refuses the bytes (then the
        converter's path decides, and words the error if there is one).

        An ASCII answer (``isascii``, a fraction of a microsecond) cannot hold bytes that
        are not UTF-8: the lax type reads it. Any other answer goes to the strict type
        first, which refuses an unknown key and decodes every other string: an answer it
        takes is UTF-8 throughout. One it refuses (an unknown key, or anything the lax type
        refuses too) is checked for UTF-8 (``_is_utf8``), then read by the lax type; when
        the lax type takes it, the next ``LAX_RUN`` answers skip the strict type. Either
        way gives the same Struct values: which one reads an answer changes only the time.
        """
        if body.isascii():
            return self._lax_decode(body)
        if self._lax_left > 0:  # > 0: threads racing on the count may take it below 0
            self._lax_left -= 1
            return self._checked_lax_decode(body)
        try:
            return self._strict(body)
        except (msgspec.DecodeError, RecursionError):  # msgspec.ValidationError included
            pass
        wire = self._checked_lax_decode(body)
        if wire is not None:
            self._lax_left = LAX_RUN
        return wire

    def _checked_lax_decode(self, body: bytes) -> Any:
        return self._lax_decode(body) if _is_utf8(body) else None

    def _lax_decode(self, body: bytes) -> Any:
        try:
            return self._lax(body)
        except (msgspec.DecodeError, RecursionError):  # msgspec.ValidationError included
            return None

    def build(self, wire: Any) -> T:
        """The ``model`` instance of a Struct ``decode`` gave, its given fields set.

        Raises:
            msgspec.ValidationError: a given field was left unset (a ``msgspec.Raw``) or set
                to a value of the wrong type.
        """
        return msgspec.convert(wire, self._model, from_attributes=True)
