"""``evolve``: a copy of a frozen record with some fields changed, as ``attrs.evolve``.

``attrs.evolve`` looks up the class's fields and builds keyword arguments on every call;
deciding one input evolves its order state several times, and that was a fifth of
decide's time. For a slotted class whose fields have no converter and which has no
post-init hook, this builds (once per class and set of changed fields, as attrs builds
``__init__``) a function that sets every slot in straight-line code, taking the
unchanged values from the original, then runs the validators of the changed fields
(the unchanged values passed theirs when the original was built). Anything else goes
to ``attrs.evolve``. The result is equal, field for field, to ``attrs.evolve``'s, and a
changed value a validator refuses raises as it would there (tests hold it to both).
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
    for k, name in enumerate(names):
        namespace[f"_set{k}"] = getattr(cls, name).__set__
        value = f"_v{changed.index(name)}" if name in changed else f"inst.{name}"
        body.append(f"    _set{k}(o, {value})")
    for j, name in enumerate(changed):
        field = fields[names.index(name)]
        if field.validator is not None:
            namespace[f"_check{j}"] = field.validator
            namespace[f"_field{j}"] = field
            body.append(f"    _check{j}(o, _field{j}, _v{j})")
    params = "".join(f", _v{j}" for j in range(len(changed)))
    source = f"def copy(inst{params}):\n" + "\n".join(body) + "\n    return o\n"
    exec(compile(source, f"<evolve {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    return cast(_Copier, namespace["copy"])


def evolve(inst: T, **changes: Any) -> T:
    """A copy of the frozen attrs record ``inst`` with ``changes`` applied."""
    key = (type(inst), tuple(changes))
    try:
        copy = _COPIERS[key]
    except KeyError:
        copy = _COPIERS[key] = _copier(*key)
    if copy is None:
        return cast(T, attrs.evolve(cast(Any, inst), **changes))
    return cast(T, copy(inst, *changes.values()))
