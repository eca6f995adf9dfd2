"""Codec fuzzing: arbitrary JSON and mutated DR payloads reach only typed refusals.

Three suites (issue 3, "Codec fuzzing"):

* arbitrary JSON (any value, DR-like envelopes whose object is shaped after the
  codec's own wire classes, merchant requests, raw and broken bytes): ``parse_input``
  returns an input or raises :class:`MalformedInput`; an input is applied or refused
  with an :class:`InputRefused` subclass by a fresh engine and by engines holding a
  valid order, and a refusal leaves every order and ``Engine.waiting()`` as it was;
* DR's real payloads and builder-made events, mutated at one path (removed, wrong
  type, huge, negative, empty, long unicode): a codec refusal names the mutated field
  (or the object that holds it), a field the codec does not read changes nothing, and
  the engine holding the history before the event applies it or refuses it unchanged;
* ``replay`` over files of fuzzed lines: exit status 0 or 1, only valid JSON on stdout,
  only ``line N: ID: reason`` and ``waiting: ID: reason`` lines on stderr.
"""

from __future__ import annotations

import copy
import enum
import io
import json
import re
import types
import typing
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from builders import (
    Json,
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    request,
    shipped,
)
from conftest import DR_PAYLOADS, load_payload
from drfulfillment.cli.main import replay
from drfulfillment.codecs import ORDER_EVENT_TYPES, dump_state, parse_input, wire
from drfulfillment.codecs.json import camel
from drfulfillment.domain import (
    Engine,
    InputRefused,
    IntegrationModel,
    MalformedInput,
    UnknownEvent,
)
from drfulfillment.domain.inputs import (
    AcceptReturn,
    CancellationSnapshot,
    FulfillmentOrderSnapshot,
    Input,
    ReportCancellation,
    RequestCancellation,
    RequestReturn,
)
from drfulfillment.domain.snapshots import (
    ChargeSnapshot,
    FulfillmentReturnSnapshot,
    FulfillmentSnapshot,
    RefundSnapshot,
    ReturnSnapshot,
)
from drfulfillment.domain.state import OrderState, Waiting

ORDER = "204440790336"
LINE = "127911830336"
FO = "5774321009"
FO_LINE = "650398674428"

DISTRIBUTED = IntegrationModel.DISTRIBUTED
THIRD_PARTY = IntegrationModel.THIRD_PARTY

Path = tuple[str | int, ...]

# --- the engine, and what "unchanged" means ------------------------------------------

Snapshot = tuple[dict[str, OrderState], dict[str, str], list[Waiting]]


def snapshot(engine: Engine) -> Snapshot:
    """Every order state (as objects and as dumped JSON) and every waiting input."""
    return (
        dict(engine.orders),
        {order_id: dump_state(s) for order_id, s in engine.orders.items()},
        engine.waiting(),
    )


def engine_after(history: Sequence[Json], model: IntegrationModel) -> Engine:
    """An engine that applied ``history``, every event of which must be accepted."""
    engine = Engine(model)
    for doc in history:
        outcome = engine.handle(parse_input(doc))
        assert outcome.dropped == ()
    return engine


def parse_or_refuse(document: bytes | str | Json) -> Input | MalformedInput:
    """``parse_input``'s input, or its :class:`MalformedInput` (anything else escapes)."""
    try:
        return parse_input(document)
    except MalformedInput as exc:
        refusal = exc
    assert isinstance(refusal.reason, str)
    assert refusal.reason
    assert refusal.field is None or isinstance(refusal.field, str)
    assert refusal.input_id is None or isinstance(refusal.input_id, str)
    return refusal


def apply_or_refuse(engine: Engine, inp: Input) -> InputRefused | None:
    """Apply ``inp``; on a refusal check that nothing changed and return the refusal."""
    before = snapshot(engine)
    try:
        engine.handle(inp)
    except InputRefused as exc:
        refusal = exc
    else:
        return None
    assert snapshot(engine) == before, f"refusal {refusal!r} changed the engine"
    assert refusal.reason
    # refused means not seen: the same input is refused again, the same way
    with pytest.raises(InputRefused) as again:
        engine.handle(inp)
    assert (type(again.value), again.value.field, again.value.reason) == (
        type(refusal),
        refusal.field,
        refusal.reason,
    )
    assert snapshot(engine) == before
    return refusal


# --- histories the fuzzed inputs meet ------------------------------------------------

