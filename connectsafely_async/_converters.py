"""The package's one cattrs converter: camelCase JSON <-> snake_case attrs classes.

Never the global converter: users may configure that one as they like. The converter is
strict where the wire could lie (a number where a string belongs fails, it is not turned into
``"5"``; ``true`` is not an int) and lenient where the service grows (unknown keys are ignored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = ["configure_converter", "converter", "make_converter", "to_camel"]


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


def _datetime(value: Any, _: type) -> datetime:
    # Only the SDK itself puts datetimes into what gets structured (the receive time).
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(_strict_str(value, str))


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

    def camel_overrides(cls: type) -> dict[str, Any]:
        return {a.name: override(rename=to_camel(a.name)) for a in attrs.fields(cls)}

    def structure_object(cls: type) -> Any:
        from_dict: Any = make_dict_structure_fn(cls, converter, **camel_overrides(cls))

        # The generated hook would read a string or a list as an object with no keys.
        def hook(value: Any, target: type) -> Any:
            if type(value) is not dict:
                msg = f"expected an object, got {type(value).__name__}"
                raise TypeError(msg)
            return from_dict(value, target)

        return hook

    converter.register_structure_hook_factory(attrs.has, structure_object)

    def structure_array(cls: Any) -> Any:
        from_iterable: Any = homogenous_tuple_structure_factory(cls, converter)

        # cattrs would iterate any iterable: a string or an object would pass as an array.
        def hook(value: Any, target: type) -> Any:
            if type(value) is not list:
                msg = f"expected an array, got {type(value).__name__}"
                raise TypeError(msg)
            return from_iterable(value, target)

        return hook

    converter.register_structure_hook_factory(_is_homogeneous_tuple, structure_array)
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, converter, **camel_overrides(cls))
    )


def make_converter() -> cattrs.Converter:
    """A new converter configured like the package's own (for users who want to extend it)."""
    new = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    configure_converter(new)
    return new


converter = make_converter()
