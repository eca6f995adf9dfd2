"""Unit tests of the quantity ledger on hand-built ``OrderState`` values."""

from __future__ import annotations

import pytest

from drfulfillment.domain.errors import (
    ConflictingInput,
    InputRefused,
    LedgerViolation,
    QuantityExceeded,
)
from drfulfillment.domain.inputs import RequestedUnits
from drfulfillment.domain.ledger import (
    LineLedger,
    check_invariants,
    fulfillment_order_status,
    known_cancelled,
    known_fulfilled,
    line_ledger,
    outstanding_requested,
    remaining,
)
from drfulfillment.domain.lifecycles import (
    CancellationStatus,
    FulfillmentOrderStatus,
    LineItemStatus,
)
from drfulfillment.domain.state import (
    Cancellation,
    CancellationLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    IntegrationModel,
    MerchantReport,
    OrderLine,
    OrderState,
    PendingCancellationRequest,
    ReportKind,
    Shipment,
    ShipmentLine,
)

ORDER = "ord-1"


def fo_line(
    line_id: str = "fol-1",
    upstream: str = "item-1",
    quantity: int = 5,
    *,
    shipped: int = 0,
    returned: int = 0,
    cancelled: int = 0,
    backordered: int = 0,
    total_backordered: int = 0,
) -> FulfillmentOrderLine:
    """A fulfillment-order line with the given snapshot maxima."""
    return FulfillmentOrderLine(
        id=line_id,
        upstream_id=upstream,
        inventory_item_id=f"sku-{upstream}",
        quantity=quantity,
        seen_shipped=shipped,
        seen_returned=returned,
        seen_cancelled=cancelled,
        seen_backordered=backordered,
        total_backordered=total_backordered,
    )


def fo(fo_id: str = "fo-1", *lines: FulfillmentOrderLine) -> FulfillmentOrder:
    """A fulfillment order of ``lines`` (one default line when none given)."""
    return FulfillmentOrder(id=fo_id, order_id=ORDER, lines=lines or (fo_line(),))


def shipment(
    shipment_id: str,
    quantity: int,
    *,
    fo_id: str = "fo-1",
    line_id: str = "fol-1",
    item_id: str = "item-1",
) -> Shipment:
    """A one-line shipment."""
    return Shipment(
        id=shipment_id,
        fulfillment_order_id=fo_id,
        lines=(
            ShipmentLine(
                id=f"{shipment_id}-1",
                fulfillment_order_item_id=line_id,
                item_id=item_id,
                quantity=quantity,
            ),
        ),
    )


def cancellation(
    cancellation_id: str,
    status: CancellationStatus,
    quantity: int,
    accepted: int | None = None,
    *,
    fo_id: str = "fo-1",
    line_id: str = "fol-1",
) -> Cancellation:
    """A one-line fulfillment cancellation."""
    return Cancellation(
        id=cancellation_id,
        fulfillment_order_id=fo_id,
        status=status,
        lines=(
            CancellationLine(
                fulfillment_order_item_id=line_id, quantity=quantity, accepted=accepted
            ),
        ),
    )


def order_line(
    item_id: str = "item-1",
    quantity: int = 5,
    *,
    physical: bool = True,
    fulfilled: int = 0,
    cancelled: int = 0,
) -> OrderLine:
    """A DR order line."""
    return OrderLine(
        item_id=item_id,
        sku_id=f"sku-{item_id}",
        quantity=quantity,
        physical=physical,
        fulfilled=fulfilled,
        cancelled=cancelled,
    )


def state(
    *,
    lines: tuple[OrderLine, ...] = (),
    fos: tuple[FulfillmentOrder, ...] = (),
    shipments: tuple[Shipment, ...] = (),
    cancellations: tuple[Cancellation, ...] = (),
    requests: tuple[PendingCancellationRequest, ...] = (),
    reports: tuple[MerchantReport, ...] = (),
) -> OrderState:
    """An order state with the given facts."""
    return OrderState(
        order_id=ORDER,
        model=IntegrationModel.DISTRIBUTED,
        lines=lines,
        fulfillment_orders=fos,
        shipments=shipments,
        cancellations=cancellations,
        cancellation_requests=requests,
        reports=reports,
    )


