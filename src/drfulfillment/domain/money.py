"""The per-order money ledger and the reconciliation report.

Per charge (DR reference §6.3; several charges with store credit or secondary sources):

* ``captured + cancelled <= amount`` over completed operations: a completed operation
  never un-completes, so a fact that breaks this can never be repaired and is refused;
* once the charge is ``complete`` or ``cancelled``, ``captured + cancelled == amount``;
* ``refunded <= captured`` (pending captures included: DR completes a refund while its
  capture is still pending, as its own example shows).

The last two depend on every operation having been seen, and DR delivers in any order,
so they are *reported* (:func:`reconciliation`), never used to refuse an event; the
property tests check them on complete histories.

:func:`reconciliation` also compares, per order line, what the engine reported to DR
with what DR recorded (``fulfillment.created``), what came back and what was refunded.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from drfulfillment.domain.errors import LedgerViolation
from drfulfillment.domain.ledger import known_returned
from drfulfillment.domain.lifecycles import (
    CaptureStatus,
    ChargeCancelStatus,
    ChargeRefundStatus,
    ChargeStatus,
    RefundStatus,
)
from drfulfillment.domain.records import Charge
from drfulfillment.domain.state import OrderState

__all__ = [
    "CaptureLink",
    "ChargeBalance",
    "LineBalance",
    "Reconciliation",
    "charge_balance",
    "check_money",
    "reconciliation",
]

_ZERO = Decimal(0)


@attrs.frozen(kw_only=True)
class ChargeBalance:
    """What happened to one charge's money."""

    charge_id: str
    status: ChargeStatus | None
    amount: Decimal | None
    captured: Decimal
    capturing: Decimal
    """Captures still pending."""
    cancelled: Decimal
    refunded: Decimal
    failed_captures: tuple[str, ...]

    @property
    def settled(self) -> bool:
        """The charge is final and its operations add up to its amount."""
        return (
            self.status in (ChargeStatus.COMPLETE, ChargeStatus.CANCELLED)
            and self.amount is not None
            and self.captured + self.cancelled == self.amount
        )


@attrs.frozen(kw_only=True)
class CaptureLink:
    """A capture and the ``POST /fulfillments`` behind it (``captures[].fulfillmentId``).

    ``items`` are the ``(order line, units)`` DR recorded for that fulfillment, when its
    ``fulfillment.created`` was seen; ``None`` otherwise.
    """

    capture_id: str
    charge_id: str
    status: CaptureStatus
    amount: Decimal | None
    fulfillment_id: str | None
    items: tuple[tuple[str, int], ...] | None


@attrs.frozen(kw_only=True)
class LineBalance:
    """One order line: what the engine reported, what DR recorded, what came back."""

    item_id: str
    quantity: int
    reported_fulfilled: int
    reported_cancelled: int
    dr_fulfilled: int | None
    """Units DR's ``fulfillment.created`` events show; ``None`` if none were seen."""
    dr_cancelled: int | None
    returned: int
    refund_requested: int
    """Units the engine asked DR to refund (accepted fulfillment returns)."""
    refunded: int
    """Units in DR's refunds that did not fail."""


@attrs.frozen(kw_only=True)
class Reconciliation:
    """The order's money and units side by side, and every difference found."""

    order_id: str
    lines: tuple[LineBalance, ...]
    charges: tuple[ChargeBalance, ...]
    captures: tuple[CaptureLink, ...]
    captured: Decimal
    cancelled: Decimal
    refunded: Decimal
    differences: tuple[str, ...]

    @property
    def balanced(self) -> bool:
        """No difference found."""
        return not self.differences


def _total(amounts: list[Decimal | None]) -> Decimal:
    return sum((a for a in amounts if a is not None), _ZERO)


def charge_balance(charge: Charge) -> ChargeBalance:
    """Sum a charge's operations by state."""
    return ChargeBalance(
        charge_id=charge.id,
        status=charge.status,
        amount=charge.amount,
        captured=_total(
            [c.amount for c in charge.captures if c.status is CaptureStatus.COMPLETE]
        ),
        capturing=_total(
            [c.amount for c in charge.captures if c.status is CaptureStatus.PENDING]
        ),
        cancelled=_total(
            [
                c.amount
                for c in charge.cancels
                if c.status is ChargeCancelStatus.COMPLETE
            ]
        ),
        refunded=_total(
            [
                r.amount
                for r in charge.refunds
                if r.status is ChargeRefundStatus.COMPLETE
            ]
        ),
        failed_captures=tuple(
            c.id for c in charge.captures if c.status is CaptureStatus.FAILED
        ),
    )


def check_money(state: OrderState, input_id: str | None) -> None:
    """Refuse a state whose completed operations exceed a charge's amount."""
    for charge in state.charges:
        b = charge_balance(charge)
        if b.amount is not None and b.captured + b.cancelled > b.amount:
            raise LedgerViolation(
                input_id,
                None,
                f"charge {charge.id}: captured {b.captured} + cancelled {b.cancelled} "
                f"exceed its amount {b.amount}",
            )


