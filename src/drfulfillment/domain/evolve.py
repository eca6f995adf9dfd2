"""``evolve``: a copy of a frozen record with some fields changed, as ``attrs.evolve``.

``attrs.evolve`` looks up the class's fields and builds keyword arguments on every call;
deciding one input evolves its order state several times, and that was a fifth of
decide's time. For a slotted class whose fields have no converter and which has no
post-init hook, this builds (once per class and set of changed fields, as attrs builds
``__init__``) a function that sets every slot in straight-line code, taking the
unchanged values from the original, then runs every field's validator, as
``attrs.evolve`` does through ``__init__``. Anything else goes to ``attrs.evolve``. The
result is equal, field for field, to ``attrs.evolve``'s, and a value a validator
refuses raises as it would there (tests hold it to both).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs

__all__ = ["evolve"]

T = TypeVar("T")

_Copier = Callable[..., Any]
#: ``(class, changed field names in call order) -> copier``; ``None``: use attrs.
_COPIERS: dict[tuple[type, tuple[str, ...]], _Copier | None] = {}
_UNBUILT: Any = object()


def _simple_fields(cls: type) -> tuple[attrs.Attribute[Any], ...] | None:
    """The fields of a class whose slots may be set directly, else ``None``."""
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    simple = (
        "__slots__" in cls.__dict__
        and len(fields) > 1
        and not hasattr(cls, "__attrs_post_init__")
        and all(f.init and f.converter is None for f in fields)
    )
    if not simple or not all(
        isinstance(getattr(cls, f.name), types.MemberDescriptorType) for f in fields
    ):
        return None
    return fields


def _copier(cls: type, changed: tuple[str, ...]) -> _Copier | None:
    fields = _simple_fields(cls)
    if fields is None:
        return None
    names = [f.name for f in fields]
    unknown = [n for n in changed if n not in names]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {unknown[0]!r} to evolve")
    # Names are the class's own attrs field names (identifiers), never caller text.
    namespace: dict[str, Any] = {"_cls": cls, "_new": object.__new__}
    body = ["    o = _new(_cls)"]
    values = [
        f"_v{changed.index(name)}" if name in changed else f"inst.{name}"
        for name in names
    ]
    for k, (name, value) in enumerate(zip(names, values, strict=True)):
        namespace[f"_set{k}"] = getattr(cls, name).__set__
        body.append(f"    _set{k}(o, {value})")
    # Every validator runs, once all fields are set, as in attrs' own __init__: one
    # may read other fields than its own.
    for k, (field, value) in enumerate(zip(fields, values, strict=True)):
        if field.validator is not None:
            namespace[f"_check{k}"] = field.validator
            namespace[f"_field{k}"] = field
            body.append(f"    _check{k}(o, _field{k}, {value})")
    params = "".join(f", _v{j}" for j in range(len(changed)))
    source = f"def copy(inst{params}):\n" + "\n".join(body) + "\n    return o\n"
    exec(compile(source, f"<evolve {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    return cast(_Copier, namespace["copy"])


def evolve(inst: T, **changes: Any) -> T:
    """A copy of the frozen attrs record ``inst`` with ``changes`` applied."""
    key = (inst.__class__, tuple(changes))
    copy: Any = _COPIERS.get(key, _UNBUILT)
    if copy is _UNBUILT:
        copy = _COPIERS[key] = _copier(*key)
    if copy is None:
        return attrs.evolve(inst, **changes)  # type: ignore[misc]
    return copy(inst, *changes.values())  # type: ignore[no-any-return]