def report(
    request_id: str, kind: ReportKind, item_id: str, quantity: int
) -> MerchantReport:
    """A one-line merchant report."""
    return MerchantReport(
        request_id=request_id,
        kind=kind,
        items=(RequestedUnits(item_id, quantity),),
    )


def ledger_of(s: OrderState) -> LineLedger:
    """The ledger of the first line of the first FO, checked for the bucket sum."""
    the_fo = s.fulfillment_orders[0]
    result = line_ledger(s, the_fo, the_fo.lines[0])
    buckets = (
        result.pending,
        result.backordered,
        result.shipped,
        result.cancelled,
        result.returned,
    )
    assert sum(buckets) == result.quantity
    assert min(buckets) >= 0
    return result


def buckets(
    quantity: int,
    pending: int = 0,
    backordered: int = 0,
    shipped: int = 0,
    cancelled: int = 0,
    returned: int = 0,
) -> LineLedger:
    """A ``LineLedger`` with keyword defaults of zero."""
    return LineLedger(quantity, pending, backordered, shipped, cancelled, returned)


class TestLineLedger:
    """``line_ledger`` derives the five buckets from merged facts."""

    def test_nothing_known_is_all_pending(self) -> None:
        """A fresh line is all pending."""
        assert ledger_of(state(fos=(fo(),))) == buckets(5, pending=5)

    def test_shipments_only(self) -> None:
        """Units in known shipments are shipped; the rest pending."""
        s = state(fos=(fo(),), shipments=(shipment("s1", 2), shipment("s2", 1)))
        assert ledger_of(s) == buckets(5, pending=2, shipped=3)

    def test_shipments_of_other_lines_and_fos_ignored(self) -> None:
        """Shipments of another FO line or another FO do not count."""
        s = state(
            fos=(
                fo("fo-1", fo_line("fol-1"), fo_line("fol-2", "item-2")),
                fo("fo-2", fo_line("fol-1", "item-3")),
            ),
            shipments=(
                shipment("s1", 1),
                shipment("s2", 2, line_id="fol-2", item_id="item-2"),
                shipment("s3", 4, fo_id="fo-2", item_id="item-3"),
            ),
        )
        assert ledger_of(s) == buckets(5, pending=4, shipped=1)

    def test_snapshot_buckets_only(self) -> None:
        """Snapshot maxima fill the buckets when no shipment is known."""
        s = state(fos=(fo("fo-1", fo_line(shipped=2, cancelled=1, backordered=1)),))
        assert ledger_of(s) == buckets(
            5, pending=1, backordered=1, shipped=2, cancelled=1
        )

    @pytest.mark.parametrize(
        ("in_shipments", "in_snapshot", "expected"), [(2, 3, 3), (3, 2, 3), (3, 3, 3)]
    )
    def test_shipments_and_snapshot_take_max_not_sum(
        self, in_shipments: int, in_snapshot: int, expected: int
    ) -> None:
        """Shipments and snapshots reveal the same units: the larger wins."""
        s = state(
            fos=(fo("fo-1", fo_line(shipped=in_snapshot)),),
            shipments=(shipment("s1", in_shipments),),
        )
        assert ledger_of(s) == buckets(5, pending=5 - expected, shipped=expected)

    @pytest.mark.parametrize(
        ("accepted", "in_snapshot", "expected"), [(2, 1, 2), (1, 3, 3), (2, 2, 2)]
    )
    def test_accepted_cancellations_and_snapshot_take_max(
        self, accepted: int, in_snapshot: int, expected: int
    ) -> None:
        """Accepted cancellations and snapshot ``cancelled`` overlap: the larger wins."""
        s = state(
            fos=(fo("fo-1", fo_line(cancelled=in_snapshot)),),
            cancellations=(cancellation("c1", CancellationStatus.ACCEPTED, accepted),),
        )
        assert ledger_of(s) == buckets(5, pending=5 - expected, cancelled=expected)

    def test_accepted_cancellations_sum_and_quantity_accepted_counts(self) -> None:
        """Several accepted cancellations add; ``quantityAccepted`` caps each."""
        s = state(
            fos=(fo(),),
            cancellations=(
                cancellation("c1", CancellationStatus.ACCEPTED, 2, accepted=1),
                cancellation("c2", CancellationStatus.ACCEPTED, 1),
                cancellation("c3", CancellationStatus.PENDING, 1),
                cancellation("c4", CancellationStatus.REJECTED, 1),
                cancellation("c5", CancellationStatus.ACCEPTED, 1, line_id="fol-9"),
                cancellation("c6", CancellationStatus.ACCEPTED, 1, fo_id="fo-9"),
            ),
        )
        assert ledger_of(s) == buckets(5, pending=3, cancelled=2)

    def test_returned_units_count_as_ever_shipped(self) -> None:
        """``seen_shipped`` is shipped + returned; returned moves out of shipped."""
        s = state(fos=(fo("fo-1", fo_line(shipped=3, returned=1)),))
        assert ledger_of(s) == buckets(5, pending=2, shipped=2, returned=1)

    def test_returned_with_shipments(self) -> None:
        """Returned units are not double counted against shipment events."""
        s = state(
            fos=(fo("fo-1", fo_line(shipped=3, returned=2)),),
            shipments=(shipment("s1", 3),),
        )
        assert ledger_of(s) == buckets(5, pending=2, shipped=1, returned=2)

    def test_backordered_capped_by_open_units(self) -> None:
        """Backordered never exceeds the units neither shipped nor cancelled."""
        s = state(
            fos=(fo("fo-1", fo_line(total_backordered=4, cancelled=1)),),
            shipments=(shipment("s1", 2),),
        )
        assert ledger_of(s) == buckets(5, backordered=2, shipped=2, cancelled=1)

    @pytest.mark.parametrize(
        ("total", "seen", "expected"), [(3, 1, 3), (1, 3, 3), (0, 0, 0), (2, 2, 2)]
    )
    def test_backordered_takes_max_of_total_and_snapshot(
        self, total: int, seen: int, expected: int
    ) -> None:
        """DR's ``totalBackordered`` and a snapshot's bucket: the larger wins."""
        s = state(fos=(fo("fo-1", fo_line(total_backordered=total, backordered=seen)),))
        assert ledger_of(s) == buckets(5, pending=5 - expected, backordered=expected)

    def test_overflow_refused_with_input_id(self) -> None:
        """Shipped + cancelled above the quantity raises ``QuantityExceeded``."""
        s = state(
            fos=(fo("fo-1", fo_line(cancelled=3)),), shipments=(shipment("s", 3),)
        )
        with pytest.raises(QuantityExceeded) as info:
            line_ledger(
                s,
                s.fulfillment_orders[0],
                s.fulfillment_orders[0].lines[0],
                input_id="e1",
            )
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "e1",
            None,
            "fulfillment order fo-1 line fol-1: 3 shipped + 3 cancelled exceed its "
            "quantity 5",
        )

    def test_cancellable_is_pending_plus_backordered(self) -> None:
        """Only pending and backordered units may still be cancelled."""
        assert (
            buckets(7, pending=2, backordered=3, shipped=1, cancelled=1).cancellable
            == 5
        )


