"""Unit tests of ``domain/money.py`` on hand-built ``OrderState`` values.

Charge balances summed by operation state, ``settled``, the ``check_money`` refusal,
and the reconciliation report: per line what the engine reported against what DR
recorded, what came back and what was refunded; per charge its money; every kind of
difference, written out in full.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from drfulfillment.domain.errors import LedgerViolation
from drfulfillment.domain.lifecycles import (
    CaptureStatus,
    ChargeCancelStatus,
    ChargeRefundStatus,
    ChargeStatus,
    FulfillmentReturnStatus,
    RefundStatus,
    ReturnStatus,
)
from drfulfillment.domain.money import (
    ChargeBalance,
    LineBalance,
    charge_balance,
    check_money,
    reconciliation,
)
from drfulfillment.domain.records import (
    Capture,
    Charge,
    ChargeCancel,
    ChargeRefund,
    DrFulfillment,
    DrFulfillmentLine,
    FulfillmentReturn,
    Refund,
    RefundLine,
    Return,
    ReturnLine,
)
from drfulfillment.domain.state import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    IntegrationModel,
    OrderLine,
    OrderState,
)

ORDER = "ord-1"
ITEM = "item-1"
ITEM_B = "item-2"
STAMP = ("2021-11-03T09:00:00.000000Z", "e1")
C, P, F = "complete", "pending", "failed"


def D(value: str | int) -> Decimal:  # noqa: N802 - reads like a literal
    """A decimal amount."""
    return Decimal(value)


def a_charge(
    charge_id: str = "ch-1",
    amount: str | None = "60",
    status: ChargeStatus | None = ChargeStatus.CAPTURABLE,
    *,
    captures: tuple[tuple[str, str | None, str], ...] = (),
    cancels: tuple[tuple[str, str | None, str], ...] = (),
    refunds: tuple[tuple[str, str | None, str], ...] = (),
) -> Charge:
    """A charge; operations are ``(id, amount, state)``."""

    def amt(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return Charge(
        id=charge_id,
        stamp=STAMP,
        status=status,
        amount=amt(amount),
        captures=tuple(
            Capture(id=i, status=CaptureStatus(s), stamp=STAMP, amount=amt(a))
            for i, a, s in captures
        ),
        cancels=tuple(
            ChargeCancel(id=i, status=ChargeCancelStatus(s), stamp=STAMP, amount=amt(a))
            for i, a, s in cancels
        ),
        refunds=tuple(
            ChargeRefund(id=i, status=ChargeRefundStatus(s), stamp=STAMP, amount=amt(a))
            for i, a, s in refunds
        ),
    )


def line(
    item_id: str = ITEM, quantity: int = 3, *, fulfilled: int = 0, cancelled: int = 0
) -> OrderLine:
    """An order line with ``fulfilled``/``cancelled`` units reported to DR."""
    return OrderLine(
        item_id=item_id,
        sku_id=None,
        quantity=quantity,
        physical=True,
        fulfilled=fulfilled,
        cancelled=cancelled,
    )


def order(**fields: Any) -> OrderState:
    """A distributed order with the given fields (lines default to one of 3 units)."""
    fields.setdefault("lines", (line(),))
    return OrderState(order_id=ORDER, model=IntegrationModel.DISTRIBUTED, **fields)


FO = FulfillmentOrder(
    id="fo-1",
    order_id=ORDER,
    lines=(
        FulfillmentOrderLine(
            id="fl-1", upstream_id=ITEM, inventory_item_id=None, quantity=3
        ),
    ),
)


def accepted_return(
    quantity: int, accepted: int | None, asked: bool
) -> FulfillmentReturn:
    """An accepted fulfillment return of ``fl-1``; ``asked``: its refund was emitted."""
    return FulfillmentReturn(
        id="fr-1",
        fulfillment_order_id="fo-1",
        status=FulfillmentReturnStatus.ACCEPTED,
        lines=(ReturnLine(line_id="fl-1", quantity=quantity, accepted=accepted),),
        refund_requested=asked,
        refunded=(
            (("fl-1", quantity if accepted is None else accepted),) if asked else ()
        ),
    )


def dr(fulfillment_id: str, *lines: tuple[str, int, int]) -> DrFulfillment:
    """A DR fulfillment with ``(item, quantity, cancel quantity)`` lines."""
    return DrFulfillment(
        id=fulfillment_id,
        shipment_id=None,
        lines=tuple(
            DrFulfillmentLine(item_id=i, quantity=q, cancel_quantity=c)
            for i, q, c in lines
        ),
    )


def a_refund(refund_id: str, status: RefundStatus, quantity: int) -> Refund:
    """A DR refund of ``quantity`` units of ``ITEM``."""
    lines = (RefundLine(item_id=ITEM, quantity=quantity),)
    return Refund(id=refund_id, status=status, stamp=STAMP, lines=lines)


class TestChargeBalance:
    """``charge_balance`` sums each kind of operation by its state."""

    def test_sums_by_state(self) -> None:
        """Complete captures are captured, pending ones capturing; only complete cancels
        and refunds count; failed captures are listed."""
        ch = a_charge(
            captures=(
                ("c1", "10", C),
                ("c2", "15.5", C),
                ("c3", "5", P),
                ("c4", "7", F),
            ),
            cancels=(("x1", "20", C), ("x2", "3", P), ("x3", "4", F)),
            refunds=(("r1", "6", C), ("r2", "2", P), ("r3", "1", F), ("r4", None, C)),
        )
        assert charge_balance(ch) == ChargeBalance(
            charge_id="ch-1",
            status=ChargeStatus.CAPTURABLE,
            amount=D(60),
            captured=D("25.5"),
            capturing=D(5),
            cancelled=D(20),
            refunded=D(6),
            failed_captures=("c4",),
        )

    @pytest.mark.parametrize(
        ("status", "amount", "captured", "cancelled", "settled"),
        [
            (ChargeStatus.COMPLETE, "60", "40", "20", True),
            (ChargeStatus.CANCELLED, "60", "0", "60", True),
            (ChargeStatus.COMPLETE, "60", "40", "10", False),
            (ChargeStatus.CAPTURABLE, "60", "40", "20", False),
            (ChargeStatus.FAILED, "0", "0", "0", False),
            (ChargeStatus.COMPLETE, None, "40", "20", False),
            (None, "60", "60", "0", False),
        ],
    )
    def test_settled(
        self,
        status: ChargeStatus | None,
        amount: str | None,
        captured: str,
        cancelled: str,
        settled: bool,
    ) -> None:
        """Settled: complete or cancelled, and captured + cancelled is the amount."""
        ch = a_charge(
            amount=amount,
            status=status,
            captures=(("c1", captured, C),),
            cancels=(("x1", cancelled, C),),
        )
        assert charge_balance(ch).settled is settled


class TestCheckMoney:
    """``check_money`` refuses completed operations beyond a charge's amount."""

    def test_refuses_excess(self) -> None:
        """Captured + cancelled above the amount: ``LedgerViolation`` with the sums."""
        bad = a_charge(
            "ch-2", "60", captures=(("c1", "50", C),), cancels=(("x", "11", C),)
        )
        state = order(charges=(a_charge("ch-1"), bad))
        with pytest.raises(LedgerViolation) as info:
            check_money(state, "evt-9")
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-9",
            None,
            "charge ch-2: captured 50 + cancelled 11 exceed its amount 60",
        )

    @pytest.mark.parametrize(
        "charge",
        [
            a_charge(captures=(("c1", "50", C),), cancels=(("x1", "10", C),)),
            a_charge(captures=(("c1", "50", C), ("c2", "50", P))),
            a_charge(cancels=(("x1", "60", C), ("x2", "60", F))),
            a_charge(amount=None, captures=(("c1", "500", C),)),
        ],
        ids=["exact", "pending-capture", "failed-cancel", "no-amount"],
    )
    def test_accepts_what_can_still_be_true(self, charge: Charge) -> None:
        """Exact totals, pending or failed operations, unknown amounts are not refused."""
        check_money(order(charges=(charge,)), "evt-1")


