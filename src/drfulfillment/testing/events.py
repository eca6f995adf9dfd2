"""Builders of DR event JSON, shaped exactly like DR's payloads.

DR published no complete ``fulfillment_order.pending``/``.cancelled`` or
``fulfillment_cancellation.*`` payloads (DR reference §10), so these follow DR's
OpenAPI schemas (``GlobalFulfillmentOrder``, ``Shipment``,
``GlobalFulfillmentCancellationResponse``) and the fragments DR did publish. Order
events start from DR's real ``order.accepted`` payload.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_TEMPLATE = Path(__file__).parent / "data" / "order.json"

__all__ = [
    "Json",
    "backordered",
    "cancellation",
    "envelope",
    "fo_line",
    "fulfillment_order",
    "order",
    "order_event",
    "request",
    "shipped",
]

Json = dict[str, Any]


@functools.cache
def _template_text() -> str:
    return _TEMPLATE.read_text(encoding="utf-8")


@functools.cache
def _item_text() -> str:
    return json.dumps(json.loads(_template_text())["items"][0])


def _template() -> Json:
    """A fresh copy of DR's order (parsing the text is much faster than a deep copy)."""
    loaded: Json = json.loads(_template_text())
    return loaded


def envelope(
    event_id: str, event_type: str, obj: Json, created: str = "2021-11-01T18:30:00Z"
) -> Json:
    """A DR event envelope around ``obj``."""
    return {
        "id": event_id,
        "type": event_type,
        "createdTime": created,
        "data": {"object": obj, "previousAttributes": {}},
        "liveMode": False,
        "digitalriverVersion": "2021-12-13",
    }


def order(
    order_id: str = "204440790336",
    *,
    items: Sequence[tuple[str, int, bool | None]] = (("127911830336", 2, None),),
    state: str = "accepted",
    transitions: Sequence[str] = ("accepted",),
) -> Json:
    """DR's real accepted order, with the given ``(item id, quantity, physical)`` lines."""
    obj = _template()
    obj["id"] = order_id
    obj["state"] = state
    obj["stateTransitions"] = dict.fromkeys(transitions, "2021-11-01T18:23:05Z")
    obj["items"] = []
    for item_id, quantity, physical in items:
        item: Json = json.loads(_item_text())
        item["id"] = item_id
        item["skuId"] = f"sku-{item_id}"
        item["quantity"] = quantity
        if physical is not None:
            item["productDetails"]["physical"] = physical
        obj["items"].append(item)
    return obj


def order_event(
    event_id: str,
    state: str,
    created: str,
    *,
    order_id: str = "204440790336",
    items: Sequence[tuple[str, int, bool | None]] = (("127911830336", 2, None),),
    transitions: Sequence[str] = ("accepted",),
    event_type: str | None = None,
) -> Json:
    """An ``order.<state>`` event (``order.accepted``, ``order.fulfilled``, ...)."""
    event_type = event_type or {
        "in_review": "order.review_opened",
        "dispute": "order.dispute",
    }.get(state, f"order.{state}")
    obj = order(order_id, items=items, state=state, transitions=transitions)
    return envelope(event_id, event_type, obj, created)


def fo_line(
    line_id: str,
    upstream_id: str,
    quantity: int,
    *,
    pending: int | None = None,
    backordered: int = 0,
    shipped: int = 0,
    cancelled: int = 0,
    returned: int = 0,
) -> Json:
    """A fulfillment-order ``LineItem`` with buckets (pending defaults to the rest)."""
    if pending is None:
        pending = quantity - backordered - shipped - cancelled - returned
    return {
        "id": int(line_id) if line_id.isdigit() else line_id,
        "upstreamId": upstream_id,
        "inventoryItemId": f"sku-{upstream_id}",
        "quantity": quantity,
        "pending": pending,
        "backordered": backordered,
        "shipped": shipped,
        "cancelled": cancelled,
        "returned": returned,
        "state": "pending",
    }


def fulfillment_order(
    event_id: str,
    event_type: str,
    fo_id: str,
    order_id: str,
    lines: Sequence[Json],
    created: str = "2021-11-01T18:30:00Z",
) -> Json:
    """``fulfillment_order.pending`` or ``.cancelled`` carrying the FO."""
    obj = {
        "id": int(fo_id) if fo_id.isdigit() else fo_id,
        "upstreamId": order_id,
        "currency": "USD",
        "state": "cancelled" if event_type.endswith("cancelled") else "pending",
        "items": list(lines),
        "liveMode": False,
    }
    return envelope(event_id, event_type, obj, created)


def shipped(
    event_id: str,
    shipment_id: str,
    fo_id: str,
    order_id: str,
    items: Sequence[tuple[str, str, str, int]],
    created: str = "2021-11-02T10:00:00Z",
    *,
    tracking: bool = True,
) -> Json:
    """``fulfillment_order.shipped``; items are ``(shipment item id, FO line, order line, qty)``."""
    obj: Json = {
        "id": shipment_id,
        "fulfillmentOrderId": fo_id,
        "fulfillmentOrderUpstreamId": order_id,
        "items": [
            {
                "id": sid,
                "fulfillmentOrderItemId": line,
                "fulfillmentOrderItemUpstreamId": upstream,
                "quantity": qty,
            }
            for (sid, line, upstream, qty) in items
        ],
    }
    if tracking:
        obj.update(
            trackingCompany="Fedex",
            trackingNumber="Z1",
            trackingUrl="http://fedex.example/Z1",
        )
    return envelope(event_id, "fulfillment_order.shipped", obj, created)


def backordered(
    event_id: str,
    fo_id: str,
    order_id: str,
    items: Sequence[tuple[str, str, int, int]],
    created: str = "2021-11-01T19:00:00Z",
) -> Json:
    """``fulfillment_order.backordered``; items are ``(FO line, order line, this time, total)``."""
    obj = {
        "id": fo_id,
        "upstreamId": order_id,
        "items": [
            {
                "id": line,
                "upstreamId": upstream,
                "ordered": 0,
                "backordered": now,
                "totalBackordered": total,
                "availableTime": "2021-11-25T20:36:00Z",
            }
            for (line, upstream, now, total) in items
        ],
    }
    return envelope(event_id, "fulfillment_order.backordered", obj, created)


def cancellation(
    event_id: str,
    state: str,
    cancellation_id: str,
    fo_id: str,
    order_id: str | None,
    items: Sequence[tuple[str, int, int | None]],
    created: str = "2021-11-03T09:00:00Z",
) -> Json:
    """``fulfillment_cancellation.<created|accepted|rejected>``; items ``(FO line, qty, accepted)``."""
    obj: Json = {
        "id": cancellation_id,
        "fulfillmentOrderId": fo_id,
        "reason": "requested_by_customer",
        "state": "pending" if state == "created" else state,
        "livemode": False,
        "items": [
            {
                "fulfillmentOrderItemId": line,
                "quantity": qty,
                **({"quantityAccepted": acc} if acc is not None else {}),
            }
            for (line, qty, acc) in items
        ],
    }
    if order_id is not None:
        obj["upstreamId"] = order_id
    return envelope(event_id, f"fulfillment_cancellation.{state}", obj, created)


def request(
    kind: str,
    request_id: str,
    order_id: str,
    items: Sequence[tuple[str, int]],
    **extra: Any,
) -> Json:
    """A merchant request line of the replay format."""
    return {
        "request": kind,
        "id": request_id,
        "orderId": order_id,
        "items": [{"itemId": i, "quantity": q} for (i, q) in items],
        **extra,
    }