class TestLineLedgerStatus:
    """``LineLedger.status`` precedence: cancelled, shipped, backordered, pending."""

    @pytest.mark.parametrize(
        ("ledger", "expected"),
        [
            (buckets(2, cancelled=2), LineItemStatus.CANCELLED),
            (buckets(2, shipped=1, cancelled=1), LineItemStatus.SHIPPED),
            (buckets(2, returned=1, cancelled=1), LineItemStatus.SHIPPED),
            (buckets(2, returned=2), LineItemStatus.SHIPPED),
            (buckets(2, shipped=1, backordered=1), LineItemStatus.SHIPPED),
            (buckets(2, backordered=1, pending=1), LineItemStatus.BACKORDERED),
            (buckets(2, backordered=1, cancelled=1), LineItemStatus.BACKORDERED),
            (buckets(2, pending=1, cancelled=1), LineItemStatus.PENDING),
            (buckets(2, pending=2), LineItemStatus.PENDING),
            (buckets(0), LineItemStatus.PENDING),
        ],
    )
    def test_precedence(self, ledger: LineLedger, expected: LineItemStatus) -> None:
        """Each bucket mix maps to the state of highest precedence."""
        assert ledger.status is expected

    def test_fulfillment_order_status_from_lines(self) -> None:
        """The FO state follows its lines' derived states."""
        lines = (fo_line("fol-1", cancelled=5), fo_line("fol-2", "item-2", 2))
        s = state(fos=(fo("fo-1", *lines),))
        assert fulfillment_order_status(s, s.fulfillment_orders[0]) is (
            FulfillmentOrderStatus.PENDING
        )
        shipped = state(
            fos=(fo("fo-1", *lines),),
            shipments=(shipment("s1", 1, line_id="fol-2", item_id="item-2"),),
        )
        assert fulfillment_order_status(shipped, shipped.fulfillment_orders[0]) is (
            FulfillmentOrderStatus.SHIPPED
        )
        gone = state(
            fos=(fo("fo-1", lines[0], fo_line("fol-2", "item-2", 2, cancelled=2)),)
        )
        assert fulfillment_order_status(gone, gone.fulfillment_orders[0]) is (
            FulfillmentOrderStatus.CANCELLED
        )