ACCEPTED = order_event(
    "evt-accepted", "accepted", "2021-11-01T18:30:00Z", items=((LINE, 3, True),)
)
FO_PENDING = fulfillment_order(
    "evt-fo-pending",
    "fulfillment_order.pending",
    FO,
    ORDER,
    [fo_line(FO_LINE, LINE, 3)],
    "2021-11-01T18:40:00Z",
)
CANCEL_CREATED = cancellation(
    "evt-fc-created", "created", "fc-1", FO, ORDER, [(FO_LINE, 1, None)]
)

#: ``(name, model, history)`` of the engines every arbitrary input is applied to.
ENGINES: tuple[tuple[str, IntegrationModel, tuple[Json, ...]], ...] = (
    ("fresh", DISTRIBUTED, ()),
    ("distributed order", DISTRIBUTED, (ACCEPTED, FO_PENDING)),
    ("third-party order", THIRD_PARTY, (ACCEPTED,)),
)


def check_input(document: bytes | str | Json) -> MalformedInput | None:
    """The part 1 property for one document; the codec's refusal, if any."""
    parsed = parse_or_refuse(document)
    if isinstance(parsed, MalformedInput):
        return parsed
    for _name, model, history in ENGINES:
        apply_or_refuse(engine_after(history, model), parsed)
    return None


# --- arbitrary JSON ------------------------------------------------------------------

CHARGE_EVENT_TYPES = (
    "order.charge.capturable",
    "order.charge.cancel.complete",
    "order.charge.capture.complete",
    "order.charge.capture.failed",
    "order.charge.cancel.complete",
    "order.charge.refund.complete",
)

EVENT_TYPES = sorted(
    ORDER_EVENT_TYPES
    | {
        "fulfillment_order.pending",
        "fulfillment_order.cancelled",
        "fulfillment_order.backordered",
        "fulfillment_order.shipped",
        "fulfillment.created",
        "fulfillment_cancellation.created",
        "fulfillment_cancellation.accepted",
        "fulfillment_cancellation.rejected",
        *CHARGE_EVENT_TYPES,
        "refund.pending",
        "refund.complete",
        "refund.failed",
        "fulfillment_return.created",
        "fulfillment_return.accepted",
        "fulfillment_return.rejected",
        "return.created",
        "return.accepted",
    }
)
REQUEST_KINDS = [
    "request_cancellation",
    "report_shipment",
    "report_cancellation",
    "request_return",
    "accept_return",
]

KNOWN_IDS = [ORDER, LINE, FO, FO_LINE, "fc-1", "shp-1", "sku-127911830336"]
ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\n",
    "a\nb",
    "\r\n",
    "\u2028",
    "\ufeff",
    "\u202e",
    "e\u0301",
    "\U0001d7d8",
    "\u0663",
    "-0",
    " 2 ",
    "2",
    "1e400",
    "1e-400",
    "NaN",
    "Infinity",
    "0x10",
    "9" * 19,
    "9" * 25,
    "accepted",
    "pending",
    "2021-11-01T18:30:00Z",
    "2021-11-01",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "\u00fc\u20ac\U0001d11e" * 300,
]
FIELD_NAMES = sorted(
    {
        "id",
        "type",
        "createdTime",
        "data",
        "object",
        "request",
        *EVENT_TYPES,
        *(
            camel(f.name)
            for cls in (
                wire.Order,
                wire.OrderItem,
                wire.Shipment,
                wire.Backorder,
                wire.ShipmentReport,
                FulfillmentOrderSnapshot,
                CancellationSnapshot,
            )
            for f in attrs.fields(cls)
        ),
    }
)

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
strings = texts | st.sampled_from(KNOWN_IDS + ODD_STRINGS + EVENT_TYPES)
integers = st.integers() | st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, -(2**63), 10**30, 10**400]
)
scalars = st.none() | st.booleans() | integers | st.floats() | strings
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | texts, children, max_size=5)
    ),
    max_leaves=20,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, any JSON value otherwise."""
    return st.integers(0, 9).flatmap(lambda n: json_values if n == 7 else good)


def typed(tp: Any) -> st.SearchStrategy[Any]:
    """Values of the wire type ``tp``, mostly well-typed, sometimes anything."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return st.none()
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(typed(a) for a in args))
    if attrs.has(tp):
        return shaped(tp)
    if origin is tuple:
        return st.lists(mostly(typed(args[0])), max_size=3)
    if origin is dict:
        return st.dictionaries(strings, mostly(strings), max_size=3)
    if tp is str:
        return st.sampled_from(KNOWN_IDS) | strings
    if tp is int:
        odd = integers | st.sampled_from(["2", " 3", "-1", 2.0, 2.5, "1e400"])
        return st.integers(0, 9).flatmap(lambda n: odd if n == 7 else st.integers(0, 6))
    if tp is bool:
        return st.booleans()
    if tp is Decimal:
        odd = st.floats() | st.sampled_from(["1e400", "1e-400", "NaN", "-0", 10**30])
        money = st.decimals(-1000, 1000, places=2).map(str) | st.integers(0, 100)
        return st.integers(0, 9).flatmap(lambda n: odd if n == 7 else money)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return mostly(st.sampled_from([m.value for m in tp]))
    return json_values