class TestReconciliationLines:
    """Per line: reported against DR's record, returned, refund asked, refunded."""

    def test_dr_none_until_a_fulfillment_is_seen(self) -> None:
        """No ``fulfillment.created`` seen: DR's figures are unknown (``None``)."""
        rec = reconciliation(order(lines=(line(fulfilled=2, cancelled=1),)))
        assert rec.lines == (
            LineBalance(
                item_id=ITEM,
                quantity=3,
                reported_fulfilled=2,
                reported_cancelled=1,
                dr_fulfilled=None,
                dr_cancelled=None,
                returned=0,
                refund_requested=0,
                refunded=0,
            ),
        )
        assert rec.balanced

    def test_dr_figures_summed_over_fulfillments(self) -> None:
        """DR's units are summed over its fulfillments; a line it never named shows 0."""
        state = order(
            lines=(line(fulfilled=2, cancelled=1), line(ITEM_B, 1)),
            fulfillments=(dr("f1", (ITEM, 1, 0)), dr("f2", (ITEM, 1, 1))),
        )
        a, b = reconciliation(state).lines
        assert (a.dr_fulfilled, a.dr_cancelled) == (2, 1)
        assert (b.dr_fulfilled, b.dr_cancelled) == (0, 0)
        assert reconciliation(state).differences == ()

    def test_returned_refund_requested_and_refunded(self) -> None:
        """Returned units by either kind of return; refunds that did not fail count."""
        fr = accepted_return(2, 1, asked=True)
        ret = Return(
            id="ret-1",
            status=ReturnStatus.ACCEPTED,
            lines=(ReturnLine(line_id=ITEM, quantity=1),),
        )
        refunds = (
            a_refund("re-1", RefundStatus.SUCCEEDED, 1),
            a_refund("re-2", RefundStatus.PENDING, 1),
            a_refund("re-3", RefundStatus.FAILED, 5),
            a_refund("re-4", RefundStatus.EXPIRED, 5),
        )
        state = order(
            fulfillment_orders=(FO,),
            fulfillment_returns=(fr,),
            returns=(ret,),
            refunds=refunds,
        )
        (b,) = reconciliation(state).lines
        assert (b.returned, b.refund_requested, b.refunded) == (2, 1, 2)


