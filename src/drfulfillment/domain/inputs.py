"""What the engine takes in: DR webhook events (typed views) and merchant requests.

Inbound event classes keep DR's names in their ``type`` (``fulfillment_order.shipped``);
the codec (:mod:`drfulfillment.codecs`) builds them from DR's JSON. Merchant requests
are what an integrator asks of the engine ("cancel 2 units of line X"). Every input
carries the id used to deduplicate it: the DR event id, or the caller's request id.

Times are strings, never parsed here: ``EventMeta.created_time`` is normalised by the
codec to ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so that it sorts as text.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from drfulfillment.domain.lifecycles import CancellationStatus, OrderStatus
from drfulfillment.domain.snapshots import (
    ChargeSnapshot,
    FulfillmentReturnSnapshot,
    FulfillmentSnapshot,
    RefundSnapshot,
    ReturnSnapshot,
)

__all__ = [
    "AcceptReturn",
    "Address",
    "BackorderItem",
    "BackorderObserved",
    "CancellationItemSnapshot",
    "CancellationObserved",
    "CancellationSnapshot",
    "ChargeObserved",
    "EventMeta",
    "FulfillmentObserved",
    "FulfillmentOrderItemSnapshot",
    "FulfillmentOrderObserved",
    "FulfillmentOrderSnapshot",
    "FulfillmentReturnObserved",
    "Input",
    "OrderItemSnapshot",
    "OrderObserved",
    "OrderSnapshot",
    "Party",
    "RefundObserved",
    "ReportCancellation",
    "ReportShipment",
    "RequestCancellation",
    "RequestReturn",
    "RequestedUnits",
    "ReturnObserved",
    "ShipmentItemSnapshot",
    "ShipmentObserved",
    "ShipmentSnapshot",
    "ShippingChoice",
    "Tracking",
    "UnknownEvent",
]

_nonneg = attrs.validators.ge(0)


@attrs.frozen
class EventMeta:
    """The envelope of a DR event: ``id``, ``type`` and normalised ``createdTime``."""

    id: str
    type: str
    created_time: str = ""


# --- order ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Address:
    """DR ``Address``."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None


@attrs.frozen(kw_only=True)
class Party:
    """DR ``Shipping``/``Billing``: where and to whom."""

    address: Address | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    organization: str | None = None


@attrs.frozen(kw_only=True)
class ShippingChoice:
    """The order's ``shippingChoice``; ``service_level`` is the shipping-quote id."""

    service_level: str | None = None
    amount: Decimal | None = None
    description: str | None = None


@attrs.frozen(kw_only=True)
class OrderItemSnapshot:
    """One DR order line (``items[]``). ``physical`` is ``productDetails.physical``."""

    id: str
    sku_id: str | None = None
    quantity: int = attrs.field(validator=_nonneg)
    amount: Decimal | None = None
    tax_amount: Decimal | None = None
    physical: bool | None = None


@attrs.frozen(kw_only=True)
class OrderSnapshot:
    """A DR order as an ``order.*`` event carries it (only what the engine uses)."""

    id: str
    created_time: str | None = None
    state: OrderStatus | None = None
    state_transitions: tuple[str, ...] = ()
    currency: str | None = None
    locale: str | None = None
    checkout_id: str | None = None
    email: str | None = None
    ship_to: Party | None = None
    bill_to: Party | None = None
    shipping_choice: ShippingChoice | None = None
    items: tuple[OrderItemSnapshot, ...] = ()
    charges: tuple[ChargeSnapshot, ...] = ()
    """``payment.charges[]``."""


@attrs.frozen
class OrderObserved:
    """Any ``order.*`` event whose ``data.object`` is the order."""

    meta: EventMeta
    order: OrderSnapshot


# --- fulfillment order ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FulfillmentOrderItemSnapshot:
    """A fulfillment-order line (DR ``LineItem``) with its quantity buckets."""

    id: str
    upstream_id: str | None = None
    inventory_item_id: str | None = None
    quantity: int = attrs.field(validator=_nonneg)
    pending: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_nonneg)
    )
    backordered: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_nonneg)
    )
    shipped: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_nonneg)
    )
    cancelled: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_nonneg)
    )
    returned: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_nonneg)
    )


@attrs.frozen(kw_only=True)
class FulfillmentOrderSnapshot:
    """A DR fulfillment order (``GlobalFulfillmentOrder``)."""

    id: str
    upstream_id: str | None = None
    items: tuple[FulfillmentOrderItemSnapshot, ...] = ()


@attrs.frozen
class FulfillmentOrderObserved:
    """``fulfillment_order.pending`` or ``.cancelled`` (or DR's 201 to our POST)."""

    meta: EventMeta
    fulfillment_order: FulfillmentOrderSnapshot


@attrs.frozen(kw_only=True)
class BackorderItem:
    """One line of ``fulfillment_order.backordered``; ``total_backordered`` is DR's checksum."""

    id: str | None = None
    upstream_id: str | None = None
    ordered: int | None = None
    backordered: int | None = None
    total_backordered: int = attrs.field(validator=_nonneg)
    available_time: str | None = None


@attrs.frozen(kw_only=True)
class BackorderObserved:
    """``fulfillment_order.backordered``."""

    meta: EventMeta
    fulfillment_order_id: str | None = None
    upstream_id: str | None = None
    items: tuple[BackorderItem, ...] = ()


@attrs.frozen(kw_only=True)
class Tracking:
    """Carrier tracking as DR's shipment and ``POST /fulfillments`` carry it."""

    company: str | None = None
    number: str | None = None
    url: str | None = None