def shaped(cls: type) -> st.SearchStrategy[Json]:
    """A JSON object of ``cls``'s fields (camelCase): required ones mostly present."""
    hints = typing.get_type_hints(cls)
    fields = {camel(f.name): mostly(typed(hints[f.name])) for f in attrs.fields(cls)}
    required = {camel(f.name) for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    complete = st.fixed_dictionaries(
        {k: v for k, v in fields.items() if k in required},
        optional={k: v for k, v in fields.items() if k not in required},
    )
    partial = st.fixed_dictionaries({}, optional=fields)
    return st.integers(0, 9).flatmap(lambda n: partial if n == 7 else complete)


#: The wire class each event type's ``data.object`` is read as.
OBJECT_CLASSES: dict[str, type] = {
    **dict.fromkeys(ORDER_EVENT_TYPES, wire.Order),
    "fulfillment_order.pending": FulfillmentOrderSnapshot,
    "fulfillment_order.cancelled": FulfillmentOrderSnapshot,
    "fulfillment_order.backordered": wire.Backorder,
    "fulfillment_order.shipped": wire.Shipment,
    "fulfillment.created": FulfillmentSnapshot,
    "fulfillment_cancellation.created": CancellationSnapshot,
    "fulfillment_cancellation.accepted": CancellationSnapshot,
    "fulfillment_cancellation.rejected": CancellationSnapshot,
    **dict.fromkeys(CHARGE_EVENT_TYPES, ChargeSnapshot),
    **dict.fromkeys(
        [
            "refund.pending",
            "refund.pending_information",
            "refund.complete",
            "refund.failed",
        ],
        RefundSnapshot,
    ),
    # DR's own example of this type carries the order, and is read as one.
    "order.charge.refund.failed": wire.Order,
    **dict.fromkeys(
        [
            "fulfillment_return.created",
            "fulfillment_return.accepted",
            "fulfillment_return.rejected",
        ],
        FulfillmentReturnSnapshot,
    ),
    **dict.fromkeys(["return.created", "return.accepted"], ReturnSnapshot),
}

#: The wire class each merchant request's body is read as.
REQUEST_CLASSES: dict[str, type] = {
    "request_cancellation": RequestCancellation,
    "report_shipment": wire.ShipmentReport,
    "report_cancellation": ReportCancellation,
    "request_return": RequestReturn,
    "accept_return": AcceptReturn,
}

event_ids = mostly(strings)
created_times = mostly(
    st.datetimes().map(lambda t: t.isoformat() + "Z")
    | st.sampled_from(["2021-11-01T18:30:00Z", "2021-11-01T18:30:00.5+02:00"])
    | strings
)


@st.composite
def envelopes(draw: st.DrawFn) -> Json:
    """A DR-like event: mostly a known type, its object shaped after the wire class."""
    kind = draw(mostly(st.sampled_from(EVENT_TYPES) | texts))
    cls = OBJECT_CLASSES.get(kind) if isinstance(kind, str) else None
    obj = draw(mostly(shaped(cls)) if cls is not None else json_values)
    event: Json = {
        "id": draw(event_ids),
        "type": kind,
        "data": {"object": obj},
    }
    if draw(st.booleans()):
        event["createdTime"] = draw(created_times)
    return event


@st.composite
def merchant_requests(draw: st.DrawFn) -> Json:
    """A merchant request line: mostly a known kind, the body shaped after its class."""
    kind = draw(mostly(st.sampled_from(REQUEST_KINDS)))
    cls = REQUEST_CLASSES.get(kind) if isinstance(kind, str) else None
    body = draw(mostly(shaped(cls)) if cls is not None else json_values)
    doc = dict(body) if isinstance(body, dict) else {}
    doc.pop("requestId", None)
    doc["request"] = kind
    doc["id"] = draw(event_ids)
    return doc


VALID_DOCUMENTS: list[Json] = [
    ACCEPTED,
    FO_PENDING,
    CANCEL_CREATED,
    load_payload("event-order.accepted.json"),
    load_payload("event-fulfillment_order.shipped.partial.json"),
    request("report_shipment", "req-1", ORDER, [(LINE, 1)]),
]


@st.composite
def broken_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, truncated JSON, or JSON with invalid UTF-8 spliced in."""
    how = draw(st.sampled_from(["random", "truncated", "invalid utf-8"]))
    if how == "random":
        return draw(st.binary(max_size=64))
    text = json.dumps(draw(st.sampled_from(VALID_DOCUMENTS))).encode()
    cut = draw(st.integers(0, len(text)))
    if how == "truncated":
        return text[:cut]
    bad = draw(
        st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
    )
    return text[:cut] + bad + text[cut:]


def encodings(doc: Any) -> Iterator[bytes | str | Json]:
    """``doc`` as parse_input may get it: the dict itself, JSON text and bytes."""
    if isinstance(doc, dict):
        yield doc
    text = json.dumps(doc)
    yield text
    yield text.encode()


class TestParseInputArbitraryJson:
    """Any JSON document reaches an input or a typed refusal, never a crash."""

    @given(doc=json_values)
    @example(doc={"id": 10**5000, "type": "order.accepted"})
    @example(doc=[[[]]])
    def test_any_json_value(self, doc: Any) -> None:
        """Any JSON value, as dict, text or bytes: an input or MalformedInput."""
        if isinstance(doc, dict) and any(
            isinstance(v, int) and abs(v) > 10**4000 for v in doc.values()
        ):
            encoded: list[bytes | str | Json] = [doc]
        else:
            encoded = list(encodings(doc))
        for document in encoded:
            refusal = check_input(document)
            if not isinstance(doc, dict):
                assert refusal is not None
                assert (refusal.input_id, refusal.field) == (None, None)

    @given(event=envelopes())
    def test_event_envelopes(self, event: Json) -> None:
        """A DR-like envelope with an arbitrary object: an input or a typed refusal."""
        for document in encodings(event):
            check_input(document)

    @pytest.mark.parametrize(
        "created", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
    )
    def test_created_time_past_the_ends_of_the_calendar(self, created: str) -> None:
        """A time that is valid ISO-8601 but leaves datetime's range in UTC is refused."""
        event = dict(ACCEPTED, id="evt-time", createdTime=created)
        refusal = check_input(event)
        assert refusal is not None
        assert (refusal.input_id, refusal.field) == ("evt-time", "createdTime")

    @given(doc=merchant_requests())
    def test_merchant_requests(self, doc: Json) -> None:
        """A request line with an arbitrary body: an input or a typed refusal."""
        for document in encodings(doc):
            check_input(document)

    @given(raw=broken_bytes())
    @example(raw=b"[" * 100_000)
    @example(raw=b"1" * 5000)
    @example(raw=b'{"id": 1' + b"0" * 5000 + b', "type": "order.accepted"}')
    def test_broken_bytes(self, raw: bytes) -> None:
        """Random, truncated or badly encoded bytes: an input or MalformedInput."""
        check_input(raw)


# --- mutated real payloads -----------------------------------------------------------


@attrs.frozen
class Base:
    """A valid document to mutate, and the model and history it is applied after."""

    name: str
    doc: Json
    model: IntegrationModel
    history: tuple[Json, ...]


def _event_payloads() -> list[str]:
    """DR's ``event-*.json`` payloads that parse to a known input type."""
    names = []
    for path in sorted(DR_PAYLOADS.glob("event-*.json")):
        try:
            inp = parse_input(path.read_bytes())
        except InputRefused:
            continue
        if not isinstance(inp, UnknownEvent):
            names.append(path.name)
    return names


def _dr_bases() -> list[Base]:
    """DR's payloads of a known type; fulfillment-order events after their order and FO."""
    shipment = load_payload("event-fulfillment_order.shipped.partial.json")
    fo_order = shipment["data"]["object"]["fulfillmentOrderUpstreamId"]
    shipment_history = (
        order_event(
            "evt-dr-accepted",
            "accepted",
            "2020-01-01T00:00:00Z",
            order_id=fo_order,
            items=((FO_LINE, 2, True),),
        ),
        fulfillment_order(
            "evt-dr-fo",
            "fulfillment_order.pending",
            FO,
            fo_order,
            [fo_line(FO_LINE, FO_LINE, 2)],
            "2020-01-01T00:01:00Z",
        ),
    )
    bases = []
    for name in _event_payloads():
        doc = load_payload(name)
        kind = doc["type"]
        history = shipment_history if kind.startswith("fulfillment_order.") else ()
        bases.append(Base(name, doc, DISTRIBUTED, history))
    return bases


def _built_bases() -> list[Base]:
    """Builder-made events of the kinds DR published no payload for."""
    after_fo = (ACCEPTED, FO_PENDING)
    return [
        Base("fulfillment_order.pending", FO_PENDING, DISTRIBUTED, (ACCEPTED,)),
        Base(
            "fulfillment_order.cancelled",
            fulfillment_order(
                "evt-fo-cancelled",
                "fulfillment_order.cancelled",
                FO,
                ORDER,
                [fo_line(FO_LINE, LINE, 3, shipped=1, cancelled=2)],
                "2021-11-03T10:00:00Z",
            ),
            DISTRIBUTED,
            after_fo,
        ),
        Base(
            "fulfillment_order.shipped",
            shipped("evt-shipped", "shp-1", FO, ORDER, [("si-1", FO_LINE, LINE, 2)]),
            DISTRIBUTED,
            after_fo,
        ),
        Base(
            "fulfillment_order.backordered",
            backordered("evt-backordered", FO, ORDER, [(FO_LINE, LINE, 1, 1)]),
            DISTRIBUTED,
            after_fo,
        ),
        Base("fulfillment_cancellation.created", CANCEL_CREATED, DISTRIBUTED, after_fo),
        Base(
            "fulfillment_cancellation.accepted",
            cancellation(
                "evt-fc-accepted", "accepted", "fc-1", FO, ORDER, [(FO_LINE, 1, 1)]
            ),
            DISTRIBUTED,
            (*after_fo, CANCEL_CREATED),
        ),
        Base(
            "fulfillment_cancellation.rejected",
            cancellation(
                "evt-fc-rejected", "rejected", "fc-1", FO, ORDER, [(FO_LINE, 1, 0)]
            ),
            DISTRIBUTED,
            (*after_fo, CANCEL_CREATED),
        ),
        Base(
            "request_cancellation",
            request(
                "request_cancellation",
                "req-cancel",
                ORDER,
                [(LINE, 1)],
                reason="requested_by_customer",
            ),
            DISTRIBUTED,
            after_fo,
        ),
        Base(
            "report_shipment",
            request(
                "report_shipment",
                "req-ship",
                ORDER,
                [(LINE, 2)],
                trackingCompany="Fedex",
                trackingNumber="Z1",
                trackingUrl="http://fedex.example/Z1",
            ),
            THIRD_PARTY,
            (ACCEPTED,),
        ),
        Base(
            "report_cancellation",
            request("report_cancellation", "req-cancelled", ORDER, [(LINE, 1)]),
            THIRD_PARTY,
            (ACCEPTED,),
        ),
    ]


BASES = _dr_bases() + _built_bases()
BASES_BY_NAME = {b.name: b for b in BASES}

#: Bases the engine refuses unmutated, with the refusal's type and field.
REFUSED_BASES = {
    # DR's fragment names no fulfillment order and no order: nothing to route it by.
    "event-fulfillment_order.backordered.partial.json": (
        MalformedInput,
        "data.object.id",
    ),
}


def paths(doc: Any, prefix: Path = ()) -> list[Path]:
    """Every path below ``doc`` to a leaf, an object or an array, parents first."""
    out: list[Path] = []
    children: list[tuple[str | int, Any]] = []
    if isinstance(doc, dict):
        children = list(doc.items())
    elif isinstance(doc, list):
        children = list(enumerate(doc))
    for key, value in children:
        out.append((*prefix, key))
        out += paths(value, (*prefix, key))
    return out


def dotted(path: Path) -> str:
    """``("data", "object", "items", 0, "quantity")`` -> ``data.object.items[0].quantity``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else part
    return out


def json_type(value: Any) -> str:
    """The JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


_REMOVE = object()


@attrs.frozen
class Mutation:
    """Remove the value at a path, or replace it with ``value``."""

    name: str
    value: Any

    def apply(self, doc: Json, path: Path) -> Json:
        """A copy of ``doc`` with the mutation made at ``path``."""
        out = copy.deepcopy(doc)
        parent: Any = out
        for part in path[:-1]:
            parent = parent[part]
        if self.value is _REMOVE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(self.value)
        return out


REMOVE = Mutation("remove", _REMOVE)
WRONG_TYPES = [
    Mutation("string", "x"),
    Mutation("number", 7),
    Mutation("boolean", True),
    Mutation("null", None),
    Mutation("array", []),
    Mutation("object", {}),
]
VALUES = [
    Mutation("10**30", 10**30),
    Mutation("2**63", 2**63),
    Mutation("1e308", 1e308),
    Mutation("-1", -1),
    Mutation("-10**30", -(10**30)),
    Mutation("-0.5", -0.5),
    Mutation("empty string", ""),
    Mutation("long unicode", "\u00fc\u20ac\U0001d11e\u200b\u202e" * 400),
    Mutation("numeric string", "1e400"),
]


def wrong_types_for(value: Any) -> list[Mutation]:
    """The wrong-type mutations of ``value``: every JSON type but its own."""
    return [m for m in WRONG_TYPES if json_type(m.value) != json_type(value)]


def value_at(doc: Any, path: Path) -> Any:
    """The value at ``path``."""
    for part in path:
        doc = doc[part]
    return doc


def _read_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {camel(f.name): hints[f.name] for f in attrs.fields(cls)}


def schema_of(doc: Json) -> dict[str, Any]:
    """Field name -> wire type for the fields the codec reads at the document's root."""
    if "request" in doc and "type" not in doc:
        fields = _read_schema(REQUEST_CLASSES[doc["request"]])
        del fields["requestId"]
        return {**fields, "request": str, "id": str}
    cls = OBJECT_CLASSES[doc["type"]]
    return {
        "id": str,
        "type": str,
        "createdTime": str,
        "data": {"object": cls},
    }


def is_read(doc: Json, path: Path) -> bool:
    """Whether the codec reads the value at ``path`` (unknown fields are ignored)."""
    node: Any = schema_of(doc)
    for part in path:
        if isinstance(node, dict):
            if not isinstance(part, str) or part not in node:
                return False
            node = node[part]
            continue
        # strip Optional / unions down to the one non-None member
        args = [a for a in typing.get_args(node) if a is not type(None)]
        if typing.get_origin(node) in (typing.Union, types.UnionType):
            node = args[0]
        if attrs.has(node):
            node = _read_schema(node)
            if not isinstance(part, str) or part not in node:
                return False
            node = node[part]
        elif typing.get_origin(node) is tuple and isinstance(part, int):
            node = typing.get_args(node)[0]
        elif typing.get_origin(node) is dict and isinstance(part, str):
            node = str
        else:
            return False
    return True


def names_path(field: str, path: str) -> bool:
    """Whether ``field`` is ``path`` or the object or array that holds it."""
    return path == field or path.startswith((field + ".", field + "["))


def check_mutation(base: Base, path: Path, mutation: Mutation) -> None:
    """The part 2 property for one mutation of one base document."""
    doc = mutation.apply(base.doc, path)
    where = dotted(path)
    parsed = parse_or_refuse(doc)
    if not is_read(base.doc, path):
        # an unknown field: ignored, the input is the unmutated one
        assert parsed == parse_input(base.doc), f"{where} is not read yet changed"
        return
    if isinstance(parsed, MalformedInput):
        assert parsed.field, f"{where}: refused without a field: {parsed!r}"
        if path not in (("id",),):
            assert parsed.input_id == str(base.doc["id"])
        original = value_at(base.doc, path)
        if mutation is not REMOVE and (
            json_type(mutation.value) != json_type(original)
            or not isinstance(original, dict | list)
        ):
            # a wrong type, or a bad scalar: refused at the path or what holds it
            assert names_path(parsed.field, where), (
                f"{mutation.name} at {where} refused at {parsed.field}: {parsed.reason}"
            )
        elif path == ("request",) and mutation is REMOVE:
            # without its ``request`` a request line reads as an event with no type
            assert parsed.field == "type"
        else:
            # a removal, or an emptied object or array: refused at it or inside it
            assert names_path(parsed.field, where) or names_path(where, parsed.field), (
                f"{mutation.name} at {where} refused at {parsed.field}: {parsed.reason}"
            )
        return
    apply_or_refuse(engine_after(base.history, base.model), parsed)


mutations = st.one_of(
    st.just(REMOVE),
    st.sampled_from(WRONG_TYPES),
    st.sampled_from(VALUES),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8).map(
        lambda s: Mutation("unicode", s)
    ),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Base, Path, Mutation]:
    """A base document, a path in it, and a mutation to make there."""
    base = draw(st.sampled_from(BASES))
    path = draw(st.sampled_from(paths(base.doc)))
    return base, path, draw(mutations)