def _refusal(exc: InputRefused) -> tuple[str, str | None, str | None, str]:
    return (type(exc).__name__, exc.input_id, exc.field, exc.reason)


class TestCheckInvariants:
    """``check_invariants`` refuses each broken invariant with its own error."""

    def test_consistent_state_passes(self) -> None:
        """A state within every bound raises nothing."""
        s = state(
            lines=(
                order_line(fulfilled=2, cancelled=1),
                order_line("item-2", 1, physical=False, fulfilled=1),
            ),
            fos=(fo("fo-1", fo_line(cancelled=1)),),
            shipments=(shipment("s1", 2),),
            reports=(report("r1", ReportKind.SHIPMENT, "item-2", 1),),
        )
        check_invariants(s, "e1")

    def test_fo_line_overflow(self) -> None:
        """FO-line shipped + cancelled above its quantity: ``QuantityExceeded``."""
        s = state(
            lines=(order_line(),),
            fos=(fo("fo-1", fo_line(cancelled=2)),),
            shipments=(shipment("s1", 4),),
        )
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e1")
        assert _refusal(info.value) == (
            "QuantityExceeded",
            "e1",
            None,
            "fulfillment order fo-1 line fol-1: 4 shipped + 2 cancelled exceed its "
            "quantity 5",
        )

    def test_returned_above_shipped(self) -> None:
        """More returned than ever shipped: ``LedgerViolation``."""
        s = state(fos=(fo("fo-1", fo_line(shipped=1, returned=2)),))
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e2")
        assert _refusal(info.value) == (
            "LedgerViolation",
            "e2",
            None,
            "fulfillment order fo-1 line fol-1: 2 returned but only 1 shipped",
        )

    def test_fo_line_for_unknown_order_line(self) -> None:
        """An FO line naming an order line the order lacks: ``ConflictingInput``."""
        s = state(lines=(order_line(),), fos=(fo("fo-1", fo_line(upstream="item-9")),))
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e3")
        assert _refusal(info.value) == (
            "ConflictingInput",
            "e3",
            None,
            "fulfillment order fo-1 line fol-1 names order line item-9, which order "
            "ord-1 does not have",
        )

    def test_fo_lines_before_order_lines_are_known(self) -> None:
        """With no order lines known yet, FO lines are not checked against them."""
        s = state(fos=(fo("fo-1", fo_line(upstream="item-9")),))
        check_invariants(s, "e3")

    def test_fulfillment_orders_hold_more_than_the_order_line(self) -> None:
        """FOs holding more units of a line than it has: ``ConflictingInput``."""
        s = state(
            lines=(order_line(),),
            fos=(fo("fo-1", fo_line(quantity=3)), fo("fo-2", fo_line(quantity=3))),
        )
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e4")
        assert _refusal(info.value) == (
            "ConflictingInput",
            "e4",
            None,
            "fulfillment orders hold 6 units of order line item-1, which has 5",
        )

    def test_shipment_for_unknown_order_line(self) -> None:
        """A shipment line naming an order line the order lacks: ``ConflictingInput``."""
        s = state(
            lines=(order_line(),),
            fos=(fo(),),
            shipments=(shipment("s1", 1, item_id="item-9"),),
        )
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e5")
        assert _refusal(info.value) == (
            "ConflictingInput",
            "e5",
            None,
            "shipment s1 names order line item-9, which order ord-1 does not have",
        )

    def test_order_line_fulfilled_plus_cancelled_overflow(self) -> None:
        """Known fulfilled + cancelled above the order line: ``QuantityExceeded``."""
        s = state(
            lines=(order_line("item-2", 2, physical=False),),
            reports=(
                report("r1", ReportKind.SHIPMENT, "item-2", 2),
                report("r2", ReportKind.CANCELLATION, "item-2", 1),
            ),
        )
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e6")
        assert _refusal(info.value) == (
            "QuantityExceeded",
            "e6",
            None,
            "order line item-2: 2 fulfilled + 1 cancelled exceed its quantity 2",
        )

    def test_order_line_overflow_across_fulfillment_orders(self) -> None:
        """Shipments in one FO plus cancels in another can overflow the order line."""
        s = state(
            lines=(order_line(quantity=4),),
            fos=(
                fo("fo-1", fo_line(quantity=2)),
                fo("fo-2", fo_line(quantity=2, cancelled=2)),
            ),
            shipments=(shipment("s1", 2),),
            reports=(report("r1", ReportKind.CANCELLATION, "item-1", 1),),
        )
        with pytest.raises(InputRefused) as info:
            check_invariants(s, "e7")
        assert _refusal(info.value) == (
            "QuantityExceeded",
            "e7",
            None,
            "order line item-1: 2 fulfilled + 3 cancelled exceed its quantity 4",
        )

    @pytest.mark.parametrize(("fulfilled", "cancelled"), [(1, 0), (0, 1), (3, 0)])
    def test_more_reported_than_known(self, fulfilled: int, cancelled: int) -> None:
        """Units reported to DR beyond what is known: ``LedgerViolation``."""
        s = state(
            lines=(order_line(fulfilled=fulfilled, cancelled=cancelled),),
            fos=(fo(),),
            shipments=(shipment("s1", 2),) if fulfilled == 3 else (),
        )
        with pytest.raises(LedgerViolation) as info:
            check_invariants(s, "e8")
        assert _refusal(info.value) == (
            "LedgerViolation",
            "e8",
            None,
            "order line item-1: more reported to DR than is known",
        )

    def test_error_types_are_distinct(self) -> None:
        """The three refusal types are distinct ``InputRefused`` subclasses."""
        kinds = {QuantityExceeded, LedgerViolation, ConflictingInput}
        assert len(kinds) == 3
        assert all(issubclass(k, InputRefused) for k in kinds)
        assert not issubclass(QuantityExceeded, LedgerViolation)


