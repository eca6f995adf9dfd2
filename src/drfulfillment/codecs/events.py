"""DR event envelopes and merchant requests, from JSON to the engine's inputs.

:func:`parse_input` takes one JSON document (bytes, text or an already-decoded dict):
a DR event as DR delivers it, or a merchant request (``{"request": ...}``, see
``docs/replay-format.md``). Wrong JSON and wrong types become :class:`MalformedInput`
naming the event id and the path of the bad field; unknown event types become
:class:`UnknownEvent`; unknown fields are ignored.

Bytes are parsed by ``orjson`` where it is installed and gives what :mod:`json` gives
(:mod:`drfulfillment.codecs.fastjson`), by :mod:`json` otherwise.

Accepted spellings (DR reference §7, §10): ``digitalriverVersion`` and
``digitalRiverVersion``; ``liveMode`` and ``livemode``; ids as numbers or strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs

from drfulfillment.codecs import fastjson, wire
from drfulfillment.codecs.json import camel, make_converter
from drfulfillment.domain.errors import MalformedInput
from drfulfillment.domain.inputs import (
    AcceptReturn,
    BackorderObserved,
    CancellationObserved,
    CancellationSnapshot,
    ChargeObserved,
    EventMeta,
    FulfillmentObserved,
    FulfillmentOrderObserved,
    FulfillmentOrderSnapshot,
    FulfillmentReturnObserved,
    Input,
    OrderObserved,
    RefundObserved,
    ReportCancellation,
    ReportShipment,
    RequestCancellation,
    RequestReturn,
    ReturnObserved,
    ShipmentObserved,
    UnknownEvent,
)
from drfulfillment.domain.lifecycles import (
    CancellationStatus,
    FulfillmentReturnStatus,
    RefundStatus,
    ReturnStatus,
)
from drfulfillment.domain.snapshots import (
    CaptureSnapshot,
    ChargeCancelSnapshot,
    ChargeRefundSnapshot,
    ChargeSnapshot,
    FulfillmentReturnSnapshot,
    FulfillmentSnapshot,
    RefundSnapshot,
    ReturnSnapshot,
)

__all__ = ["ORDER_EVENT_TYPES", "normalise_time", "parse_input"]

T = TypeVar("T")

_CONVERTER = make_converter()

#: attrs' validator messages: ``'quantity' must be >= 0: -1``,
#: ``Length of 'reason' must be <= 64: 65``.
_VALIDATOR_MESSAGE = re.compile(r"(Length of )?'(\w+)' (must .*)")

#: ``order.*`` events whose ``data.object`` is the order itself.
ORDER_EVENT_TYPES = frozenset(
    {
        "order.created",
        "order.submitted",
        "order.updated",
        "order.accepted",
        "order.pending_payment",
        "order.review_opened",
        "order.review_closed",
        "order.blocked",
        "order.cancelled",
        "order.fulfilled",
        "order.complete",
        "order.refunded",
        "order.dispute",
        "order.dispute.resolved",
    }
)

_CANCELLATION_STATES = {
    "fulfillment_cancellation.created": CancellationStatus.PENDING,
    "fulfillment_cancellation.accepted": CancellationStatus.ACCEPTED,
    "fulfillment_cancellation.rejected": CancellationStatus.REJECTED,
}


_FULFILLMENT_RETURN_STATES = {
    "fulfillment_return.created": FulfillmentReturnStatus.CREATED,
    "fulfillment_return.pending": FulfillmentReturnStatus.PENDING,
    "fulfillment_return.accepted": FulfillmentReturnStatus.ACCEPTED,
    "fulfillment_return.rejected": FulfillmentReturnStatus.REJECTED,
}

_RETURN_STATES: dict[str, ReturnStatus | None] = {
    "return.created": ReturnStatus.CREATED,
    "return.accepted": ReturnStatus.ACCEPTED,
    "return.updated": None,
}

#: ``refund.complete`` carries the refund state ``succeeded`` (DR reference §5).
_REFUND_STATES: dict[str, RefundStatus | None] = {
    "refund.created": None,
    "refund.updated": None,
    "refund.pending": RefundStatus.PENDING,
    "refund.pending_information": RefundStatus.PENDING_INFORMATION,
    "refund.complete": RefundStatus.SUCCEEDED,
    "refund.succeeded": RefundStatus.SUCCEEDED,
    "refund.failed": RefundStatus.FAILED,
    "refund.expired": RefundStatus.EXPIRED,
}


def normalise_time(value: str) -> str:
    """An ISO-8601 time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC, which sorts as text."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    utc = parsed.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


