"""The one cattrs converter: DR's JSON spelling, strict scalars, tolerant enums.

``make_converter()`` is the only place cattrs is configured (never the global
converter). Its rules:

* attrs classes map to DR's camelCase (``fulfillment_order_item_id`` is
  ``fulfillmentOrderItemId``), both ways; unknown fields are ignored (DR calls adding
  fields non-breaking);
* ids are strings, and DR's numeric ids (the fulfillment order's ``id`` is a number in
  DR's schema) become strings;
* integers must be integers: DR's own example sends ``"quantity": "2"``, so digit
  strings are taken; booleans, fractions and other strings are refused;
* money is ``Decimal`` (from JSON numbers or strings), written back as JSON numbers;
* a state or status value DR adds later reads as ``None`` ("not known") rather than
  failing, where the field is optional.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Union, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, is_sequence
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter as _json_converter
from cattrs.strategies import configure_tagged_union

from drfulfillment.domain.inputs import Input
from drfulfillment.domain.lifecycles import (
    CancellationStatus,
    FulfillmentOrderStatus,
    LineItemStatus,
    OrderStatus,
)

__all__ = [
    "INT_MAX",
    "MONEY_DIGITS",
    "MONEY_MAX",
    "camel",
    "make_converter",
    "money_out",
]

_DIGITS = re.compile(r"-?[0-9]+")


def camel(name: str) -> str:
    """``fulfillment_order_item_id`` -> ``fulfillmentOrderItemId``."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _str(value: Any, _: Any) -> str:
    if value.__class__ is str or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


#: Money bounds: amounts are written back as JSON numbers (floats), which must hold them.
MONEY_MAX = 10**15
MONEY_DIGITS = 6

#: The largest integer accepted: DR's integers are 32-bit, and no quantity comes near.
INT_MAX = 2**31 - 1


def _int(value: Any, _: Any) -> int:
    if value.__class__ is int and -INT_MAX <= value <= INT_MAX:
        return value
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    result: int | None = None
    if isinstance(value, int):
        result = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and len(value) < 20 and _DIGITS.fullmatch(value.strip())
    ):
        result = int(value)
    if result is None:
        raise TypeError(f"expected an integer, got {value!r}"[:120])
    if abs(result) > INT_MAX:
        raise TypeError(f"integer out of range (more than {INT_MAX:,})")
    return result


def _object_hook(
    conv: cattrs.Converter, cl: type, *, optional: bool = False
) -> Callable[[Any, Any], Any]:
    """DR objects must be JSON objects: a list or string in their place is refused.

    Two generated functions: a fast one without cattrs' detailed validation, and the
    detailed one, run only when the fast one fails, for the error naming the field path.
    Structuring has no side effects, so running it again is safe. ``optional``: for
    ``cl | None``, ``null`` is ``None``.
    """
    renames = _renames(cl)
    fast: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cl, conv, _cattrs_detailed_validation=False, **renames
    )
    detailed: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cl, conv, _cattrs_detailed_validation=True, **renames
    )

    def hook(value: Any, _: Any) -> Any:
        if value.__class__ is not dict and not isinstance(value, dict):
            if optional and value is None:
                return None
            raise TypeError(f"expected an object, got {_json_type(value)}")
        try:
            return fast(value, cl)
        except Exception:  # the detailed run raises the typed error
            return detailed(value, cl)

    return hook


