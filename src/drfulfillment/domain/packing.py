"""``pack`` / ``unpack``: one order's state as about a kilobyte, and back, exactly.

The :class:`~drfulfillment.domain.engine.Engine` keeps orders that have settled (see
:func:`settled`) packed: an order of three lines after its whole history holds about
7.4 KB as records and about 1.2 KB packed. The next input for a packed order unpacks
it first, so what is decided never depends on whether the order was packed:
``unpack(pack(state)) == state`` for every state (a property test holds it).

The format is the records' field values in declaration order (no field names), as
lists, tuples, text, numbers, flags and ``None``, pickled; equal texts of one order are
written once. Unpickling takes those builtins only and refuses any class, so packed
bytes can never run code. Record classes are numbered in the order this process first
packs them, so packed bytes mean nothing to another process: this is not a storage
format (stores use :func:`drfulfillment.codecs.dump_state`). A general-purpose
compressor (``zlib``) packed the benchmark's order into 0.7 KB but took twice the
instructions of everything else in ``pack`` together.

Records are rebuilt slot by slot without running their validators: every value came
from a record that passed them. For speed, each record class gets one generated
encoder and decoder (as :mod:`.evolve` does) that copies fields of plain types (text,
numbers, flags, tuples of them) as they are and walks the rest.
"""

from __future__ import annotations

import enum
import io
import itertools
import pickle
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from drfulfillment.domain.lifecycles import OrderStatus
from drfulfillment.domain.state import OrderState

__all__ = ["pack", "settled", "unpack"]

_Encoder = Callable[[Any], list[Any]]
_Decoder = Callable[[list[Any]], Any]

#: ``_DECODERS[code]`` rebuilds what was packed with that code; code 0 is a ``Decimal``.
#: Codes come from one counter (``next`` is atomic), so two threads registering at once
#: never share a code; at worst a class is registered twice, under two codes that both
#: decode it. ``_BUILDING`` holds the classes being registered: a field of such a class
#: is encoded through :func:`_encode`, which finds the encoder once it is built.
_ENCODERS: dict[type, _Encoder] = {}
_DECODERS: dict[int, _Decoder] = {}
_CODES = itertools.count(1)
_BUILDING: set[type] = set()

#: Equal texts of one order packed as one object, which pickle then writes once.
_TEXTS: dict[str | None, str | None] = {}
_same_text = _TEXTS.setdefault

_SETTLED = (OrderStatus.COMPLETE, OrderStatus.CANCELLED)


def settled(state: OrderState) -> bool:
    """Whether an order is unlikely to hear more: complete or cancelled, nothing waiting.

    The engine's default for which orders to keep packed. An order that hears more
    anyway (a return, a late duplicate) is unpacked for it and decided as usual.
    """
    return state.status in _SETTLED and not state.waiting


def pack(state: OrderState) -> bytes:
    """``state`` as compact bytes that :func:`unpack` turns back into an equal state."""
    try:
        return pickle.dumps(_encode(state), 5)
    finally:
        _TEXTS.clear()


def unpack(data: bytes) -> OrderState:
    """The state :func:`pack` packed into ``data`` (in this process)."""
    # Only bytes this process packed reach here (the engine never takes them in).
    state = _decode(_Builtins(io.BytesIO(data)).load())
    if not isinstance(state, OrderState):  # pragma: no cover - pack wrote it
        raise TypeError("packed data holds no order state")
    return state