class TestOutstandingRequested:
    """Units requested for cancellation and not yet cancelled or refused."""

    @staticmethod
    def _state(*cancellations: Cancellation, snapshot_cancelled: int = 0) -> OrderState:
        return state(
            fos=(
                fo(
                    "fo-1",
                    fo_line(cancelled=snapshot_cancelled),
                    fo_line("fol-2", "item-2", 3),
                ),
                fo("fo-2", fo_line("fol-1", "item-3", 2)),
            ),
            cancellations=cancellations,
            requests=(
                PendingCancellationRequest(
                    request_id="rq-1",
                    fulfillment_order_id="fo-1",
                    units=(("fol-1", 2), ("fol-2", 1)),
                ),
                PendingCancellationRequest(
                    request_id="rq-2",
                    fulfillment_order_id="fo-1",
                    units=(("fol-1", 1),),
                ),
                PendingCancellationRequest(
                    request_id="rq-3",
                    fulfillment_order_id="fo-2",
                    units=(("fol-1", 2),),
                ),
            ),
        )

    def _outstanding(self, s: OrderState) -> int:
        return outstanding_requested(
            s, s.fulfillment_orders[0], s.fulfillment_orders[0].lines[0]
        )

    def test_all_requested_outstanding(self) -> None:
        """With no answer yet, every requested unit of the line is outstanding."""
        assert self._outstanding(self._state()) == 3

    def test_pending_cancellation_does_not_reduce(self) -> None:
        """A cancellation still pending neither cancels nor refuses."""
        s = self._state(cancellation("c1", CancellationStatus.PENDING, 2))
        assert self._outstanding(s) == 3

    def test_accepted_units_reduce(self) -> None:
        """Accepted units are no longer outstanding."""
        s = self._state(cancellation("c1", CancellationStatus.ACCEPTED, 2))
        assert self._outstanding(s) == 1

    def test_rejected_units_reduce(self) -> None:
        """Rejected units are no longer outstanding."""
        s = self._state(cancellation("c1", CancellationStatus.REJECTED, 2))
        assert self._outstanding(s) == 1

    def test_partly_accepted_units_reduce_by_both(self) -> None:
        """Of a partly accepted line, accepted and refused units both count."""
        s = self._state(cancellation("c1", CancellationStatus.ACCEPTED, 2, accepted=1))
        assert self._outstanding(s) == 1

    def test_snapshot_cancelled_reduces(self) -> None:
        """Units a snapshot shows cancelled are no longer outstanding."""
        assert self._outstanding(self._state(snapshot_cancelled=2)) == 1

    def test_never_negative(self) -> None:
        """More cancelled than requested floors at zero."""
        s = self._state(
            cancellation("c1", CancellationStatus.ACCEPTED, 2),
            cancellation("c2", CancellationStatus.REJECTED, 3),
        )
        assert self._outstanding(s) == 0

    def test_other_line_and_fo(self) -> None:
        """Requests are counted per FO line."""
        s = self._state()
        fo1, fo2 = s.fulfillment_orders
        assert outstanding_requested(s, fo1, fo1.lines[1]) == 1
        assert outstanding_requested(s, fo2, fo2.lines[0]) == 2


