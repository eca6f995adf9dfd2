"""Builders of DR return, refund, charge and fulfillment event JSON.

Shaped like DR's published payloads (``event-order.charge.capture.complete``,
``event-refund.pending.from-return-single-shipment``, ``event-return.accepted.*``,
``event-fulfillment.created``) and, where DR published none
(``fulfillment_return.*``), like its OpenAPI ``GlobalFulfillmentReturnResponse``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from drfulfillment.testing.events import Json, envelope

__all__ = [
    "charge",
    "charge_event",
    "fulfillment_created",
    "fulfillment_return",
    "operation",
    "refund",
    "return_event",
]


def _money(value: Decimal | str | float) -> float:
    return float(Decimal(str(value)))


def operation(
    op_id: str | None,
    amount: Decimal | str | float,
    state: str,
    created: str = "2021-11-03T09:10:00Z",
    **extra: str,
) -> Json:
    """One capture, cancel or refund entry of a charge (``fulfillmentId=``, ``failureCode=``)."""
    op: Json = {"createdTime": created, "amount": _money(amount), "state": state}
    if op_id is not None:
        op["id"] = op_id
    return {**op, **extra}


def charge(
    charge_id: str,
    order_id: str,
    amount: Decimal | str | float,
    state: str = "capturable",
    *,
    captures: Sequence[Json] = (),
    cancels: Sequence[Json] = (),
    refunds: Sequence[Json] = (),
    currency: str = "USD",
) -> Json:
    """A DR ``Charge`` object."""
    obj: Json = {
        "id": charge_id,
        "createdTime": "2021-11-01T18:23:00Z",
        "currency": currency,
        "amount": _money(amount),
        "state": state,
        "orderId": order_id,
        "captured": any(c["state"] == "complete" for c in captures),
        "refunded": bool(refunds),
        "sourceId": f"src-{charge_id}",
        "type": "customer_initiated",
        "liveMode": False,
    }
    for name, ops in (
        ("captures", captures),
        ("cancels", cancels),
        ("refunds", refunds),
    ):
        if ops:
            obj[name] = list(ops)
    return obj


def charge_event(
    event_id: str, event_type: str, obj: Json, created: str = "2021-11-03T09:20:00Z"
) -> Json:
    """``order.charge.<...>`` around a charge from :func:`charge`."""
    return envelope(event_id, event_type, obj, created)


def fulfillment_return(
    event_id: str,
    state: str,
    return_id: str,
    fo_id: str,
    order_id: str | None,
    items: Sequence[tuple[str, int, int | None]],
    created: str = "2021-11-05T09:00:00Z",
    reason: str = "requested_by_customer",
) -> Json:
    """``fulfillment_return.<state>``; items ``(FO line, quantity, quantityAccepted)``."""
    obj: Json = {
        "id": return_id,
        "createdTime": "2021-11-05T08:59:00Z",
        "fulfillmentOrderId": fo_id,
        "reason": reason,
        "state": state,
        "type": "client",
        "livemode": False,
        "items": [
            {
                "fulfillmentOrderItemId": line,
                "quantity": qty,
                "state": "accepted" if state == "accepted" else "pending",
                **({"quantityAccepted": acc} if acc is not None else {}),
            }
            for (line, qty, acc) in items
        ],
    }
    if order_id is not None:
        obj["upstreamId"] = order_id
    return envelope(event_id, f"fulfillment_return.{state}", obj, created)


def return_event(
    event_id: str,
    state: str,
    return_id: str,
    order_id: str,
    items: Sequence[tuple[str, int, int]],
    created: str = "2021-11-05T09:00:00Z",
    reason: str = "Incorrect size",
) -> Json:
    """``return.<created|accepted>``; items ``(order line, quantity, quantityAccepted)``."""
    obj: Json = {
        "id": return_id,
        "createdTime": "2021-11-05T08:59:00Z",
        "currency": "USD",
        "orderId": order_id,
        "reason": reason,
        "state": state,
        "liveMode": False,
        "items": [
            {
                "itemId": item,
                "quantity": qty,
                "quantityAccepted": acc,
                "state": "accepted" if acc == qty else "created",
            }
            for (item, qty, acc) in items
        ],
    }
    return envelope(event_id, f"return.{state}", obj, created)


def refund(
    event_id: str,
    event_type: str,
    refund_id: str,
    order_id: str,
    items: Sequence[tuple[str, int]],
    state: str,
    created: str = "2021-11-05T10:00:00Z",
    amount: Decimal | str | float | None = None,
) -> Json:
    """``refund.<...>``; items ``(order line, quantity)``; ``state`` as DR's refund reads."""
    obj: Json = {
        "id": refund_id,
        "createdTime": "2021-11-05T09:59:00Z",
        "currency": "USD",
        "orderId": order_id,
        "state": state,
        "refundedAmount": 0.0,
        "liveMode": False,
        "items": [{"itemId": item, "quantity": qty} for (item, qty) in items],
    }
    if amount is not None:
        obj["amount"] = _money(amount)
    return envelope(event_id, event_type, obj, created)


def fulfillment_created(
    event_id: str,
    fulfillment_id: str,
    order_id: str,
    items: Sequence[tuple[str, int, int]],
    shipment_id: str | None = None,
    created: str = "2021-11-03T09:06:00Z",
) -> Json:
    """``fulfillment.created``; items ``(order line, quantity, cancelQuantity)``."""
    obj: Json = {
        "id": fulfillment_id,
        "createdTime": created,
        "orderId": order_id,
        "items": [
            {
                "itemId": item,
                **({"quantity": q} if q else {}),
                **({"cancelQuantity": c} if c else {}),
            }
            for (item, q, c) in items
        ],
        "liveMode": False,
    }
    if shipment_id is not None:
        obj["shipmentId"] = shipment_id
    return envelope(event_id, "fulfillment.created", obj, created)