#: Each type's structure hook, looked up once (the converter dispatches on every call).
_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {}


def _structure(raw: Any, cls: type[T], input_id: str | None, path: str) -> T:
    hook = _HOOKS.get(cls)
    if hook is None:
        hook = _HOOKS[cls] = _CONVERTER.get_structure_hook(cls)
    try:
        result: T = hook(raw, cls)
        return result
    except cattrs.BaseValidationError as exc:
        messages = cattrs.transform_error(exc, path=path, format_exception=_describe)
        first = messages[0] if messages else "invalid value"
        reason, _, where = first.partition(" @ ")
        where = where.removeprefix("$").removeprefix(".")
        field = ".".join(camel(part) for part in where.split(".")) if where else ""
        # attrs validators fail the whole object; name the field they checked.
        named = _VALIDATOR_MESSAGE.match(reason)
        if named is not None:
            length, name, rule = named.groups()
            field = f"{field}.{camel(name)}" if field else camel(name)
            reason = f"length {rule}" if length else rule
        raise MalformedInput(input_id, field or None, reason) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise MalformedInput(
            input_id, path.removeprefix("$.") or None, str(exc)
        ) from None


#: The control characters an id may not hold.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _check_id(value: str) -> None:
    """Ids are printed and stored: no empty ones, no control characters."""
    if not value.strip() or _CONTROL.search(value):
        raise MalformedInput(None, "id", f"not a usable id: {value!r}"[:120])