ADDRESS = ["line1", "city", "postalCode", "state", "country"]
ORDER_SCALARS = [
    "id",
    "createdTime",
    "currency",
    "email",
    "locale",
    "state",
    "checkoutId",
]
ITEM_FIELDS = [
    "",
    "[0]",
    "[0].id",
    "[0].skuId",
    "[0].productDetails",
    "[0].amount",
    "[0].quantity",
    "[0].tax",
    "[0].tax.amount",
]


VALID_HISTORY_DOCUMENTS = [d for b in BASES for d in (*b.history, b.doc)]


def mixed_documents() -> st.SearchStrategy[Json]:
    """A valid event, a mutated one, a shaped envelope or a shaped request."""
    return st.one_of(
        st.sampled_from(VALID_HISTORY_DOCUMENTS),
        mutated().map(lambda c: c[2].apply(c[0].doc, c[1])),
        envelopes(),
        merchant_requests(),
    )


class TestParseInputMutatedPayloads:
    """DR's payloads mutated at one path reach only typed refusals, never a change."""

    def test_the_payloads_taken(self) -> None:
        """Every DR event payload of a known type is mutated, and the builders' kinds."""
        assert [b.name for b in BASES] == [
            "event-fulfillment.created.expanded.partial.json",
            "event-fulfillment.created.json",
            "event-fulfillment.created.tracking.partial.json",
            "event-fulfillment_order.backordered.partial.json",
            "event-fulfillment_order.shipped.partial.json",
            "event-order.accepted.json",
            "event-order.blocked.json",
            "event-order.cancelled.json",
            "event-order.charge.cancel.complete.example2.json",
            "event-order.charge.cancel.complete.json",
            "event-order.charge.capture.complete.json",
            "event-order.charge.capture.failed.json",
            "event-order.charge.capture.failed.with-fulfillmentId.partial.json",
            "event-order.charge.refund.complete.json",
            "event-order.charge.refund.failed.json",
            "event-order.complete.json",
            "event-order.dispute.json",
            "event-order.dispute.resolved.json",
            "event-order.fulfilled.json",
            "event-order.pending_payment.json",
            "event-order.refunded.json",
            "event-order.review_opened.json",
            "event-refund.complete.item-level.json",
            "event-refund.complete.json",
            "event-refund.complete.order-level.json",
            "event-refund.failed.example2.json",
            "event-refund.failed.json",
            "event-refund.pending.from-return-multi-shipment-1.json",
            "event-refund.pending.from-return-multi-shipment-2.json",
            "event-refund.pending.from-return-single-shipment.json",
            "event-refund.pending.item-level.json",
            "event-refund.pending.json",
            "event-refund.pending.order-level.json",
            "event-refund.pending_information.json",
            "event-return.accepted.multi-shipment.json",
            "event-return.accepted.single-shipment.json",
            "fulfillment_order.pending",
            "fulfillment_order.cancelled",
            "fulfillment_order.shipped",
            "fulfillment_order.backordered",
            "fulfillment_cancellation.created",
            "fulfillment_cancellation.accepted",
            "fulfillment_cancellation.rejected",
            "request_cancellation",
            "report_shipment",
            "report_cancellation",
        ]

    @pytest.mark.parametrize("name", [b.name for b in BASES])
    def test_unmutated_base_applies(self, name: str) -> None:
        """Each base parses and its engine applies it (the fixtures are sound)."""
        base = BASES_BY_NAME[name]
        engine = engine_after(base.history, base.model)
        refusal = apply_or_refuse(engine, parse_input(base.doc))
        expected = REFUSED_BASES.get(name)
        if expected is None:
            assert refusal is None
        else:
            assert refusal is not None
            assert (type(refusal), refusal.field) == expected

    def test_reading_schema(self) -> None:
        """The fields the codec reads are told apart from those it ignores."""
        doc = load_payload("event-order.accepted.json")
        read = {dotted(p) for p in paths(doc) if is_read(doc, p)}
        party = ["", ".address", *(f".address.{f}" for f in ADDRESS), ".name"]
        assert read == {
            "id",
            "type",
            "createdTime",
            "data",
            "data.object",
            *(f"data.object.{f}" for f in ORDER_SCALARS),
            *(f"data.object.shipTo{f}" for f in party),
            *(f"data.object.billTo{f}" for f in [*party, ".email"]),
            *(f"data.object.items{f}" for f in ITEM_FIELDS),
            "data.object.shippingChoice",
            "data.object.shippingChoice.amount",
            "data.object.shippingChoice.description",
            "data.object.shippingChoice.serviceLevel",
            "data.object.stateTransitions",
            "data.object.stateTransitions.accepted",
            "data.object.payment",
            "data.object.payment.charges",
            *(
                f"data.object.payment.charges[0]{f}"
                for f in ["", ".id", ".currency", ".amount", ".state"]
            ),
        }

    @given(case=mutated())
    def test_random_mutations(self, case: tuple[Base, Path, Mutation]) -> None:
        """One mutation anywhere in any base: a typed refusal or an unchanged engine."""
        check_mutation(*case)

    @given(
        docs=st.lists(mixed_documents(), min_size=1, max_size=8),
        engine=st.sampled_from(ENGINES),
    )
    def test_sequences_of_mixed_inputs(
        self,
        docs: list[Json],
        engine: tuple[str, IntegrationModel, tuple[Json, ...]],
    ) -> None:
        """Valid, mutated and shaped inputs in turn on one engine: applied or refused cleanly."""
        _name, model, history = engine
        target = engine_after(history, model)
        for doc in docs:
            parsed = parse_or_refuse(doc)
            if not isinstance(parsed, MalformedInput):
                apply_or_refuse(target, parsed)

    @pytest.mark.parametrize("value", ["x", 7, True, None, []])
    def test_data_of_the_wrong_type_is_named(self, value: object) -> None:
        """``data`` that is not an object is refused at ``data``, not at its child."""
        doc = dict(load_payload("event-order.accepted.json"), data=value)
        refusal = parse_or_refuse(doc)
        assert isinstance(refusal, MalformedInput)
        assert (refusal.input_id, refusal.field) == (
            "e5bf7399-49ba-4ea6-a217-65e8efcaee86",
            "data",
        )

    @pytest.mark.parametrize(
        "name", ["event-order.accepted.json", "fulfillment_order.shipped"]
    )
    def test_every_removal_and_wrong_type(self, name: str) -> None:
        """Every path, removed and given every wrong type: the property holds for all."""
        base = BASES_BY_NAME[name]
        failures: list[str] = []
        for path in paths(base.doc):
            for mutation in [REMOVE, *wrong_types_for(value_at(base.doc, path))]:
                try:
                    check_mutation(base, path, mutation)
                except AssertionError as exc:
                    failures.append(f"{mutation.name} at {dotted(path)}: {exc}")
        assert failures == []


