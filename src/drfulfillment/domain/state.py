"""The per-order state the engine keeps: known facts, and what was reported to DR.

Facts are merged so that arrival order does not matter: shipments are a set keyed by
shipment id, snapshot buckets keep their maximum, DR's backorder total keeps its
maximum. What was *reported* to DR (``OrderLine.fulfilled``/``cancelled``, a
shipment's ``reported``) only ever grows, by the commands the engine emitted.
Collections are tuples sorted by id, so equal knowledge gives equal state.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from drfulfillment.domain.inputs import Input, Party, RequestedUnits, Tracking
from drfulfillment.domain.lifecycles import CancellationStatus, OrderStatus
from drfulfillment.domain.records import (
    Charge,
    DrFulfillment,
    FulfillmentReturn,
    Refund,
    Return,
    ReturnRequest,
)

_nonneg = attrs.validators.ge(0)

__all__ = [
    "Cancellation",
    "CancellationLine",
    "FulfillmentOrder",
    "FulfillmentOrderLine",
    "IntegrationModel",
    "MerchantReport",
    "OrderDetails",
    "OrderLine",
    "OrderState",
    "PendingCancellationRequest",
    "Shipment",
    "ShipmentLine",
    "Waiting",
]


class IntegrationModel(enum.Enum):
    """Who fulfils and who tells DR about it (DR reference §0)."""

    DISTRIBUTED = "distributed"
    ORCHESTRATED = "orchestrated"
    THIRD_PARTY = "third-party"


@attrs.frozen(kw_only=True, weakref_slot=False)
class OrderLine:
    """A DR order line and the units reported to DR for it via ``POST /fulfillments``."""

    item_id: str
    sku_id: str | None
    quantity: int = attrs.field(validator=_nonneg)
    physical: bool
    physical_stated: bool = False
    """``physical`` came from the event (``productDetails.physical``), not a guess."""
    amount: Decimal | None = None
    tax_amount: Decimal | None = None
    fulfilled: int = attrs.field(default=0, validator=_nonneg)
    cancelled: int = attrs.field(default=0, validator=_nonneg)

    @property
    def unreported(self) -> int:
        """Units DR has not been told about yet."""
        return self.quantity - self.fulfilled - self.cancelled


@attrs.frozen(kw_only=True, weakref_slot=False)
class OrderDetails:
    """What ``POST /fulfillment-orders`` needs from the accepted order."""

    created_time: str | None = None
    currency: str | None = None
    locale: str | None = None
    checkout_id: str | None = None
    email: str | None = None
    ship_to: Party | None = None
    bill_to: Party | None = None
    service_level: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class FulfillmentOrderLine:
    """A fulfillment-order line and the most DR has shown of each bucket.

    ``seen_shipped`` is the most ``shipped + returned`` any snapshot showed (units that
    ever shipped), so a return that moves units out of ``shipped`` never looks like
    fewer shipments (DR reference §4, UNCONFIRMED).
    """

    id: str
    upstream_id: str
    inventory_item_id: str | None
    quantity: int = attrs.field(validator=_nonneg)
    seen_shipped: int = attrs.field(default=0, validator=_nonneg)
    seen_returned: int = attrs.field(default=0, validator=_nonneg)
    seen_cancelled: int = attrs.field(default=0, validator=_nonneg)
    seen_backordered: int = attrs.field(default=0, validator=_nonneg)
    total_backordered: int = attrs.field(default=0, validator=_nonneg)


@attrs.frozen(kw_only=True, weakref_slot=False)
class FulfillmentOrder:
    """A known fulfillment order (from ``fulfillment_order.pending``/``.cancelled``)."""

    id: str
    order_id: str
    lines: tuple[FulfillmentOrderLine, ...]


@attrs.frozen(kw_only=True, weakref_slot=False)
class ShipmentLine:
    """A shipment line: DR shipment item ``id`` carrying ``quantity`` of an FO line."""

    id: str
    fulfillment_order_item_id: str
    item_id: str
    quantity: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class Shipment:
    """A known shipment; ``reported`` once its ``POST /fulfillments`` was emitted."""

    id: str
    fulfillment_order_id: str
    lines: tuple[ShipmentLine, ...]
    tracking: Tracking = Tracking()
    reported: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class CancellationLine:
    """A fulfillment-cancellation line; ``accepted`` is DR's ``quantityAccepted``."""

    fulfillment_order_item_id: str
    quantity: int
    accepted: int | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Cancellation:
    """A known fulfillment cancellation and its lifecycle state."""

    id: str
    fulfillment_order_id: str
    status: CancellationStatus
    lines: tuple[CancellationLine, ...]

    def accepted_units(self, fulfillment_order_item_id: str) -> int:
        """Units of the line the fulfiller accepted to cancel (0 unless accepted)."""
        if self.status is not CancellationStatus.ACCEPTED:
            return 0
        return sum(
            line.quantity if line.accepted is None else line.accepted
            for line in self.lines
            if line.fulfillment_order_item_id == fulfillment_order_item_id
        )

    def refused_units(self, fulfillment_order_item_id: str) -> int:
        """Units of the line the fulfiller will not cancel."""
        lines = [
            ln
            for ln in self.lines
            if ln.fulfillment_order_item_id == fulfillment_order_item_id
        ]
        if self.status is CancellationStatus.REJECTED:
            return sum(ln.quantity for ln in lines)
        if self.status is CancellationStatus.ACCEPTED:
            return sum(
                ln.quantity - ln.accepted for ln in lines if ln.accepted is not None
            )
        return 0