def _describe(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    return str(exc) or type(exc).__name__


def _load(document: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    raw = fastjson.loads(document)
    if raw.__class__ is dict:
        return raw
    try:
        raw = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedInput(None, None, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedInput(None, None, "not valid JSON: nested too deeply") from None
    if not isinstance(raw, dict):
        raise MalformedInput(
            None, None, f"expected a JSON object, got {type(raw).__name__}"
        )
    return raw


def parse_input(document: bytes | str | dict[str, Any]) -> Input:
    """One DR event or merchant request as the engine's typed input."""
    raw = _load(document)
    if "request" in raw and "type" not in raw:
        return _parse_request(raw)
    event_id = raw.get("id")
    iid = _structure(event_id, str, None, "$.id") if event_id is not None else None
    if iid is None:
        raise MalformedInput(None, "id", "required field missing")
    _check_id(iid)
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise MalformedInput(iid, "type", "required field missing or not a string")
    created = raw.get("createdTime")
    stamp = ""
    if created is not None:
        try:
            stamp = normalise_time(_structure(created, str, iid, "$.createdTime"))
        except (ValueError, OverflowError):
            raise MalformedInput(
                iid, "createdTime", f"not an ISO-8601 time in range: {created!r}"[:200]
            ) from None
    meta = EventMeta(id=iid, type=kind, created_time=stamp)
    parser = _PARSERS.get(kind)
    if parser is None and kind in ORDER_EVENT_TYPES:
        parser = _order
    if parser is None and kind.startswith("order.charge."):
        parser = _charge
    if parser is None:
        return UnknownEvent(meta)
    data = raw.get("data")
    if not isinstance(data, dict):
        raise MalformedInput(iid, "data", "required object missing")
    obj = data.get("object")
    if not isinstance(obj, dict):
        raise MalformedInput(iid, "data.object", "required object missing")
    return parser(meta, obj)


def _order(meta: EventMeta, obj: dict[str, Any]) -> Input:
    order = _structure(obj, wire.Order, meta.id, "$.data.object").to_domain()
    if order.charges:
        order = attrs.evolve(
            order, charges=tuple(normal_charge(c) for c in order.charges)
        )
    return OrderObserved(meta, order)


def _fulfillment_order(meta: EventMeta, obj: dict[str, Any]) -> Input:
    fo = _structure(obj, FulfillmentOrderSnapshot, meta.id, "$.data.object")
    return FulfillmentOrderObserved(meta, fo)


def _backorder(meta: EventMeta, obj: dict[str, Any]) -> Input:
    b = _structure(obj, wire.Backorder, meta.id, "$.data.object")
    return BackorderObserved(
        meta=meta, fulfillment_order_id=b.id, upstream_id=b.upstream_id, items=b.items
    )


def _shipment(meta: EventMeta, obj: dict[str, Any]) -> Input:
    s = _structure(obj, wire.Shipment, meta.id, "$.data.object")
    return ShipmentObserved(meta, s.to_domain())


def _cancellation(meta: EventMeta, obj: dict[str, Any]) -> Input:
    c = _structure(obj, CancellationSnapshot, meta.id, "$.data.object")
    if c.state is None:
        c = attrs.evolve(c, state=_CANCELLATION_STATES[meta.type])
    return CancellationObserved(meta, c)


def _fulfillment(meta: EventMeta, obj: dict[str, Any]) -> Input:
    f = _structure(obj, FulfillmentSnapshot, meta.id, "$.data.object")
    return FulfillmentObserved(meta, f)


def _op_time(value: str | None) -> str | None:
    """An operation's ``createdTime`` normalised (it identifies operations without id)."""
    if value is None:
        return None
    try:
        return normalise_time(value)
    except (ValueError, OverflowError):
        return value


def normal_charge(charge: ChargeSnapshot) -> ChargeSnapshot:
    """``charge`` with its operations' times normalised like event times."""
    if not (charge.captures or charge.cancels or charge.refunds):
        return charge
    return attrs.evolve(
        charge,
        captures=_normal_ops(charge.captures),
        cancels=_normal_ops(charge.cancels),
        refunds=_normal_ops(charge.refunds),
    )


_Op = TypeVar("_Op", CaptureSnapshot, ChargeCancelSnapshot, ChargeRefundSnapshot)


def _normal_ops(ops: tuple[_Op, ...]) -> tuple[_Op, ...]:
    return tuple(attrs.evolve(o, created_time=_op_time(o.created_time)) for o in ops)


def _charge(meta: EventMeta, obj: dict[str, Any]) -> Input:
    if "orderId" not in obj and ("payment" in obj or "items" in obj):
        # DR's own example of ``order.charge.refund.failed`` carries the order.
        return _order(meta, obj)
    return ChargeObserved(
        meta, normal_charge(_structure(obj, ChargeSnapshot, meta.id, "$.data.object"))
    )


def _refund(meta: EventMeta, obj: dict[str, Any]) -> Input:
    r = _structure(obj, RefundSnapshot, meta.id, "$.data.object")
    if r.state is None:
        r = attrs.evolve(r, state=_REFUND_STATES[meta.type])
    return RefundObserved(meta, r)


def _fulfillment_return(meta: EventMeta, obj: dict[str, Any]) -> Input:
    r = _structure(obj, FulfillmentReturnSnapshot, meta.id, "$.data.object")
    if r.state is None:
        r = attrs.evolve(r, state=_FULFILLMENT_RETURN_STATES[meta.type])
    return FulfillmentReturnObserved(meta, r)


def _return(meta: EventMeta, obj: dict[str, Any]) -> Input:
    r = _structure(obj, ReturnSnapshot, meta.id, "$.data.object")
    if r.state is None:
        r = attrs.evolve(r, state=_RETURN_STATES[meta.type])
    return ReturnObserved(meta, r)


_PARSERS: dict[str, Callable[[EventMeta, dict[str, Any]], Input]] = {
    "fulfillment_order.pending": _fulfillment_order,
    "fulfillment_order.cancelled": _fulfillment_order,
    "fulfillment_order.backordered": _backorder,
    "fulfillment_order.shipped": _shipment,
    "fulfillment.created": _fulfillment,
    **dict.fromkeys(_CANCELLATION_STATES, _cancellation),
    **dict.fromkeys(_FULFILLMENT_RETURN_STATES, _fulfillment_return),
    **dict.fromkeys(_RETURN_STATES, _return),
    **dict.fromkeys(_REFUND_STATES, _refund),
}

_REQUESTS: dict[
    str,
    type[
        RequestCancellation
        | ReportShipment
        | ReportCancellation
        | RequestReturn
        | AcceptReturn
    ],
] = {
    "request_cancellation": RequestCancellation,
    "report_shipment": ReportShipment,
    "report_cancellation": ReportCancellation,
    "request_return": RequestReturn,
    "accept_return": AcceptReturn,
}


def _parse_request(raw: dict[str, Any]) -> Input:
    rid = raw.get("id")
    request_id = _structure(rid, str, None, "$.id") if rid is not None else None
    kind = raw.get("request")
    cls = _REQUESTS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(_REQUESTS))
        raise MalformedInput(
            request_id, "request", f"unknown request {kind!r} (known: {known})"
        )
    if request_id is None:
        raise MalformedInput(None, "id", "required field missing (the request id)")
    _check_id(request_id)
    body = {k: v for k, v in raw.items() if k not in ("request", "id")}
    body["requestId"] = request_id
    if cls is ReportShipment:
        return _structure(body, wire.ShipmentReport, request_id, "$").to_domain()
    return _structure(body, cls, request_id, "$")
