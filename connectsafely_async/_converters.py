"""The package's one cattrs converter: camelCase JSON <-> snake_case attrs classes.

Never the global converter: users may configure that one as they like. The converter is
strict where the wire could lie (a number where a string belongs fails, it is not turned into
``"5"``; ``true`` is not an int) and lenient where the service grows (unknown keys are ignored).

Visitors are the hot path: a page holds up to hundreds of them and cattrs' generic handling of
``str | None`` costs more than the rest of a request. ``structure_visitors`` runs a builder
generated from ``Visitor``'s fields (``_builders``): it accepts only what the strict hooks
accept (exact ``str`` or ``None``) and hands anything else back to the detailed path, which
then reports the problem with its wire path. A page's head has one too (``records_builder``).

So a walk of well-formed pages never structures through cattrs, and the converter is built on
first use, not at import: ``converter`` here is a lazy module attribute, and ``cattrs`` is
imported only by what needs it (a detailed error, the accounts endpoint, ``make_converter``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import UnionType
from typing import TYPE_CHECKING, Any, Final, Union, get_args, get_origin

import attrs

from ._builders import Builder, make_records_builder
from ._models import AppliedFilters, Pagination, Visitor

if TYPE_CHECKING:
    import cattrs

    #: The package's own converter, built on first use (see ``__getattr__`` below).
    converter: cattrs.Converter

__all__ = [
    "configure_converter",
    "converter",
    "make_converter",
    "records_builder",
    "structure_visitors",
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
    from cattrs.cols import homogenous_tuple_structure_factory
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

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
        if not converter.detailed_validation:
            return _only(list, "an array", homogenous_tuple_structure_factory(cls, converter))
        return _only(list, "an array", _first_problems_tuple(cls, converter))

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


def make_converter() -> cattrs.Converter:
    """A new converter configured like the package's own (for users who want to extend it)."""
    import cattrs  # here, not at module level: most of the package's import time otherwise

    new = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    configure_converter(new)
    return new


# Built once at import: None if a model change ever makes Visitor unfit for a builder (a
# validator, say); then every page takes the converter's path, slower but the same.
_build_visitors: Final = make_records_builder(Visitor, key=to_camel, given=("fetched_at",))
#: The builders of the models a page's head holds, for the hooks below and ``records_builder``.
_NESTED: Final[dict[type, Builder]] = {
    cls: build
    for cls in (Pagination, AppliedFilters)
    if (build := make_records_builder(cls, key=to_camel)) is not None
}


def records_builder(cls: type) -> Builder | None:
    """A builder of ``cls`` from camelCase records whose fields may hold the models of a
    page's head (``Pagination``, ``AppliedFilters``); ``None`` when ``cls`` does not fit.

    Exactly as strict as the package converter: a record the builder refuses is the
    converter's to structure, or to explain.
    """
    return make_records_builder(cls, key=to_camel, nested=_NESTED)


def structure_visitors(raw: Any, fetched_at: datetime | None) -> tuple[Visitor, ...] | None:
    """A page's decoded ``visitors`` array as ``Visitor``s, each with ``fetched_at``; ``None``
    when anything is off (not an array, an item not an object, a value not a string or null).

    ``None`` never means "invalid" for sure, only "not on the fast path": the caller then
    structures the answer with the converter, which raises the detailed error if there is one.
    The result equals what ``converter.structure`` gives for the same records with
    ``"fetchedAt"`` set to ``fetched_at``.
    """
    if _build_visitors is None:
        return None
    return _build_visitors(raw, fetched_at)


def _register_fast_hooks(converter: cattrs.Converter) -> None:
    """Give ``converter`` builder-backed hooks for the models that have builders.

    Only the package's own converter gets them: a converter from ``make_converter()`` may be
    given other primitive hooks by its user, which a builder would bypass. Each hook falls
    back to the converter's generated one for anything the builder does not take.
    """

    def fast_hook(cls: type, build: Callable[..., Any]) -> Any:
        detailed: Callable[[Any, type], Any] = converter.get_structure_hook(cls)

        def structure(value: Any, target: type) -> Any:
            built = build([value])
            return built[0] if built is not None else detailed(value, target)

        return structure

    if _build_visitors is not None:
        detailed_visitor: Callable[[Any, type], Any] = converter.get_structure_hook(Visitor)

        def structure_visitor(value: Any, target: type) -> Any:
            # A fetchedAt that is a datetime (the receive time the detailed path adds) is what
            # the datetime hook would return as is; any other needs that hook.
            if type(value) is dict:
                fetched_at = value.get("fetchedAt")
                if fetched_at is None or isinstance(fetched_at, datetime):
                    built = _build_visitors([value], fetched_at)
                    if built is not None:
                        return built[0]
            return detailed_visitor(value, target)

        converter.register_structure_hook(Visitor, structure_visitor)
    # A page's head holds one of each: the builder saves a few hook calls per page.
    for cls, build in _NESTED.items():
        converter.register_structure_hook(cls, fast_hook(cls, build))


def _package_converter() -> cattrs.Converter:
    built = make_converter()
    _register_fast_hooks(built)
    return built


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        # The package's converter is built on first use (PEP 562): cattrs and the converter's
        # hooks are most of what ``import connectsafely_async`` would cost on top of aiohttp,
        # and a walk of well-formed pages never needs them (the builders do that work). Two
        # threads racing here build two equal converters; one of them stays.
        if name == "converter":
            global converter
            converter = _package_converter()
            return converter
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
