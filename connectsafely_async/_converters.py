"""The package's one cattrs converter: camelCase JSON <-> snake_case attrs classes.

Never the global converter: users may configure that one as they like. The converter is
strict where the wire could lie (a number where a string belongs fails, it is not turned into
``"5"``; ``true`` is not an int) and lenient where the service grows (unknown keys are ignored).

It is the SDK's one way from decoded JSON to its models, on every endpoint: cattrs generates
the structuring function of each model itself (``make_dict_structure_fn`` with the camelCase
renames), and the hooks it calls are the strict ones below, one call per value (``str | None``
is one hook, not a null check wrapped around a string check). Validation is detailed (each
problem keeps its wire path for the error message).

The parsers first try ``fast_converter``: the same ``make_converter`` without detailed
validation, so the two cannot drift apart. It takes and refuses exactly what ``converter``
does (``tests/test_converters.py`` holds it to that), only sooner and without the paths; a
parser that sees it refuse asks ``converter`` again, which alone words the error. On a
well-formed visitors page that saves the bookkeeping of detailed validation (about 0.1x
of pydantic's time for the same page; see benchmarks/README.md, "After the fast core").

The converter is built on first use, not at import: ``converter`` here is a lazy module
attribute, and ``cattrs`` is imported only by what needs it (a parse, ``make_converter``).
The speed extra decodes visitors pages without it (``_typed_decode``), into types derived
from the same models, and comes back here for anything it does not take.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import UnionType
from typing import TYPE_CHECKING, Any, Final, Union, get_args, get_origin

import attrs

if TYPE_CHECKING:
    import cattrs

    #: The package's own converter, built on first use (see ``__getattr__`` below).
    converter: cattrs.Converter
    #: The same without detailed validation: the parsers' first try on a well-formed
    #: answer; anything it refuses goes through ``converter``, which words the error.
    fast_converter: cattrs.Converter

__all__ = [
    "configure_converter",
    "converter",
    "fast_converter",
    "make_converter",
    "to_camel",
]


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


def _strict_str_or_null(value: Any, _: type) -> str | None:
    if value is None or type(value) is str:
        return value
    msg = f"expected a string, got {type(value).__name__}"
    raise TypeError(msg)


def _strict_int_or_null(value: Any, _: type) -> int | None:
    if value is None or type(value) is int:
        return value
    msg = f"expected an integer, got {type(value).__name__}"
    raise TypeError(msg)


def _strict_bool_or_null(value: Any, _: type) -> bool | None:
    if value is None or type(value) is bool:
        return value
    msg = f"expected a boolean, got {type(value).__name__}"
    raise TypeError(msg)




def _or_null(strict: Callable[[Any, type], Any]) -> Callable[[Any, type], Any]:
    combined = _OR_NULL.get(strict)
    if combined is not None:
        return combined

    def hook(value: Any, target: type) -> Any:
        return None if value is None else strict(value, target)

    return hook


def _datetime(value: Any, _: type) -> datetime:
    # Only the SDK itself puts datetimes into what gets structured (the receive time).
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(_strict_str(value, str))


def _datetime_or_null(value: Any, target: type) -> datetime | None:
    if value is None or type(value) is datetime:
        return value
    return _datetime(value, target)


#: ``T | None`` of each strict primitive as one hook: a page of visitors calls them ten
#: times per visitor, and a wrapper around the strict hook would double those calls.
_OR_NULL: Final[dict[Callable[[Any, type], Any], Callable[[Any, type], Any]]] = {
    _strict_str: _strict_str_or_null,
    _strict_int: _strict_int_or_null,
    _strict_bool: _strict_bool_or_null,
    _datetime: _datetime_or_null,
}


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
    from cattrs.cols import homogenous_tuple_structure_factory
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook(datetime, _datetime)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    # ``T | None`` straight to T's hook (one hook for our strict primitives, unless a user of
    # ``make_converter()`` replaced one): cattrs' generic Optional handling dispatches again
    # for every value.
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
        if converter.detailed_validation:
            return _only(list, "an array", _first_problems_tuple(cls, converter))
        return _only(list, "an array", homogenous_tuple_structure_factory(cls, converter))

    converter.register_structure_hook_factory(_is_homogeneous_tuple, structure_array)
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, converter, **camel_overrides(cls))
    )


#: The problems an array reports at most. cattrs' own hook keeps one exception (with its
#: traceback) per bad item: for a page of 300,000 of them, gigabytes and seconds, to show
#: the first three.
MAX_REPORTED_PROBLEMS: Final = 10


def _first_problems_tuple(cls: Any, converter: cattrs.Converter) -> Callable[[Any, type], Any]:
    """cattrs' detailed hook for ``tuple[T, ...]``, stopping at ``MAX_REPORTED_PROBLEMS``.

    The same result and the same ``IterableValidationError`` (each problem noted with its
    index) as ``homogenous_tuple_structure_factory``, for at most the first problems.
    """
    from cattrs.errors import IterableValidationError, IterableValidationNote

    item_type = get_args(cls)[0]
    handler = converter.get_structure_hook(item_type)

    def structure(value: Any, _: type) -> tuple[Any, ...]:
        out, problems = [], []
        for index, item in enumerate(value):
            try:
                out.append(handler(item, item_type))
            except Exception as exc:  # cattrs' contract: any exception is a problem to report
                note = IterableValidationNote(f"Structuring {cls} @ index {index}", index,
                                              item_type)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
                problems.append(exc)
                if len(problems) == MAX_REPORTED_PROBLEMS:
                    break
        if problems:
            msg = f"While structuring {cls!r}"
            raise IterableValidationError(msg, problems, cls)
        return tuple(out)

    return structure


def make_converter(*, detailed: bool = True) -> cattrs.Converter:
    """A new converter configured like the package's own (for users who want to extend it).

    Args:
        detailed: cattrs' detailed validation, on by default: every problem is reported with
            its path in the data. Off, the converter refuses exactly the same data, sooner
            and with the first problem only, and structures well-formed data faster.
    """
    import cattrs  # here, not at module level: most of the package's import time otherwise

    new = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    configure_converter(new)
    return new


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        # The package's converter is built on first use (PEP 562): cattrs and the converter's
        # hooks are most of what ``import connectsafely_async`` would cost on top of aiohttp.
        # Two threads racing here build two equal converters; one of them stays.
        if name == "converter":
            global converter
            converter = make_converter()
            return converter
        if name == "fast_converter":
            global fast_converter
            fast_converter = make_converter(detailed=False)
            return fast_converter
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