# --- the CLI -------------------------------------------------------------------------

#: One stderr line; the id may be empty (the codec takes ``"id": ""``), the reason not.
_REFUSED_LINE = re.compile(r"line [1-9][0-9]*: .*: .+")
_WAITING_LINE = re.compile(r"waiting: .*: .+")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"not valid JSON: {name}")


@st.composite
def fuzzed_lines(draw: st.DrawFn) -> list[bytes]:
    """Lines of a replay file: valid events, mutated events, arbitrary JSON, garbage."""
    line = st.one_of(
        mixed_documents().map(lambda d: json.dumps(d).encode()),
        json_values.map(lambda d: json.dumps(d).encode()),
        broken_bytes().map(lambda b: b.replace(b"\n", b" ")),
    )
    return draw(st.lists(line, max_size=10))


def run_replay(lines: Sequence[bytes], model: IntegrationModel) -> tuple[int, str, str]:
    """``replay`` over ``lines`` as a file: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = replay(
        io.BytesIO(b"\n".join(lines)), model=model, catalog={}, out=out, err=err
    )
    return status, out.getvalue(), err.getvalue()


def check_replay(lines: Sequence[bytes], model: IntegrationModel) -> None:
    """The part 3 property for one file."""
    status, stdout, stderr = run_replay(lines, model)
    assert status in (0, 1)
    for text in stdout.splitlines():
        command = json.loads(text, parse_constant=_refuse_constant)
        assert isinstance(command, dict)
        assert command["command"]
    assert stdout == "" or stdout.endswith("\n")
    assert stderr == "" or stderr.endswith("\n")
    errors = stderr.split("\n")[:-1]
    for text in errors:
        assert _REFUSED_LINE.fullmatch(text) or _WAITING_LINE.fullmatch(text), text
    refused = [t for t in errors if t.startswith("line ")]
    assert status == (1 if refused else 0)
    for text in refused:
        assert 1 <= int(text.split(":")[0].removeprefix("line ")) <= len(lines)


class TestReplay:
    """``replay`` over fuzzed files: exit 0 or 1, JSON on stdout, reasons on stderr."""

    @given(lines=fuzzed_lines(), model=st.sampled_from(list(IntegrationModel)))
    def test_fuzzed_files(self, lines: list[bytes], model: IntegrationModel) -> None:
        """Any file of fuzzed lines: a clean exit, valid JSON out, well-formed errors."""
        check_replay(lines, model)

    def test_amount_too_large_for_a_float(self) -> None:
        """An amount the codec accepts is written as valid JSON (no ``Infinity``)."""
        event = copy.deepcopy(ACCEPTED)
        event["data"]["object"]["items"][0]["amount"] = "1e400"
        check_replay([json.dumps(event).encode()], DISTRIBUTED)

    def test_refused_id_with_a_newline(self) -> None:
        """A refused event whose id holds a newline still makes one stderr line."""
        event = {"id": "evt\nline 2", "type": "order.accepted", "data": {}}
        status, stdout, stderr = run_replay([json.dumps(event).encode()], DISTRIBUTED)
        assert (status, stdout, stderr.count("\n")) == (1, "", 1)
        check_replay([json.dumps(event).encode()], DISTRIBUTED)
