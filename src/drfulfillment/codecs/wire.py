"""DR JSON shapes that differ from the engine's inputs, and their conversion.

Only where DR nests what the engine keeps flat: an order item's ``tax.amount`` and
``productDetails.physical``, an order's ``stateTransitions`` map and ``state`` string,
a shipment's flat tracking fields. Everything else is structured straight into the
domain's input types (:mod:`drfulfillment.domain.inputs`).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from drfulfillment.domain import inputs
from drfulfillment.domain.lifecycles import OrderStatus
from drfulfillment.domain.snapshots import ChargeSnapshot

__all__ = [
    "Backorder",
    "Order",
    "OrderItem",
    "Payment",
    "Shipment",
    "ShipmentReport",
]

_ORDER_STATES = {s.value: s for s in OrderStatus}


@attrs.frozen(kw_only=True)
class Amount:
    """``{"amount": ...}`` as DR nests it (``tax``)."""

    amount: Decimal | None = None


@attrs.frozen(kw_only=True)
class ProductDetails:
    """The part of ``productDetails`` the engine reads (expanded events add ``physical``)."""

    physical: bool | None = None


@attrs.frozen(kw_only=True)
class OrderItem:
    """DR ``OrderItem``."""

    id: str
    sku_id: str | None = None
    quantity: int = attrs.field(validator=attrs.validators.ge(0))
    amount: Decimal | None = None
    tax: Amount | None = None
    product_details: ProductDetails | None = None


@attrs.frozen(kw_only=True)
class Payment:
    """The order's ``payment``: only its ``charges[]``."""

    charges: tuple[ChargeSnapshot, ...] = ()


@attrs.frozen(kw_only=True)
class Order:
    """DR ``Order``, as ``order.*`` events carry it."""

    id: str
    created_time: str | None = None
    state: str | None = None
    state_transitions: dict[str, str] | None = None
    currency: str | None = None
    locale: str | None = None
    checkout_id: str | None = None
    email: str | None = None
    ship_to: inputs.Party | None = None
    bill_to: inputs.Party | None = None
    shipping_choice: inputs.ShippingChoice | None = None
    items: tuple[OrderItem, ...] = ()
    payment: Payment | None = None

    def to_domain(self) -> inputs.OrderSnapshot:
        """The engine's view; an order state DR adds later reads as ``None``."""
        return inputs.OrderSnapshot(
            id=self.id,
            created_time=self.created_time,
            state=_ORDER_STATES.get(self.state) if self.state else None,
            state_transitions=tuple(sorted(self.state_transitions or {})),
            currency=self.currency,
            locale=self.locale,
            checkout_id=self.checkout_id,
            email=self.email,
            ship_to=self.ship_to,
            bill_to=self.bill_to,
            shipping_choice=self.shipping_choice,
            charges=self.payment.charges if self.payment else (),
            items=tuple(
                inputs.OrderItemSnapshot(
                    id=i.id,
                    sku_id=i.sku_id,
                    quantity=i.quantity,
                    amount=i.amount,
                    tax_amount=i.tax.amount if i.tax else None,
                    physical=i.product_details.physical if i.product_details else None,
                )
                for i in self.items
            ),
        )


@attrs.frozen(kw_only=True)
class Backorder:
    """``fulfillment_order.backordered``'s object: the FO id and its backordered lines."""

    id: str | None = None
    upstream_id: str | None = None
    items: tuple[inputs.BackorderItem, ...] = ()


@attrs.frozen(kw_only=True)
class Shipment:
    """DR ``Shipment`` with its flat tracking fields."""

    id: str
    fulfillment_order_id: str
    fulfillment_order_upstream_id: str | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    items: tuple[inputs.ShipmentItemSnapshot, ...] = ()

    def to_domain(self) -> inputs.ShipmentSnapshot:
        """The engine's view of the shipment."""
        return inputs.ShipmentSnapshot(
            id=self.id,
            fulfillment_order_id=self.fulfillment_order_id,
            fulfillment_order_upstream_id=self.fulfillment_order_upstream_id,
            tracking=inputs.Tracking(
                company=self.tracking_company,
                number=self.tracking_number,
                url=self.tracking_url,
            ),
            items=self.items,
        )


@attrs.frozen(kw_only=True)
class ShipmentReport:
    """The ``report_shipment`` request line, with DR's flat tracking field names."""

    request_id: str
    order_id: str
    items: tuple[inputs.RequestedUnits, ...]
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None

    def to_domain(self) -> inputs.ReportShipment:
        """The engine's request."""
        return inputs.ReportShipment(
            request_id=self.request_id,
            order_id=self.order_id,
            items=self.items,
            tracking=inputs.Tracking(
                company=self.tracking_company,
                number=self.tracking_number,
                url=self.tracking_url,
            ),
        )
