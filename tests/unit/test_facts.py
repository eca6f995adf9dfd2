"""How each DR event's facts merge into an order: the branches the scenarios pass by."""

from __future__ import annotations

import pytest

from builders import (
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    request,
)
from drfulfillment import (
    CreateFulfillment,
    Decision,
    IntegrationModel,
    LedgerViolation,
    MalformedInput,
    OrderState,
    QuantityExceeded,
    UnknownReference,
    decide,
    line_ledger,
)
from drfulfillment.codecs import parse_input
from drfulfillment.domain.lifecycles import LINE_ITEM, LineItemStatus, Rulebook
from drfulfillment.domain.reconcile import _add
from drfulfillment.domain.state import OrderLine
from drfulfillment.domain.waiting import Wait

ORDER = "204440790336"
LINE = "127911830336"
LINE_B = "127911830337"
FO = "5774321009"
FO_LINE = "650398674428"
FO_LINE_B = "650398674429"
T1 = "2021-11-01T18:23:06Z"


def start(*docs: dict[str, object]) -> Decision:
    """An accepted order with two lines (2 and 3 units), then ``docs``."""
    state = OrderState(order_id=ORDER, model=IntegrationModel.DISTRIBUTED)
    decision = decide(
        state,
        parse_input(
            order_event(
                "evt-acc", "accepted", T1, items=((LINE, 2, None), (LINE_B, 3, None))
            )
        ),
    )
    for doc in docs:
        decision = decide(decision.state, parse_input(doc))
    return decision


def pending_fo(*lines: dict[str, object]) -> dict[str, object]:
    """``fulfillment_order.pending`` for the order's two lines (or ``lines``)."""
    return fulfillment_order(
        "evt-fo",
        "fulfillment_order.pending",
        FO,
        ORDER,
        list(lines) or [fo_line(FO_LINE, LINE, 2), fo_line(FO_LINE_B, LINE_B, 3)],
    )


def ledger(
    decision: Decision, fo_line_id: str = FO_LINE
) -> tuple[int, int, int, int, int]:
    """``(pending, backordered, shipped, cancelled, returned)`` of a line."""
    fo = decision.state.fulfillment_orders[0]
    line = next(ln for ln in fo.lines if ln.id == fo_line_id)
    got = line_ledger(decision.state, fo, line)
    return (got.pending, got.backordered, got.shipped, got.cancelled, got.returned)


class TestFulfillmentOrderSnapshots:
    """What a snapshot's buckets teach the ledger."""

    def test_returned_units_count_as_shipped_first(self) -> None:
        """A snapshot with 1 shipped and 1 returned: 2 ever shipped, 1 of them back."""
        got = start(
            pending_fo(
                fo_line(FO_LINE, LINE, 2, shipped=1, returned=1),
                fo_line(FO_LINE_B, LINE_B, 3),
            )
        )
        assert ledger(got) == (0, 0, 1, 0, 1)

    def test_backordered_bucket_is_kept(self) -> None:
        """A snapshot's backordered bucket shows in the ledger."""
        got = start(
            pending_fo(
                fo_line(FO_LINE, LINE, 2, backordered=1), fo_line(FO_LINE_B, LINE_B, 3)
            )
        )
        assert ledger(got) == (1, 1, 0, 0, 0)

    def test_cancelled_bucket_is_kept(self) -> None:
        """A snapshot's cancelled bucket shows in the ledger."""
        got = start(
            pending_fo(
                fo_line(FO_LINE, LINE, 2, cancelled=2), fo_line(FO_LINE_B, LINE_B, 3)
            )
        )
        assert ledger(got) == (0, 0, 0, 2, 0)

    def test_buckets_not_adding_up_say_each_bucket(self) -> None:
        """The refusal lists every bucket and the quantity."""
        bad = fo_line(
            FO_LINE,
            LINE,
            2,
            pending=1,
            backordered=1,
            shipped=1,
            cancelled=1,
            returned=1,
        )
        with pytest.raises(LedgerViolation) as info:
            start(pending_fo(bad, fo_line(FO_LINE_B, LINE_B, 3)))
        assert (info.value.input_id, info.value.field) == (
            "evt-fo",
            "data.object.items[0]",
        )
        assert info.value.reason == (
            "buckets (pending 1, backordered 1, shipped 1, cancelled 1, returned 1) add up to 5, not its quantity 2"
        )

    def test_missing_order_line_id_is_refused(self) -> None:
        """An FO line without ``upstreamId`` cannot be tied to the order."""
        line = fo_line(FO_LINE, LINE, 2)
        line.pop("upstreamId")
        with pytest.raises(MalformedInput) as info:
            start(pending_fo(line))
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-fo",
            "data.object.items[0].upstreamId",
            "the order line id is missing",
        )


