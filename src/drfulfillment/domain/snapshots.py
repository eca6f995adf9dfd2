"""What DR shows of what follows fulfilment: charges, refunds, returns, fulfillments.

Typed views of the ``data.object`` of ``order.charge.*``, ``refund.*``, ``return.*``,
``fulfillment_return.*`` and ``fulfillment.created`` events (DR reference §4, §6.3), and
of the ``payment.charges[]`` an order carries. Only what the engine uses is kept; the
codec (:mod:`drfulfillment.codecs`) builds them and ignores every other field. A state
DR adds later reads as ``None`` (DR calls new enum values non-breaking).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from drfulfillment.domain.lifecycles import (
    CaptureStatus,
    ChargeCancelStatus,
    ChargeRefundStatus,
    ChargeStatus,
    FulfillmentReturnStatus,
    RefundStatus,
    ReturnStatus,
)

__all__ = [
    "CaptureSnapshot",
    "ChargeCancelSnapshot",
    "ChargeRefundSnapshot",
    "ChargeSnapshot",
    "FulfillmentItemSnapshot",
    "FulfillmentReturnItemSnapshot",
    "FulfillmentReturnSnapshot",
    "FulfillmentSnapshot",
    "RefundItemSnapshot",
    "RefundSnapshot",
    "ReturnItemSnapshot",
    "ReturnSnapshot",
]

_nonneg = attrs.validators.ge(0)
_opt_nonneg = attrs.validators.optional(_nonneg)
_opt_money = attrs.validators.optional(attrs.validators.ge(Decimal(0)))


@attrs.frozen(kw_only=True)
class CaptureSnapshot:
    """One ``captures[]`` entry; ``fulfillment_id`` links it to its ``POST /fulfillments``."""

    id: str | None = None
    created_time: str | None = None
    amount: Decimal | None = attrs.field(default=None, validator=_opt_money)
    state: CaptureStatus | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    fulfillment_id: str | None = None


@attrs.frozen(kw_only=True)
class ChargeCancelSnapshot:
    """One ``cancels[]`` entry of a charge."""

    id: str | None = None
    created_time: str | None = None
    amount: Decimal | None = attrs.field(default=None, validator=_opt_money)
    state: ChargeCancelStatus | None = None


@attrs.frozen(kw_only=True)
class ChargeRefundSnapshot:
    """One ``refunds[]`` entry of a charge (DR aggregates these; they are not refunds)."""

    id: str | None = None
    created_time: str | None = None
    amount: Decimal | None = attrs.field(default=None, validator=_opt_money)
    state: ChargeRefundStatus | None = None


@attrs.frozen(kw_only=True)
class ChargeSnapshot:
    """A DR ``Charge``: its amount never changes; its operations accumulate."""

    id: str
    order_id: str | None = None
    currency: str | None = None
    amount: Decimal | None = attrs.field(default=None, validator=_opt_money)
    state: ChargeStatus | None = None
    captures: tuple[CaptureSnapshot, ...] = ()
    cancels: tuple[ChargeCancelSnapshot, ...] = ()
    refunds: tuple[ChargeRefundSnapshot, ...] = ()


@attrs.frozen(kw_only=True)
class RefundItemSnapshot:
    """One line of a refund: ``quantity`` units of order line ``item_id``."""

    item_id: str | None = None
    quantity: int | None = attrs.field(default=None, validator=_opt_nonneg)
    amount: Decimal | None = None
    refunded_amount: Decimal | None = None


@attrs.frozen(kw_only=True)
class RefundSnapshot:
    """A DR refund (``OrderRefund``), as ``refund.*`` events carry it."""

    id: str
    order_id: str | None = None
    currency: str | None = None
    state: RefundStatus | None = None
    amount: Decimal | None = attrs.field(default=None, validator=_opt_money)
    refunded_amount: Decimal | None = attrs.field(default=None, validator=_opt_money)
    reason: str | None = None
    items: tuple[RefundItemSnapshot, ...] = ()


@attrs.frozen(kw_only=True)
class FulfillmentReturnItemSnapshot:
    """A fulfillment-return line: units of a fulfillment-order line."""

    fulfillment_order_item_id: str
    quantity: int = attrs.field(validator=_nonneg)
    quantity_accepted: int | None = attrs.field(default=None, validator=_opt_nonneg)


@attrs.frozen(kw_only=True)
class FulfillmentReturnSnapshot:
    """A DR fulfillment return (``GlobalFulfillmentReturnResponse``)."""

    id: str
    fulfillment_order_id: str
    upstream_id: str | None = None
    state: FulfillmentReturnStatus | None = None
    reason: str | None = None
    items: tuple[FulfillmentReturnItemSnapshot, ...] = ()


@attrs.frozen(kw_only=True)
class ReturnItemSnapshot:
    """A third-party return line: units of order line ``item_id``."""

    item_id: str
    quantity: int = attrs.field(validator=_nonneg)
    quantity_accepted: int | None = attrs.field(default=None, validator=_opt_nonneg)


@attrs.frozen(kw_only=True)
class ReturnSnapshot:
    """A DR return (Returns API, ``ReturnsResponse``)."""

    id: str
    order_id: str
    state: ReturnStatus | None = None
    reason: str | None = None
    items: tuple[ReturnItemSnapshot, ...] = ()


@attrs.frozen(kw_only=True)
class FulfillmentItemSnapshot:
    """A line of a DR fulfillment: units captured (``quantity``) and cancelled."""

    item_id: str
    quantity: int | None = attrs.field(default=None, validator=_opt_nonneg)
    cancel_quantity: int | None = attrs.field(default=None, validator=_opt_nonneg)


@attrs.frozen(kw_only=True)
class FulfillmentSnapshot:
    """A DR fulfillment (``fulfillment.created``): what DR recorded of a ``POST``."""

    id: str
    order_id: str | None = None
    shipment_id: str | None = None
    items: tuple[FulfillmentItemSnapshot, ...] = ()
