"""Record builders: a whole page of JSON objects into frozen slotted attrs instances, fast.

The converter's generated hooks call one strict hook per value and construct each instance
through the attrs ``__init__``, which sets every slot through ``object.__setattr__``. For a
page of a hundred visitors that is most of the SDK's parsing time. A builder does the same
work in one function generated (once, from ``attrs.fields``) for the model: per field, read
the camelCase key, check the value's exact type as the strict hooks do, and store it with
the class's own slot descriptor on an instance made by ``cls.__new__``.

A builder never decides what is an error. On anything it does not accept (not a list, an
item not an object, a value of the wrong type, a missing required key) it returns ``None``
and the caller structures the data with the converter, which raises the detailed error
with its wire path. So a builder changes speed, never results, and it exists only for
models whose ``__init__`` does nothing but store the values: no validators, no converters,
no ``__attrs_pre_init__`` / ``__attrs_post_init__``, no factories, no private or
``init=False`` fields, every slot a field (no cached hash). A field may also hold another
model (``Pagination | None``) when that model's own builder is given: the value must be an
object, built by that builder, exactly as the converter's hook for the model would.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any, Final, Union, get_args, get_origin

import attrs

__all__ = ["STRICT_TYPES", "make_records_builder"]

#: The field types a builder checks itself, and the one exact type each accepts: what the
#: converter's strict hooks accept (``_strict_str`` and its siblings; ``True`` is not an
#: int, a ``str`` subclass is not a ``str``). A model with any other wire type gets no builder.
STRICT_TYPES: Final[frozenset[type]] = frozenset({str, int, bool})

Builder = Callable[..., "tuple[Any, ...] | None"]

_MISSING: Final = object()


def _optional_of(annotation: Any, accepted: Container[Any]) -> tuple[type, bool] | None:
    """``(T, None allowed)`` for ``T`` or ``T | None`` with T in ``accepted``, else ``None``."""
    if annotation in accepted:
        return annotation, False
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType) and len(args) == 2:
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) == 1 and inner[0] in accepted:
            return inner[0], True
    return None


def _wire_type(annotation: Any) -> tuple[type, bool] | None:
    """``(exact type, None allowed)`` for ``T`` or ``T | None`` with T strict, else ``None``."""
    return _optional_of(annotation, STRICT_TYPES)


def _model_type(annotation: Any, nested: Mapping[type, Builder]) -> tuple[type, bool] | None:
    """``(model, None allowed)`` for ``M`` or ``M | None`` with M in ``nested``, else ``None``."""
    return _optional_of(annotation, nested)


def _slot_names(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    return names - {"__weakref__"}


def _fits(cls: type) -> bool:
    """True when constructing ``cls`` is nothing but storing each field in its slot."""
    if not attrs.has(cls) or "__dict__" in _slot_names(cls) or not hasattr(cls, "__slots__"):
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    fields = attrs.fields(cls)
    if _slot_names(cls) != {field.name for field in fields}:
        return False  # a hidden slot (a cached hash) that __init__ would fill
    for field in fields:
        descriptor = getattr(cls, field.name, None)
        if (
            not isinstance(descriptor, types.MemberDescriptorType)
            or field.validator is not None
            or field.converter is not None
            or not field.init
            or field.name.startswith("_")
            or isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
        ):
            return False
    return True


class _FieldCheck:
    """The generated lines that check (or build) one field's ``value``, and whether ``None``
    passes them (then a default of ``None`` needs no check of its own)."""

    __slots__ = ("lines", "nullable")

    def __init__(self, lines: list[str], *, nullable: bool) -> None:
        self.lines = lines
        self.nullable = nullable


def _field_check(
    index: int, annotation: Any, nested: Mapping[type, Builder], namespace: dict[str, Any]
) -> _FieldCheck | None:
    """The lines for one field's ``value`` (on a wrong one, ``return None``), or ``None`` when
    the builder cannot take the field's type."""
    wire = _wire_type(annotation)
    if wire is not None:
        exact, nullable = wire
        namespace[f"type_{index}"] = exact
        wrong = f"type(value) is not type_{index}"
        if nullable:
            wrong = f"value is not None and {wrong}"
        return _FieldCheck([f"        if {wrong}:", "            return None"], nullable=nullable)
    model = _model_type(annotation, nested)
    if model is None:
        return None
    inner, nullable = model
    namespace[f"nested_{index}"] = nested[inner]
    # The model's own builder takes the value as a page of one: it refuses what is not an
    # object, as the converter's hook for the model does (a null only where it is allowed).
    step = [
        f"        built = nested_{index}([value])",
        "        if built is None:",
        "            return None",
        "        value = built[0]",
    ]
    if nullable:
        step = ["        if value is not None:", *("    " + line for line in step)]
    return _FieldCheck(step, nullable=nullable)