class _Builtins(pickle.Unpickler):
    """Loads text, numbers, flags, ``None``, lists and tuples, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        raise TypeError(f"packed data names {module}.{name}")


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is tuple:
        return tuple([_encode(v) for v in value])
    if kind is Decimal:
        return [0, str(value)]
    return _encoder_of(kind)(value)


def _decode(value: Any) -> Any:
    kind = type(value)
    if kind is tuple:
        return tuple([_decode(v) for v in value])
    if kind is list:
        return _DECODERS[value[0]](value)
    return value


def _decimal(value: list[Any]) -> Decimal:
    return Decimal(value[1])


_DECODERS[0] = _decimal


def _encoder_of(kind: type) -> _Encoder:
    """The encoder of ``kind``, registered on first use."""
    return _ENCODERS.get(kind) or _register(kind)


def _register(kind: type) -> _Encoder:
    """Number ``kind`` and build its encoder and decoder."""
    code = next(_CODES)
    encoder: _Encoder
    decoder: _Decoder
    if issubclass(kind, enum.Enum):
        members = kind

        def encoder(value: Any) -> list[Any]:
            return [code, value.value]

        def decoder(value: list[Any]) -> Any:
            return members(value[1])

    elif _record(kind):
        encoder, decoder = _record_codec(kind, code)
    else:
        raise TypeError(f"cannot pack a {kind.__qualname__}")
    _DECODERS[code] = decoder
    _ENCODERS[kind] = encoder
    return encoder


def _plain(tp: Any) -> bool:
    """Whether values of type ``tp`` are text, numbers, flags, ``None`` or tuples of them."""
    if tp in (str, int, bool, type(None)):
        return True
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is tuple:
        return all(_plain(a) for a in typing.get_args(tp) if a is not Ellipsis)
    return False


def _record(tp: Any) -> bool:
    return isinstance(tp, type) and attrs.has(tp) and "__slots__" in tp.__dict__


def _field_encoder(name: str, tp: Any, namespace: dict[str, Any]) -> str:
    """The expression encoding field ``name`` of ``v``, declared as ``tp``.

    Each record encoder checks its value's exact class and otherwise hands it to the
    general :func:`_encode`, so a record of another class than declared (a subclass)
    still packs and unpacks to itself. Other values must have their declared types, as
    ``mypy --strict`` holds the domain to.
    """
    value = f"v.{name}"
    args = typing.get_args(tp)
    if tp == str | None or tp is str:
        return f"_text({value}, {value})"
    if _plain(tp):
        return value
    if (
        typing.get_origin(tp) is tuple
        and len(args) == 2
        and args[1] is Ellipsis
        and _record(args[0])
    ):
        if args[0] in _BUILDING:
            return f"_enc({value})"
        namespace[f"_e_{name}"] = _encoder_of(args[0])
        return f"tuple([_e_{name}(x) for x in {value}]) if {value} else {value}"
    inner = [a for a in args if a is not type(None)] if args else [tp]
    if (
        len(inner) == 1
        and (_record(inner[0]) or _is_enum(inner[0]))
        and inner[0] not in _BUILDING
    ):
        namespace[f"_e_{name}"] = _encoder_of(inner[0])
        if args:
            return f"None if {value} is None else _e_{name}({value})"
        return f"_e_{name}({value})"
    return f"_enc({value})"


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _record_codec(kind: type, code: int) -> tuple[_Encoder, _Decoder]:
    """Straight-line encoder and decoder of one slotted attrs record class."""
    fields = attrs.fields(kind)
    try:
        hints = typing.get_type_hints(kind)
    except NameError:  # pragma: no cover - an annotation names an import-time-only type
        hints = {}
    namespace: dict[str, Any] = {
        "_cls": kind,
        "_new": object.__new__,
        "_enc": _encode,
        "_text": _same_text,
        "_dec": _decode,
    }
    # Names are the class's own attrs field names (identifiers), never caller text.
    _BUILDING.add(kind)
    try:
        values = ", ".join(
            _field_encoder(f.name, hints.get(f.name, object), namespace) for f in fields
        )
    finally:
        _BUILDING.discard(kind)
    body = [
        "def encode(v):",
        "    if type(v) is not _cls:",
        "        return _enc(v)",
        f"    return [{code}, {values}]\n",
        "def decode(v):",
        "    o = _new(_cls)",
    ]
    for k, f in enumerate(fields):
        namespace[f"_set{k}"] = getattr(kind, f.name).__set__
        if _plain(hints.get(f.name, object)):
            body.append(f"    _set{k}(o, v[{k + 1}])")
        else:
            body.append(f"    _set{k}(o, _dec(v[{k + 1}]))")
    body.append("    return o\n")
    source = "\n".join(body)
    exec(compile(source, f"<pack {kind.__qualname__}>", "exec"), namespace)  # noqa: S102
    return namespace["encode"], namespace["decode"]