def _array_hook(conv: cattrs.Converter, t: Any) -> Callable[[Any, Any], Any]:
    """DR arrays must be JSON arrays: an object or string in their place is refused.

    Fast path: the element hook resolved once; on failure, cattrs' detailed factory
    runs again for the error naming the element's index.
    """
    detailed: Callable[[Any, Any], Any] = homogenous_tuple_structure_factory(t, conv)
    elem = t.__args__[0] if getattr(t, "__args__", None) else Any
    if elem is Any:
        fast: Callable[[Any, Any], Any] = detailed
    else:
        element = conv.get_structure_hook(elem)

        def fast(value: Any, _: Any) -> Any:
            return tuple([element(e, elem) for e in value])

    def hook(value: Any, t: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected an array, got {_json_type(value)}")
        try:
            return fast(value, t)
        except Exception:  # the detailed run raises the typed error
            return detailed(value, t)

    return hook


def _is_optional(t: Any) -> bool:
    """``X | None`` (or ``Optional[X]``) for a single ``X``."""
    return get_origin(t) in (Union, types.UnionType) and (
        len(t.__args__) == 2 and type(None) in t.__args__
    )


def _optional_hook(conv: cattrs.Converter, t: Any) -> Callable[[Any, Any], Any]:
    """``X | None``: the hook for ``X`` resolved once, not looked up on every value."""
    args = t.__args__
    inner_type = args[1] if args[0] is type(None) else args[0]
    if attrs.has(inner_type):
        return _object_hook(conv, inner_type, optional=True)
    inner = conv.get_structure_hook(inner_type)

    def hook(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_type)

    def text(value: Any, _: Any) -> Any:
        # Most optional fields are strings: the common case without a call.
        if value is None or value.__class__ is str:
            return value
        return inner(value, inner_type)

    return text if inner is _str else hook


def _mapping_hook(value: Any, _: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("expected an object of strings")
    return dict(value)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return names.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def _bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected true or false, got {type(value).__name__}")


def _decimal(value: Any, _: Any) -> Decimal:
    # Fast paths, for values well inside both bounds below (NaN fails the comparison).
    cls = value.__class__
    if cls is float and (1e-5 <= abs(value) <= 1e14 or value == 0):
        return Decimal(repr(value))
    if cls is int and -(10**14) <= value <= 10**14:
        return Decimal(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise TypeError(f"expected a number, got {value!r}"[:120]) from None
    if not result.is_finite() or abs(result) > MONEY_MAX:
        raise TypeError(f"amount out of range (at most {MONEY_MAX:,} in size)")
    if result and result.adjusted() < -MONEY_DIGITS:
        raise TypeError(f"amount too precise (more than {MONEY_DIGITS} decimal places)")
    return result


def _tolerant(enum_type: type[enum.Enum]) -> Callable[[Any, Any], Any]:
    values = {str(m.value): m for m in enum_type}

    def hook(value: Any, _: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return values.get(value)

    return hook


def make_converter() -> cattrs.Converter:
    """A new converter for DR JSON and for the engine's own state."""
    conv = _json_converter(forbid_extra_keys=False, prefer_attrib_converters=False)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(Decimal, _decimal)
    conv.register_unstructure_hook(Decimal, money_out)
    tolerant = {
        status | None: _tolerant(status)
        for status in (
            OrderStatus,
            CancellationStatus,
            FulfillmentOrderStatus,
            LineItemStatus,
        )
    }
    conv.register_structure_hook_factory(
        lambda t: _is_optional(t) and t not in tolerant,
        lambda t: _optional_hook(conv, t),
    )
    for union, hook in tolerant.items():
        conv.register_structure_hook(union, hook)
    conv.register_unstructure_hook_func(
        lambda t: t is frozenset or getattr(t, "__origin__", None) is frozenset,
        lambda v: sorted(conv.unstructure(x) for x in v),
    )
    conv.register_structure_hook_factory(attrs.has, lambda cl: _object_hook(conv, cl))
    conv.register_structure_hook_factory(
        lambda t: is_sequence(t) and getattr(t, "__origin__", None) is tuple,
        lambda t: _array_hook(conv, t),
    )
    conv.register_structure_hook_func(lambda t: t == dict[str, str], _mapping_hook)
    conv.register_unstructure_hook_factory(
        attrs.has, lambda cl: make_dict_unstructure_fn(cl, conv, **_renames(cl))
    )
    configure_tagged_union(Input, conv, tag_name="kind")
    return conv


def _renames(cl: type) -> dict[str, Any]:
    return {a.name: override(rename=camel(a.name)) for a in attrs.fields(cl)}


def money_out(value: Decimal) -> int | float:
    """Money back to a JSON number, exactly as it came (``20.0`` stays ``20.0``)."""
    if value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return int(value)
    return float(value)