def make_records_builder(
    cls: type,
    *,
    key: Callable[[str], str],
    given: Sequence[str] = (),
    nested: Mapping[type, Builder] | None = None,
) -> Builder | None:
    """A function turning a list of JSON objects into a tuple of ``cls``, or ``None``.

    The builder is called as ``build(records, *values_of_given)``: the fields named in
    ``given`` are not read from the records but set to the values passed (the SDK's own,
    such as a visitor's receive time, trusted as they are). Every other field is read from
    ``record.get(key(name))`` and must have a type in ``STRICT_TYPES`` or in ``nested``,
    optionally ``| None``.

    Args:
        cls: a frozen or mutable slotted attrs class.
        key: the wire key of a field name (e.g. ``to_camel``).
        given: the names of the fields the caller supplies.
        nested: the builders of the models ``cls``'s fields may hold (``{Pagination: ...}``).

    Returns:
        The builder, or ``None`` when ``cls`` does not fit (see the module docstring); then
        the caller keeps using the converter for it.
    """
    if not _fits(cls):
        return None
    fields = attrs.fields(attrs.resolve_types(cls))
    unknown = set(given) - {field.name for field in fields}
    if unknown:
        msg = f"{cls.__name__} has no field(s) {sorted(unknown)}"
        raise ValueError(msg)
    namespace: dict[str, Any] = {"new": cls.__new__, "cls": cls, "MISSING": _MISSING}
    params = [f"given_{position}" for position in range(len(given))]
    body = [
        f"def build(records, {', '.join(params)}):" if params else "def build(records):",
        "    if type(records) is not list:",
        "        return None",
        "    out = []",
        "    append = out.append",
        "    for record in records:",
        "        if type(record) is not dict:",
        "            return None",
        "        instance = new(cls)",
    ]
    for index, field in enumerate(fields):
        setter = f"set_{index}"
        namespace[setter] = getattr(cls, field.name).__set__
        if field.name in given:
            body.append(f"        {setter}(instance, given_{list(given).index(field.name)})")
            continue
        check = _field_check(index, field.type, nested or {}, namespace)
        if check is None:
            return None
        name = key(field.name)
        if field.default is attrs.NOTHING:
            # Required: a missing key is the converter's error to report.
            body += [
                f"        value = record.get({name!r}, MISSING)",
                "        if value is MISSING:",
                "            return None",
                *check.lines,
            ]
        elif field.default is None and check.nullable:
            # The common case: the default passes the check, so one lookup does.
            body += [f"        value = record.get({name!r})", *check.lines]
        else:
            # A default is not checked by the converter either: only values read are.
            namespace[f"default_{index}"] = field.default
            body += [
                f"        value = record.get({name!r}, MISSING)",
                "        if value is MISSING:",
                f"            value = default_{index}",
                "        else:",
                *("    " + line for line in check.lines),
            ]
        body.append(f"        {setter}(instance, value)")
    body += ["        append(instance)", "    return tuple(out)"]
    source = "\n".join(body)
    code = compile(source, f"<record builder for {cls.__qualname__}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own source, generated from the model's fields
    build: Builder = namespace["build"]
    build.__doc__ = source  # readable in a debugger: the generated code itself
    return build