@attrs.frozen(kw_only=True)
class ShipmentItemSnapshot:
    """A shipment line (DR ``ShipmentItem``)."""

    id: str
    fulfillment_order_item_id: str
    fulfillment_order_item_upstream_id: str | None = None
    quantity: int = attrs.field(validator=_nonneg)


@attrs.frozen(kw_only=True)
class ShipmentSnapshot:
    """A DR ``Shipment`` (the ``data.object`` of ``fulfillment_order.shipped``)."""

    id: str
    fulfillment_order_id: str
    fulfillment_order_upstream_id: str | None = None
    tracking: Tracking = Tracking()
    items: tuple[ShipmentItemSnapshot, ...] = ()


@attrs.frozen
class ShipmentObserved:
    """``fulfillment_order.shipped``."""

    meta: EventMeta
    shipment: ShipmentSnapshot


@attrs.frozen(kw_only=True)
class CancellationItemSnapshot:
    """A fulfillment-cancellation line."""

    fulfillment_order_item_id: str
    quantity: int = attrs.field(validator=_nonneg)
    quantity_accepted: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_nonneg)
    )
    state: CancellationStatus | None = None


@attrs.frozen(kw_only=True)
class CancellationSnapshot:
    """A DR fulfillment cancellation (``GlobalFulfillmentCancellationResponse``)."""

    id: str
    fulfillment_order_id: str
    upstream_id: str | None = None
    state: CancellationStatus | None = None
    items: tuple[CancellationItemSnapshot, ...] = ()


@attrs.frozen
class CancellationObserved:
    """``fulfillment_cancellation.created``, ``.accepted`` or ``.rejected``."""

    meta: EventMeta
    cancellation: CancellationSnapshot


@attrs.frozen
class FulfillmentObserved:
    """``fulfillment.created``: DR's record of a ``POST /fulfillments`` (anyone's)."""

    meta: EventMeta
    fulfillment: FulfillmentSnapshot


@attrs.frozen
class ChargeObserved:
    """``order.charge.*``: the charge, with its captures, cancels and refunds."""

    meta: EventMeta
    charge: ChargeSnapshot


@attrs.frozen
class RefundObserved:
    """``refund.*``: a refund created by ``POST /refunds`` or by an accepted return."""

    meta: EventMeta
    refund: RefundSnapshot


@attrs.frozen
class FulfillmentReturnObserved:
    """``fulfillment_return.created``, ``.pending``, ``.accepted`` or ``.rejected``."""

    meta: EventMeta
    fulfillment_return: FulfillmentReturnSnapshot


@attrs.frozen
class ReturnObserved:
    """``return.created``, ``return.accepted`` (third-party-coordinated returns)."""

    meta: EventMeta
    ret: ReturnSnapshot


@attrs.frozen
class UnknownEvent:
    """An event type the engine does not handle; DR calls new types non-breaking."""

    meta: EventMeta


# --- merchant requests ---------------------------------------------------------------


class RequestKind(enum.Enum):
    """The merchant requests, by their wire name in the replay format."""

    REQUEST_CANCELLATION = "request_cancellation"
    REPORT_SHIPMENT = "report_shipment"
    REPORT_CANCELLATION = "report_cancellation"
    REQUEST_RETURN = "request_return"
    ACCEPT_RETURN = "accept_return"


@attrs.frozen
class RequestedUnits:
    """``quantity`` units of DR order line ``item_id``."""

    item_id: str
    quantity: int = attrs.field(validator=attrs.validators.ge(1))


@attrs.frozen(kw_only=True)
class RequestCancellation:
    """Ask the fulfiller to cancel units (DR-coordinated): ``POST /fulfillment-cancellations``."""

    request_id: str
    order_id: str
    items: tuple[RequestedUnits, ...]
    reason: str | None = None


@attrs.frozen(kw_only=True)
class ReportShipment:
    """The merchant's own fulfiller shipped units (third-party, or digital lines)."""

    request_id: str
    order_id: str
    items: tuple[RequestedUnits, ...]
    tracking: Tracking = Tracking()


@attrs.frozen(kw_only=True)
class ReportCancellation:
    """The merchant cancelled units it will never ship (third-party, or digital lines)."""

    request_id: str
    order_id: str
    items: tuple[RequestedUnits, ...]


@attrs.frozen(kw_only=True)
class RequestReturn:
    """Return shipped units: ``POST /fulfillment-returns`` for lines in a fulfillment
    order (DR-coordinated), ``POST /returns`` otherwise (third-party-coordinated)."""

    request_id: str
    order_id: str
    items: tuple[RequestedUnits, ...]
    reason: str | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.max_len(64)),
    )
    """At most 64 characters (DR's limit for ``POST /returns`` and ``/refunds``)."""


@attrs.frozen(kw_only=True)
class AcceptReturn:
    """Accept a third-party return (``POST /returns/{id}``): all of it, or ``items``."""

    request_id: str
    order_id: str
    return_id: str
    items: tuple[RequestedUnits, ...] = ()


Input = (
    OrderObserved
    | FulfillmentOrderObserved
    | BackorderObserved
    | ShipmentObserved
    | CancellationObserved
    | FulfillmentObserved
    | ChargeObserved
    | RefundObserved
    | FulfillmentReturnObserved
    | ReturnObserved
    | UnknownEvent
    | RequestCancellation
    | ReportShipment
    | ReportCancellation
    | RequestReturn
    | AcceptReturn
)