class TestDifferences:
    """Each kind of difference, worded for a person to act on."""

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            (
                {"fulfillments": (dr("f1", (ITEM, 2, 0)),)},
                "line item-1: DR recorded 2 units fulfilled, the engine reported 1 "
                "(a capture the engine did not send)",
            ),
            (
                {"fulfillments": (dr("f1", (ITEM, 1, 1)),)},
                "line item-1: DR recorded 1 units cancelled, the engine reported 0",
            ),
            (
                {
                    "charges": (
                        a_charge(
                            status=ChargeStatus.COMPLETE, captures=(("c", "50", C),)
                        ),
                    )
                },
                "charge ch-1 is complete but captured 50 + cancelled 0 != its amount 60",
            ),
            (
                {
                    "charges": (
                        a_charge(
                            captures=(("c", "5", C), ("d", "4", P)),
                            refunds=(("r", "10", C),),
                        ),
                    )
                },
                "charge ch-1: refunded 10 exceeds captured 9",
            ),
            (
                {"charges": (a_charge(captures=(("c9", "5", F),)),)},
                "charge ch-1: capture c9 failed",
            ),
            (
                {"refunds": (a_refund("re-1", RefundStatus.FAILED, 1),)},
                "refund re-1 failed",
            ),
            (
                {"refunds": (a_refund("re-2", RefundStatus.EXPIRED, 1),)},
                "refund re-2 failed",
            ),
        ],
        ids=[
            "dr-fulfilled",
            "dr-cancelled",
            "unsettled",
            "over-refund",
            "capture",
            "refund",
            "expired",
        ],
    )
    def test_each_kind(self, fields: dict[str, object], expected: str) -> None:
        """One fact, one difference, in these exact words; not balanced."""
        rec = reconciliation(order(lines=(line(fulfilled=1),), **fields))
        assert rec.differences == (expected,)
        assert not rec.balanced

    def test_dr_recorded_more_than_the_line(self) -> None:
        """DR units beyond the line's quantity are a difference of their own."""
        state = order(
            lines=(line(quantity=2, fulfilled=2),),
            fulfillments=(dr("f1", (ITEM, 2, 0)), dr("f2", (ITEM, 0, 1))),
        )
        assert reconciliation(state).differences == (
            "line item-1: DR recorded 1 units cancelled, the engine reported 0",
            "line item-1: DR recorded more units than its 2",
        )

    def test_refunded_beyond_returned(self) -> None:
        """More units refunded than returned is a difference once anything came back;
        a refund with no return at all (goodwill) is not."""
        refunds = (a_refund("re-1", RefundStatus.SUCCEEDED, 2),)
        for returns, expected in (
            ((), ()),
            (
                (accepted_return(1, None, False),),
                ("line item-1: 2 units refunded but 1 returned",),
            ),
            (
                (accepted_return(1, None, True),),
                ("line item-1: 2 units refunded but 1 returned",),
            ),
        ):
            state = order(
                fulfillment_orders=(FO,),
                fulfillment_returns=returns,
                refunds=refunds,
            )
            assert reconciliation(state).differences == expected

    def test_totals_over_several_charges(self) -> None:
        """Captured, cancelled and refunded add up over every charge."""
        state = order(
            charges=(
                a_charge(
                    "ch-1", "60", captures=(("c1", "40", C),), refunds=(("r", "5", C),)
                ),
                a_charge("ch-2", "10", cancels=(("x1", "10", C),)),
                a_charge("ch-3", "30", captures=(("c2", "30", C), ("c3", "1", P))),
            )
        )
        rec = reconciliation(state)
        assert (rec.order_id, rec.captured, rec.cancelled, rec.refunded) == (
            ORDER,
            D(70),
            D(10),
            D(5),
        )
        assert [b.charge_id for b in rec.charges] == ["ch-1", "ch-2", "ch-3"]
        assert rec.balanced

    def test_refund_of_pending_capture_is_not_a_difference(self) -> None:
        """DR may complete a refund while its capture is pending (its own example)."""
        ch = a_charge(captures=(("c1", "12.36", P),), refunds=(("r1", "5.38", C),))
        assert reconciliation(order(charges=(ch,))).balanced