class TestOrderLineTotals:
    """``known_fulfilled``, ``known_cancelled`` and ``remaining`` per order line."""

    @staticmethod
    def _state() -> OrderState:
        return state(
            lines=(order_line(quantity=10), order_line("item-2", 4, physical=False)),
            fos=(
                fo("fo-1", fo_line(quantity=6, cancelled=1)),
                fo("fo-2", fo_line(quantity=4, shipped=3)),
            ),
            shipments=(shipment("s1", 2), shipment("s2", 1, fo_id="fo-2")),
            cancellations=(
                cancellation("c1", CancellationStatus.ACCEPTED, 2),
                cancellation("c2", CancellationStatus.ACCEPTED, 1, fo_id="fo-2"),
            ),
            reports=(
                report("r1", ReportKind.SHIPMENT, "item-2", 1),
                report("r2", ReportKind.CANCELLATION, "item-2", 2),
                report("r3", ReportKind.SHIPMENT, "item-1", 1),
            ),
        )

    def test_known_fulfilled_counts_shipments_and_shipment_reports(self) -> None:
        """Shipment events across FOs plus merchant shipment reports; not snapshots."""
        s = self._state()
        assert known_fulfilled(s, "item-1") == 2 + 1 + 1
        assert known_fulfilled(s, "item-2") == 1
        assert known_fulfilled(s, "item-9") == 0

    def test_known_cancelled_sums_ledgers_across_fos(self) -> None:
        """The ledger's cancelled bucket summed over every FO line of the item."""
        s = self._state()
        assert known_cancelled(s, "item-1") == 2 + 1
        assert known_cancelled(s, "item-2") == 0

    def test_remaining(self) -> None:
        """Quantity less fulfilled, cancelled and merchant-reported cancellations."""
        s = self._state()
        assert remaining(s, "item-1") == 10 - 4 - 3
        assert remaining(s, "item-2") == 4 - 1 - 2
        assert remaining(s, "item-9") == 0
