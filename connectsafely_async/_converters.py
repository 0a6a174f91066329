"""The package's one cattrs converter: camelCase JSON <-> snake_case attrs classes.

Never the global converter: users may configure that one as they like. The converter is
strict where the wire could lie (a number where a string belongs fails, it is not turned into
``"5"``; ``true`` is not an int) and lenient where the service grows (unknown keys are ignored).

Visitors are the hot path: a page holds up to hundreds of them and cattrs' generic handling of
``str | None`` costs more than the rest of a request. ``structure_visitors`` checks a whole
page's values at C speed and builds the instances directly; it accepts only what the strict
hooks accept (exact ``str`` or ``None``) and hands anything else back to the detailed path,
which then reports the problem with its wire path.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import chain, starmap
from types import UnionType
from typing import Any, Final, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._models import Visitor

__all__ = ["configure_converter", "converter", "make_converter", "structure_visitors", "to_camel"]


def to_camel(name: str) -> str:
    """``profile_picture`` -> ``profilePicture``: the service's spelling of a field."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _strict_str(value: Any, _: type) -> str:
    if type(value) is str:
        return value
    msg = f"expected a string, got {type(value).__name__}"
    raise TypeError(msg)


def _strict_int(value: Any, _: type) -> int:
    # bool is an int subclass; JSON true is never a count.
    if type(value) is int:
        return value
    msg = f"expected an integer, got {type(value).__name__}"
    raise TypeError(msg)


def _strict_bool(value: Any, _: type) -> bool:
    if type(value) is bool:
        return value
    msg = f"expected a boolean, got {type(value).__name__}"
    raise TypeError(msg)


def _or_null(strict: Callable[[Any, type], Any]) -> Callable[[Any, type], Any]:
    def hook(value: Any, target: type) -> Any:
        return None if value is None else strict(value, target)

    return hook


def _datetime(value: Any, _: type) -> datetime:
    # Only the SDK itself puts datetimes into what gets structured (the receive time).
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(_strict_str(value, str))


def _only(json_type: type, name: str, structure: Any) -> Any:
    """``structure``, refusing any value whose JSON type is not ``json_type``."""

    def hook(value: Any, target: type) -> Any:
        if type(value) is not json_type:
            msg = f"expected {name}, got {type(value).__name__}"
            raise TypeError(msg)
        return structure(value, target)

    return hook


def _is_optional(cls: Any) -> bool:
    args = get_args(cls)
    return get_origin(cls) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _is_homogeneous_tuple(cls: Any) -> bool:
    args = get_args(cls)
    return get_origin(cls) is tuple and len(args) == 2 and args[1] is Ellipsis


def configure_converter(converter: cattrs.Converter) -> None:
    """Teach ``converter`` the service's spelling and the SDK's strict primitives."""
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(datetime, _datetime)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    # ``T | None`` straight to T's hook: cattrs' generic Optional handling dispatches again
    # for every value (it was most of a page's head).
    def structure_optional(cls: Any) -> Any:
        (inner,) = (arg for arg in get_args(cls) if arg is not type(None))
        return _or_null(converter.get_structure_hook(inner))

    converter.register_structure_hook_factory(_is_optional, structure_optional)

    def camel_overrides(cls: type) -> dict[str, Any]:
        # Private fields (a page's checkpoint factory) are the SDK's, not the service's.
        return {
            a.name: override(omit=True)
            if a.name.startswith("_")
            else override(rename=to_camel(a.name))
            for a in attrs.fields(cls)
        }

    # The generated hooks would read a string or a list as an object with no keys, and any
    # iterable (a string, an object) as an array: each gets a guard on the JSON type first.
    def structure_object(cls: type) -> Any:
        from_dict: Any = make_dict_structure_fn(cls, converter, **camel_overrides(cls))
        return _only(dict, "an object", from_dict)

    converter.register_structure_hook_factory(attrs.has, structure_object)

    def structure_array(cls: Any) -> Any:
        return _only(list, "an array", homogenous_tuple_structure_factory(cls, converter))

    converter.register_structure_hook_factory(_is_homogeneous_tuple, structure_array)
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, converter, **camel_overrides(cls))
    )


def make_converter() -> cattrs.Converter:
    """A new converter configured like the package's own (for users who want to extend it)."""
    new = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    configure_converter(new)
    return new


def _visitor_text_keys() -> tuple[str, ...] | None:
    """The wire keys of ``Visitor``'s text fields, in field order, if the fast path fits.

    It fits while every field but the last is ``str | None`` defaulting to ``None`` and the
    last is ``fetched_at``; a model change that breaks this turns the fast path off rather
    than making it wrong.
    """
    fields = attrs.fields(attrs.resolve_types(Visitor))
    *text, last = fields
    if last.name != "fetched_at" or any(
        field.type != (str | None) or field.default is not None for field in text
    ):
        return None
    return tuple(to_camel(field.name) for field in text)


_VISITOR_KEYS: Final = _visitor_text_keys()
# Exactly what _strict_str accepts for an optional text field (subclasses of str are refused).
_TEXT_OR_NULL: Final = frozenset({str, type(None)})
# The same for a whole row, whose last value is the SDK's own receive time: decoded JSON holds
# no datetime, so allowing one lets nothing in through the text fields.
_ROW_TYPES: Final = _TEXT_OR_NULL | {datetime}


def structure_visitors(raw: Any, fetched_at: datetime | None) -> tuple[Visitor, ...] | None:
    """A page's decoded ``visitors`` array as ``Visitor``s, each with ``fetched_at``; ``None``
    when anything is off (not an array, an item not an object, a value not a string or null).

    ``None`` never means "invalid" for sure, only "not on the fast path": the caller then
    structures the answer with the converter, which raises the detailed error if there is one.
    The result equals what ``converter.structure`` gives for the same records with
    ``"fetchedAt"`` set to ``fetched_at``.
    """
    keys = _VISITOR_KEYS
    if keys is None or type(raw) is not list:
        return None
    if raw and set(map(type, raw)) != {dict}:
        return None
    # Each row is the constructor's arguments, in field order (checked by _visitor_text_keys).
    rows = [(*map(record.get, keys), fetched_at) for record in raw]
    # One pass over every value of the page, in C, instead of one hook call per value.
    if not _ROW_TYPES.issuperset(map(type, chain.from_iterable(rows))):
        return None
    return tuple(starmap(Visitor, rows))


def _register_fast_visitor_hook(converter: cattrs.Converter) -> None:
    """Give ``converter`` a specialised ``Visitor`` hook, equivalent to the generated one.

    Only the package's own converter gets it: a converter from ``make_converter()`` may be
    given other primitive hooks by its user, which this hook would bypass.
    """
    keys = _VISITOR_KEYS
    if keys is None:
        return
    detailed: Callable[[Any, type], Any] = converter.get_structure_hook(Visitor)

    def structure_visitor(value: Any, target: type) -> Any:
        # A record carrying fetchedAt needs the datetime hook: the detailed path has it.
        if type(value) is dict and "fetchedAt" not in value:
            row = tuple(map(value.get, keys))
            if _TEXT_OR_NULL.issuperset(map(type, row)):
                return Visitor(*row)
        return detailed(value, target)

    converter.register_structure_hook(Visitor, structure_visitor)


converter = make_converter()
_register_fast_visitor_hook(converter)