def _line(state: OrderState, item_id: str, quantity: int) -> LineBalance:
    line = state.line(item_id)
    dr = [ln for f in state.fulfillments for ln in f.lines if ln.item_id == item_id]
    seen = bool(state.fulfillments)
    asked = sum(
        fr.refunded_units(ln.id)
        for fr in state.fulfillment_returns
        for fo in state.fulfillment_orders
        if fo.id == fr.fulfillment_order_id
        for ln in fo.lines
        if ln.upstream_id == item_id
    )
    return LineBalance(
        item_id=item_id,
        quantity=quantity,
        reported_fulfilled=line.fulfilled if line else 0,
        reported_cancelled=line.cancelled if line else 0,
        dr_fulfilled=sum(ln.quantity for ln in dr) if seen else None,
        dr_cancelled=sum(ln.cancel_quantity for ln in dr) if seen else None,
        returned=known_returned(state, item_id),
        refund_requested=asked,
        refunded=sum(
            ln.quantity
            for r in state.refunds
            if r.status not in (RefundStatus.FAILED, RefundStatus.EXPIRED)
            for ln in r.lines
            if ln.item_id == item_id
        ),
    )


def _line_differences(b: LineBalance) -> list[str]:
    out = []
    if b.dr_fulfilled is not None and b.dr_fulfilled > b.reported_fulfilled:
        out.append(
            f"line {b.item_id}: DR recorded {b.dr_fulfilled} units fulfilled, the "
            f"engine reported {b.reported_fulfilled} (a capture the engine did not send)"
        )
    if b.dr_cancelled is not None and b.dr_cancelled > b.reported_cancelled:
        out.append(
            f"line {b.item_id}: DR recorded {b.dr_cancelled} units cancelled, the "
            f"engine reported {b.reported_cancelled}"
        )
    if (b.dr_fulfilled or 0) + (b.dr_cancelled or 0) > b.quantity:
        out.append(f"line {b.item_id}: DR recorded more units than its {b.quantity}")
    # A refund with no return at all is a goodwill refund, not a difference; beyond
    # what came back, it may be a return refunded twice (ours and DR's).
    if b.refunded > b.returned > 0:
        out.append(
            f"line {b.item_id}: {b.refunded} units refunded but {b.returned} returned"
        )
    return out


def _charge_differences(b: ChargeBalance) -> list[str]:
    out = []
    final = b.status in (ChargeStatus.COMPLETE, ChargeStatus.CANCELLED)
    if final and b.amount is not None and b.captured + b.cancelled != b.amount:
        out.append(
            f"charge {b.charge_id} is {b.status.value if b.status else ''} but captured "
            f"{b.captured} + cancelled {b.cancelled} != its amount {b.amount}"
        )
    if b.refunded > b.captured + b.capturing:
        out.append(
            f"charge {b.charge_id}: refunded {b.refunded} exceeds captured "
            f"{b.captured + b.capturing}"
        )
    out += [f"charge {b.charge_id}: capture {c} failed" for c in b.failed_captures]
    return out


def _captures(state: OrderState) -> tuple[CaptureLink, ...]:
    recorded = {f.id: f for f in state.fulfillments}
    links = []
    for charge in state.charges:
        for op in charge.captures:
            f = recorded.get(op.fulfillment_id or "")
            links.append(
                CaptureLink(
                    capture_id=op.id,
                    charge_id=charge.id,
                    status=op.status,
                    amount=op.amount,
                    fulfillment_id=op.fulfillment_id,
                    items=(
                        tuple(
                            (ln.item_id, ln.quantity) for ln in f.lines if ln.quantity
                        )
                        if f is not None
                        else None
                    ),
                )
            )
    return tuple(links)


def reconciliation(state: OrderState) -> Reconciliation:
    """What was reported per line, what DR captured and cancelled, and any difference."""
    lines = tuple(_line(state, ln.item_id, ln.quantity) for ln in state.lines)
    charges = tuple(charge_balance(c) for c in state.charges)
    captures = _captures(state)
    differences = [d for b in lines for d in _line_differences(b)]
    differences += [d for b in charges for d in _charge_differences(b)]
    if state.fulfillments:
        differences += [
            f"capture {c.capture_id} names fulfillment {c.fulfillment_id}, which DR's "
            "fulfillment.created events do not show"
            for c in captures
            if c.fulfillment_id is not None and c.items is None
        ]
    differences += [
        f"refund {r.id} failed"
        for r in state.refunds
        if r.status in (RefundStatus.FAILED, RefundStatus.EXPIRED)
    ]
    return Reconciliation(
        order_id=state.order_id,
        lines=lines,
        charges=charges,
        captures=captures,
        captured=sum((b.captured for b in charges), _ZERO),
        cancelled=sum((b.cancelled for b in charges), _ZERO),
        refunded=sum((b.refunded for b in charges), _ZERO),
        differences=tuple(differences),
    )
