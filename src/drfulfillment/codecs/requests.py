"""Commands to DR request bodies and to the replay CLI's JSON lines.

:func:`render_request` gives ``(method, path, body)`` for an API command, the body being
exactly the JSON DR expects (DR's OpenAPI ``FulfillmentRequest``,
``GlobalFulfillmentOrderRequest``, ``GlobalFulfillmentCancellationRequest``; a contract
test validates every body against that schema). Absent optional fields are left out,
never sent as ``null``. :func:`render_request_json` gives the body as the compact JSON
bytes to send (through ``orjson`` where it is installed, :mod:`.fastjson`).
"""

from __future__ import annotations

from typing import Any

from drfulfillment.codecs.fastjson import dumps
from drfulfillment.codecs.json import make_converter
from drfulfillment.codecs.json import money_out as _money
from drfulfillment.domain.commands import (
    ApiCommand,
    Command,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentOrder,
    CreateFulfillmentReturn,
    CreateRefund,
    CreateReturn,
    UpdateReturn,
)
from drfulfillment.domain.inputs import Party, RequestedUnits

__all__ = ["command_json", "render_request", "render_request_json"]

_CONVERTER = make_converter()


def _prune(value: Any) -> Any:
    """Drop ``None`` fields and empty objects, recursively."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, dict | list):
                v = _prune(v)
                if isinstance(v, dict) and not v:
                    continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _party(party: Party) -> dict[str, Any]:
    result: dict[str, Any] = _prune(_CONVERTER.unstructure(party))
    return result


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        body[name] = value


def _fulfillment_body(command: CreateFulfillment) -> dict[str, Any]:
    """The body of ``POST /fulfillments``, built without its absent fields.

    The most frequent request, so built directly rather than pruned afterwards: the
    same keys in the same order as pruning the full body gives (a property test holds
    it to that).
    """
    body: dict[str, Any] = {}
    _put(body, "orderId", command.order_id)
    _put(body, "shipmentId", command.shipment_id)
    items = []
    for i in command.items:
        item: dict[str, Any] = {}
        _put(item, "itemId", i.item_id)
        _put(item, "quantity", i.quantity)
        _put(item, "cancelQuantity", i.cancel_quantity)
        _put(item, "shipmentItemId", i.shipment_item_id)
        items.append(item)
    body["items"] = items
    tracking = command.tracking
    _put(body, "trackingCompany", tracking.company)
    _put(body, "trackingNumber", tracking.number)
    _put(body, "trackingUrl", tracking.url)
    return body


def render_request(command: ApiCommand) -> tuple[str, str, dict[str, Any]]:
    """``(method, path, body)`` of the DR call ``command`` stands for."""
    match command:
        case CreateFulfillmentOrder():
            body: dict[str, Any] = {
                "currency": command.currency,
                "locale": command.locale,
                "upstreamOrderTime": command.upstream_order_time,
                "upstreamId": command.order_id,
                "reservationId": command.reservation_id,
                "name": command.name,
                "email": command.email,
                "phone": command.phone,
                "shipTo": _party(command.ship_to),
                "shippingChoice": {"id": command.shipping_choice_id},
                "items": [
                    {
                        "upstreamId": i.upstream_id,
                        "inventoryItemId": i.inventory_item_id,
                        "quantity": i.quantity,
                        "total": _money(i.total) if i.total is not None else None,
                        "tax": (
                            {"amount": _money(i.tax_amount)}
                            if i.tax_amount is not None
                            else None
                        ),
                    }
                    for i in command.items
                ],
            }
            return "POST", "/fulfillment-orders", _prune(body)
        case CreateFulfillment():
            return "POST", "/fulfillments", _fulfillment_body(command)
        case CreateFulfillmentCancellation():
            body = {
                "fulfillmentOrderId": command.fulfillment_order_id,
                "upstreamId": command.order_id,
                "reason": command.reason,
                "items": [_CONVERTER.unstructure(i) for i in command.items],
            }
            return "POST", "/fulfillment-cancellations", _prune(body)
        case CreateFulfillmentReturn():
            body = {
                "fulfillmentOrderId": command.fulfillment_order_id,
                "upstreamId": command.order_id,
                "reason": command.reason,
                "items": [_CONVERTER.unstructure(i) for i in command.items],
            }
            return "POST", "/fulfillment-returns", _prune(body)
        case CreateReturn():
            body = {
                "orderId": command.order_id,
                "reason": _reason(command.reason),
                "items": [_units(u) for u in command.items],
            }
            return "POST", "/returns", _prune(body)
        case UpdateReturn():
            if command.items:
                body = {
                    "items": [{**_units(u), "state": "accepted"} for u in command.items]
                }
            else:
                body = {"state": "accepted"}
            return "POST", f"/returns/{command.return_id}", body
        case CreateRefund():
            body = {
                "orderId": command.order_id,
                "currency": command.currency,
                "reason": _reason(command.reason),
                "items": [{**_units(u), "percent": 100} for u in command.items],
            }
            return "POST", "/refunds", _prune(body)


def render_request_json(command: ApiCommand) -> tuple[str, str, bytes]:
    """``(method, path, body)`` as :func:`render_request` gives them, the body as the
    compact JSON bytes to send (UTF-8)."""
    method, path, body = render_request(command)
    return method, path, dumps(body)


def _units(u: RequestedUnits) -> dict[str, Any]:
    return {"itemId": u.item_id, "quantity": u.quantity}


def _reason(reason: str | None) -> str | None:
    """DR takes at most 64 characters of a return's or refund's reason."""
    return reason[:64] if reason is not None else None


def command_json(command: Command) -> dict[str, Any]:
    """One line of ``drfulfillment replay`` output for ``command``.

    API commands: ``{"command", "method", "path", "idempotencyKey", "body"}``. Other
    commands: ``{"command", "idempotencyKey", ...their fields}``, no ``method``.
    """
    name = type(command).__name__
    if isinstance(
        command,
        CreateFulfillmentOrder
        | CreateFulfillment
        | CreateFulfillmentCancellation
        | CreateFulfillmentReturn
        | CreateReturn
        | UpdateReturn
        | CreateRefund,
    ):
        method, path, body = render_request(command)
        return {
            "command": name,
            "method": method,
            "path": path,
            "idempotencyKey": command.key,
            "body": body,
        }
    data = _prune(_CONVERTER.unstructure(command))
    key = data.pop("key")
    return {"command": name, "idempotencyKey": key, **data}