class TestBackorders:
    """Backorder events find their line by FO line id, or by order line id."""

    def test_line_found_by_order_line_id(self) -> None:
        """An item with only ``upstreamId`` is matched to the FO line holding it."""
        doc = backordered("evt-b", FO, ORDER, [(FO_LINE_B, LINE_B, 2, 2)])
        doc["data"]["object"]["items"][0].pop("id")
        got = start(pending_fo(), doc)
        assert ledger(got, FO_LINE_B) == (1, 2, 0, 0, 0)
        assert ledger(got, FO_LINE) == (2, 0, 0, 0, 0)

    def test_without_fo_id_the_single_fo_is_used(self) -> None:
        """An order with one FO takes a backorder that names none."""
        doc = backordered("evt-b", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        doc["data"]["object"].pop("id")
        got = start(pending_fo(), doc)
        assert got.outcome == "applied"
        assert ledger(got) == (1, 1, 0, 0, 0)

    def test_without_fo_id_and_no_fo_it_waits(self) -> None:
        """Without any FO known, a backorder naming none waits, saying so."""
        doc = backordered("evt-b", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        doc["data"]["object"].pop("id")
        got = start(doc)
        assert [(w.input_id, w.reason) for w in got.state.waiting] == [
            ("evt-b", f"fulfillment order of order {ORDER}")
        ]

    def test_unknown_line_is_named(self) -> None:
        """A backorder for a line the FO does not have is refused at the item."""
        doc = backordered("evt-b", FO, ORDER, [("nope", LINE, 1, 1)])
        with pytest.raises(UnknownReference) as info:
            start(pending_fo(), doc)
        assert (info.value.input_id, info.value.field) == (
            "evt-b",
            "data.object.items[0].id",
        )


class TestCancellations:
    """A cancellation's later events update it; a later one without lines keeps them."""

    def test_accepted_without_lines_keeps_the_requested_lines(self) -> None:
        """``created`` with lines, then ``accepted`` without: the lines' units are cancelled."""
        created = cancellation(
            "evt-c1", "created", "ret_1", FO, ORDER, [(FO_LINE, 1, None)]
        )
        accepted = cancellation("evt-c2", "accepted", "ret_1", FO, ORDER, [])
        got = start(pending_fo(), created, accepted)
        assert ledger(got) == (1, 0, 0, 1, 0)
        cancels = [c for c in got.commands if isinstance(c, CreateFulfillment)]
        assert [(i.item_id, i.cancel_quantity) for c in cancels for i in c.items] == [
            (LINE, 1)
        ]

    def test_a_later_accepted_event_updates_the_units(self) -> None:
        """Two ``accepted`` events for one cancellation: the later lines count."""
        first = cancellation(
            "evt-c1", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 2, 1)]
        )
        second = cancellation(
            "evt-c2", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 2, 2)]
        )
        got = start(pending_fo(), first, second)
        assert ledger(got) == (0, 0, 0, 2, 0)

    def test_waits_for_its_fulfillment_order_saying_which(self) -> None:
        """A cancellation for an unknown FO waits for that FO."""
        got = start(
            cancellation("evt-c", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 1, 1)])
        )
        assert [(w.input_id, w.reason) for w in got.state.waiting] == [
            ("evt-c", f"fulfillment order {FO}")
        ]

    def test_cancels_of_two_lines_share_one_call_and_key(self) -> None:
        """Both lines' cancelled units go in one ``POST /fulfillments`` with a stable key."""
        snap = fulfillment_order(
            "evt-fc",
            "fulfillment_order.cancelled",
            FO,
            ORDER,
            [
                fo_line(FO_LINE, LINE, 2, cancelled=1),
                fo_line(FO_LINE_B, LINE_B, 3, cancelled=2),
            ],
        )
        got = start(pending_fo(), snap)
        cancels = [c for c in got.commands if isinstance(c, CreateFulfillment)]
        assert [c.key for c in cancels] == [
            f"fulfillment:cancel:{ORDER}:{LINE}:0+1,{LINE_B}:0+2"
        ]


