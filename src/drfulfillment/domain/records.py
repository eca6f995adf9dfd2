"""Per-order records of what follows fulfilment: returns, refunds, charges, DR fulfillments.

Each record is merged from DR's events in any order: its lifecycle state advances by
:meth:`Rulebook.merge` (stale reports change nothing; within a cycle the newer
``(createdTime, event id)`` stamp wins), amounts that DR says never change must not, and
lines a later event omits are kept from the earlier one. Collections on
:class:`~drfulfillment.domain.state.OrderState` are tuples sorted by id.
"""

from __future__ import annotations

import enum
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
    "Capture",
    "Charge",
    "ChargeCancel",
    "ChargeRefund",
    "DrFulfillment",
    "DrFulfillmentLine",
    "FulfillmentReturn",
    "Refund",
    "RefundLine",
    "Return",
    "ReturnLine",
    "ReturnRequest",
    "ReturnRequestKind",
    "Stamp",
]

Stamp = tuple[str, str]
"""``(event createdTime, event id)``: which of two reports is newer."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class ReturnLine:
    """A return line: ``quantity`` units of ``line_id``, ``accepted`` once DR says so.

    ``line_id`` is a fulfillment-order line for fulfillment returns, an order line for
    third-party returns.
    """

    line_id: str
    quantity: int
    accepted: int | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class FulfillmentReturn:
    """A DR-coordinated return; ``refund_requested`` once its ``POST /refunds`` was emitted.

    ``refunded`` holds ``(FO line, units)`` the engine asked DR to refund for it.
    """

    id: str
    fulfillment_order_id: str
    status: FulfillmentReturnStatus
    lines: tuple[ReturnLine, ...]
    reason: str | None = None
    refund_requested: bool = False
    refunded: tuple[tuple[str, int], ...] = ()

    def refunded_units(self, line_id: str) -> int:
        """Units of the FO line the engine asked DR to refund."""
        return sum(q for (lid, q) in self.refunded if lid == line_id)

    def returned_units(self, line_id: str) -> int:
        """Units of the FO line back at the warehouse (0 unless ``accepted``)."""
        if self.status is not FulfillmentReturnStatus.ACCEPTED:
            return 0
        return _accepted(self.lines, line_id)

    def open_units(self, line_id: str) -> int:
        """Units of the FO line on their way back (``created`` or ``pending``)."""
        if self.status in (
            FulfillmentReturnStatus.ACCEPTED,
            FulfillmentReturnStatus.REJECTED,
        ):
            return 0
        return sum(ln.quantity for ln in self.lines if ln.line_id == line_id)


@attrs.frozen(kw_only=True, weakref_slot=False)
class Return:
    """A third-party-coordinated return (Returns API); DR refunds it once accepted."""

    id: str
    status: ReturnStatus
    lines: tuple[ReturnLine, ...]
    reason: str | None = None

    def returned_units(self, item_id: str) -> int:
        """Units of the order line accepted back (DR's ``quantityAccepted``)."""
        return sum(
            ln.accepted
            if ln.accepted is not None
            else (ln.quantity if self.status is ReturnStatus.ACCEPTED else 0)
            for ln in self.lines
            if ln.line_id == item_id
        )

    def open_units(self, item_id: str) -> int:
        """Units of the order line in the return and not yet accepted."""
        return sum(
            ln.quantity for ln in self.lines if ln.line_id == item_id
        ) - self.returned_units(item_id)


def _accepted(lines: tuple[ReturnLine, ...], line_id: str) -> int:
    return sum(
        ln.quantity if ln.accepted is None else ln.accepted
        for ln in lines
        if ln.line_id == line_id
    )


class ReturnRequestKind(enum.Enum):
    """Which DR call a merchant's return request becomes."""

    FULFILLMENT_RETURN = "fulfillment_return"
    """``POST /fulfillment-returns`` (DR-coordinated)."""
    RETURN = "return"
    """``POST /returns`` (third-party-coordinated)."""
    ACCEPT = "accept"
    """``POST /returns/{id}`` accepting a third-party return."""


@attrs.frozen(kw_only=True, weakref_slot=False)
class ReturnRequest:
    """A merchant's return request, per DR call; ``sent`` once its command was emitted.

    ``units`` are ``(line id, quantity)``: fulfillment-order lines for a fulfillment
    return, order lines otherwise. Returns are held while the order is disputed.
    """

    request_id: str
    kind: ReturnRequestKind
    units: tuple[tuple[str, int], ...]
    fulfillment_order_id: str | None = None
    return_id: str | None = None
    reason: str | None = None
    whole: bool = False
    """An acceptance of the whole return (``{"state": "accepted"}``)."""
    sent: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class RefundLine:
    """``quantity`` units of order line ``item_id`` in a refund."""

    item_id: str
    quantity: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class Refund:
    """A DR refund (``refund.*``) and its lifecycle state."""

    id: str
    status: RefundStatus
    stamp: Stamp
    amount: Decimal | None = None
    refunded_amount: Decimal | None = None
    lines: tuple[RefundLine, ...] = ()
    reason: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Capture:
    """A capture on a charge; ``fulfillment_id`` names the ``POST /fulfillments`` behind it."""

    id: str
    status: CaptureStatus
    stamp: Stamp
    amount: Decimal | None = None
    created_time: str | None = None
    fulfillment_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ChargeCancel:
    """A cancel (authorization reversal) on a charge."""

    id: str
    status: ChargeCancelStatus
    stamp: Stamp
    amount: Decimal | None = None
    created_time: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ChargeRefund:
    """A refund as a charge shows it (DR aggregates these; S6 "Refunds")."""

    id: str
    status: ChargeRefundStatus
    stamp: Stamp
    amount: Decimal | None = None
    created_time: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class Charge:
    """A charge on the order (several with store credit or secondary sources)."""

    id: str
    stamp: Stamp
    status: ChargeStatus | None = None
    amount: Decimal | None = None
    currency: str | None = None
    captures: tuple[Capture, ...] = ()
    cancels: tuple[ChargeCancel, ...] = ()
    refunds: tuple[ChargeRefund, ...] = ()


@attrs.frozen(kw_only=True, weakref_slot=False)
class DrFulfillmentLine:
    """Units of an order line DR recorded as fulfilled (captured) and cancelled."""

    item_id: str
    quantity: int = 0
    cancel_quantity: int = 0


@attrs.frozen(kw_only=True, weakref_slot=False)
class DrFulfillment:
    """A DR fulfillment seen in ``fulfillment.created`` (ours or anyone's)."""

    id: str
    shipment_id: str | None
    lines: tuple[DrFulfillmentLine, ...]