@attrs.frozen(kw_only=True, weakref_slot=False)
class PendingCancellationRequest:
    """A merchant's cancellation request the engine emitted; holds units until resolved."""

    request_id: str
    fulfillment_order_id: str
    units: tuple[tuple[str, int], ...]
    """``(fulfillment order item id, quantity)``."""


class ReportKind(enum.Enum):
    """What a merchant report tells DR."""

    SHIPMENT = "shipment"
    CANCELLATION = "cancellation"


@attrs.frozen(kw_only=True, weakref_slot=False)
class MerchantReport:
    """A merchant-reported shipment or cancellation; ``reported`` once emitted."""

    request_id: str
    kind: ReportKind
    items: tuple[RequestedUnits, ...]
    tracking: Tracking = Tracking()
    reported: bool = False


@attrs.frozen(weakref_slot=False)
class Waiting:
    """An input kept until what it depends on arrives."""

    input_id: str
    input: Input
    reason: str


class _DerivedSlot:
    """A slot for what :mod:`.sums` derives from a state, kept with it.

    Not a field: never compared, copied by ``evolve``, packed, stored or shown. It
    dies with the state it belongs to.
    """

    __slots__ = ("_facts",)


@attrs.frozen(kw_only=True, weakref_slot=False)
class OrderState(_DerivedSlot):
    """Everything the engine knows about one DR order.

    ``status_stamp`` is ``(createdTime, event id)`` of the order event that set
    ``status``; a newer event wins, so any delivery order ends in the same status.
    ``fulfillment_order_requested`` is true once a ``POST /fulfillment-orders`` was
    emitted *or* a fulfillment order became known: either way none is to be created.
    """

    order_id: str
    model: IntegrationModel
    status: OrderStatus | None = None
    status_stamp: tuple[str, str] | None = None
    details: OrderDetails | None = None
    lines: tuple[OrderLine, ...] = ()
    fulfillment_order_requested: bool = False
    fulfillment_orders: tuple[FulfillmentOrder, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    cancellations: tuple[Cancellation, ...] = ()
    cancellation_requests: tuple[PendingCancellationRequest, ...] = ()
    reports: tuple[MerchantReport, ...] = ()
    fulfillment_returns: tuple[FulfillmentReturn, ...] = ()
    returns: tuple[Return, ...] = ()
    return_requests: tuple[ReturnRequest, ...] = ()
    refunds: tuple[Refund, ...] = ()
    charges: tuple[Charge, ...] = ()
    fulfillments: tuple[DrFulfillment, ...] = ()
    seen: tuple[str, ...] = ()
    """Ids of the inputs applied (or refused after waiting), sorted: a tuple holds ten
    ids in a fifth of a frozenset's memory, and orders see few inputs."""
    waiting: tuple[Waiting, ...] = ()

    def line(self, item_id: str) -> OrderLine | None:
        """The order line ``item_id``, if known."""
        return next((ln for ln in self.lines if ln.item_id == item_id), None)

    def fulfillment_order(self, fulfillment_order_id: str) -> FulfillmentOrder | None:
        """The fulfillment order, if known."""
        return next(
            (f for f in self.fulfillment_orders if f.id == fulfillment_order_id), None
        )
