"""What the engine tells the integration to do: frozen commands with idempotency keys.

API commands mirror the DR call they stand for (``CreateFulfillment`` is
``POST /fulfillments``); :mod:`drfulfillment.codecs.requests` renders each to the exact
request body. Non-API commands (``Notify*``) are for the integrator's own systems.

Every command carries ``key``, derived only from its cause (an order id, a shipment id,
a merchant request id, or the unit range a cancel covers), never from a clock or a
counter: the same cause always yields the same key, and two different commands never
share one. DR documents no idempotency mechanism, so adapters use the key for their own
outbox deduplication.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from drfulfillment.domain.inputs import Party, RequestedUnits, Tracking

__all__ = [
    "ApiCommand",
    "CancellationItem",
    "Command",
    "CreateFulfillment",
    "CreateFulfillmentCancellation",
    "CreateFulfillmentOrder",
    "CreateFulfillmentReturn",
    "CreateRefund",
    "CreateReturn",
    "FulfillmentItem",
    "FulfillmentOrderItem",
    "HandleCaptureFailure",
    "NotifyCustomerOfBackorder",
    "NotifyCustomerOfCancellation",
    "NotifyCustomerOfRejectedCancellation",
    "NotifyCustomerOfShipment",
    "ReturnItem",
    "UpdateReturn",
]


@attrs.frozen(kw_only=True)
class FulfillmentOrderItem:
    """One line of ``POST /fulfillment-orders`` (DR ``LineItemRequest``)."""

    upstream_id: str
    inventory_item_id: str
    quantity: int
    total: Decimal | None = None
    tax_amount: Decimal | None = None


@attrs.frozen(kw_only=True)
class CreateFulfillmentOrder:
    """``POST /fulfillment-orders`` for an accepted order's physical lines."""

    key: str
    order_id: str
    currency: str
    upstream_order_time: str
    ship_to: Party
    shipping_choice_id: str
    items: tuple[FulfillmentOrderItem, ...]
    locale: str | None = None
    reservation_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@attrs.frozen(kw_only=True)
class FulfillmentItem:
    """One line of ``POST /fulfillments``: capture ``quantity``, cancel ``cancel_quantity``."""

    item_id: str
    quantity: int | None = None
    cancel_quantity: int | None = None
    shipment_item_id: str | None = None


@attrs.frozen(kw_only=True)
class CreateFulfillment:
    """``POST /fulfillments``: DR captures ``quantity`` and cancels ``cancelQuantity``."""

    key: str
    order_id: str
    items: tuple[FulfillmentItem, ...]
    shipment_id: str | None = None
    tracking: Tracking = Tracking()


@attrs.frozen(kw_only=True)
class CancellationItem:
    """One line of ``POST /fulfillment-cancellations``."""

    fulfillment_order_item_id: str
    fulfillment_order_item_upstream_id: str
    quantity: int


@attrs.frozen(kw_only=True)
class CreateFulfillmentCancellation:
    """``POST /fulfillment-cancellations``: ask the fulfiller to cancel FO units."""

    key: str
    fulfillment_order_id: str
    order_id: str
    items: tuple[CancellationItem, ...]
    reason: str | None = None


@attrs.frozen(kw_only=True)
class NotifyCustomerOfBackorder:
    """Tell the customer that ``quantity`` more units of a line are backordered."""

    key: str
    order_id: str
    item_id: str
    quantity: int
    total_backordered: int
    available_time: str | None = None


@attrs.frozen(kw_only=True)
class NotifyCustomerOfShipment:
    """Tell the customer a shipment left with ``items`` (order line, units)."""

    key: str
    order_id: str
    shipment_id: str
    items: tuple[RequestedUnits, ...]
    tracking: Tracking = Tracking()


@attrs.frozen(kw_only=True)
class NotifyCustomerOfCancellation:
    """Tell the customer that ``quantity`` more units of a line were cancelled."""

    key: str
    order_id: str
    item_id: str
    quantity: int


@attrs.frozen(kw_only=True)
class NotifyCustomerOfRejectedCancellation:
    """The fulfiller refused a cancellation: DR suggests offering a return or refund."""

    key: str
    order_id: str
    cancellation_id: str


@attrs.frozen(kw_only=True)
class ReturnItem:
    """One line of ``POST /fulfillment-returns``: units of a fulfillment-order line."""

    fulfillment_order_item_id: str
    quantity: int


@attrs.frozen(kw_only=True)
class CreateFulfillmentReturn:
    """``POST /fulfillment-returns``: ask DR's fulfiller to take shipped units back."""

    key: str
    fulfillment_order_id: str
    order_id: str
    items: tuple[ReturnItem, ...]
    reason: str | None = None


@attrs.frozen(kw_only=True)
class CreateReturn:
    """``POST /returns``: a third-party-coordinated return of fulfilled units."""

    key: str
    order_id: str
    items: tuple[RequestedUnits, ...]
    reason: str | None = None


@attrs.frozen(kw_only=True)
class UpdateReturn:
    """``POST /returns/{id}`` (DR's "update a return"): accept it whole, or ``items``.

    DR creates the refund itself once every item is accepted (DR reference §4.2).
    """

    key: str
    order_id: str
    return_id: str
    items: tuple[RequestedUnits, ...] = ()


@attrs.frozen(kw_only=True)
class CreateRefund:
    """``POST /refunds`` by items: refund 100 % of ``quantity`` units of each line.

    Emitted once per accepted fulfillment return (DR does not refund those itself).
    """

    key: str
    order_id: str
    currency: str
    items: tuple[RequestedUnits, ...]
    reason: str | None = None


@attrs.frozen(kw_only=True)
class HandleCaptureFailure:
    """DR could not capture: stop the shipment if you still can, contact the customer.

    DR's advice for ``order.charge.capture.failed`` (usually an expired authorization,
    ``failed-request``). The engine does not retry: the units stay reported to DR, and
    what to do (a new payment, a cancel) is a business decision.
    """

    key: str
    order_id: str
    charge_id: str
    capture_id: str
    amount: Decimal | None = None
    fulfillment_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    advice: str = (
        "DR could not capture this payment: stop the shipment if it has not left, "
        "and contact the customer for another payment method"
    )


ApiCommand = (
    CreateFulfillmentOrder
    | CreateFulfillment
    | CreateFulfillmentCancellation
    | CreateFulfillmentReturn
    | CreateReturn
    | UpdateReturn
    | CreateRefund
)

Command = (
    CreateFulfillmentOrder
    | CreateFulfillment
    | CreateFulfillmentCancellation
    | CreateFulfillmentReturn
    | CreateReturn
    | UpdateReturn
    | CreateRefund
    | HandleCaptureFailure
    | NotifyCustomerOfBackorder
    | NotifyCustomerOfShipment
    | NotifyCustomerOfCancellation
    | NotifyCustomerOfRejectedCancellation
)