class TestRequests:
    """Merchant cancellation requests over fulfillment orders."""

    def test_refusal_sums_the_line_over_its_fulfillment_orders(self) -> None:
        """A line split over two FOs: the refusal adds up both FOs' units."""
        split = [
            fulfillment_order(
                "evt-f1",
                "fulfillment_order.pending",
                "100",
                ORDER,
                [fo_line("1001", LINE, 1, backordered=1)],
            ),
            fulfillment_order(
                "evt-f2",
                "fulfillment_order.pending",
                "200",
                ORDER,
                [fo_line("2001", LINE, 1, backordered=1)],
            ),
        ]
        first = request("request_cancellation", "req-1", ORDER, [(LINE, 1)])
        too_many = request("request_cancellation", "req-2", ORDER, [(LINE, 2)])
        got = start(*split, first)
        with pytest.raises(QuantityExceeded) as info:
            decide(got.state, parse_input(too_many))
        assert (info.value.input_id, info.value.field) == ("req-2", "items[0].quantity")
        assert info.value.reason == (
            f"line {LINE}: 2 to cancel but only 1 may be (pending 0, backordered 2, already requested 1; "
            "shipped units can only be returned)"
        )


class TestGuards:
    """The last-resort guards, reached only by a state built by hand."""

    def test_reporting_past_the_unreported_units_is_refused(self) -> None:
        """``_add`` refuses to count more units than a line has unreported."""
        lines = {
            LINE: OrderLine(
                item_id=LINE, sku_id=None, quantity=2, physical=True, cancelled=1
            )
        }
        with pytest.raises(LedgerViolation) as info:
            _add(lines, LINE, "evt-x", cancelled=1, fulfilled=1)
        assert (info.value.input_id, info.value.reason) == (
            "evt-x",
            f"order line {LINE}: reporting more than its unreported units",
        )
        _add(lines, LINE, "evt-x", cancelled=1)
        assert lines[LINE].cancelled == 2

    def test_wait_carries_its_reason(self) -> None:
        """``Wait`` keeps what the input waits for."""
        wait = Wait("fulfillment order 1")
        assert (wait.reason, str(wait)) == (
            "fulfillment order 1",
            "fulfillment order 1",
        )


class TestRulebookConstruction:
    """A ``Rulebook`` keeps what it was declared with."""

    def test_attributes(self) -> None:
        """Name, states, transitions, initial and finals are kept as given."""
        book = Rulebook(
            "demo",
            LineItemStatus,
            (
                {
                    "trigger": "ship",
                    "source": ["pending", "backordered"],
                    "dest": "shipped",
                },
            ),
            initial=LineItemStatus.PENDING,
            finals=[LineItemStatus.SHIPPED],
        )
        assert (book.name, book.states, book.initial, book.finals) == (
            "demo",
            LineItemStatus,
            LineItemStatus.PENDING,
            frozenset({LineItemStatus.SHIPPED}),
        )
        assert book.triggers(LineItemStatus.BACKORDERED) == {"ship"}
        assert (
            book.step(LineItemStatus.PENDING, "ship", subject="x", input_id=None)
            is LineItemStatus.SHIPPED
        )
        assert book.can_reach(LineItemStatus.BACKORDERED, LineItemStatus.SHIPPED)
        assert not book.can_reach(LineItemStatus.SHIPPED, LineItemStatus.PENDING)
        assert LINE_ITEM.name == "fulfillment-order line item"
