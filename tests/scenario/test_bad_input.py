"""Impossible inputs: refused with the right error, and nothing changes.

For each impossible input the test checks the error type, ``.input_id``, ``.field`` and
reason, that every order and ``Engine.waiting()`` are exactly as before, and that a
following valid input still works (nothing accepted earlier was lost).
"""

from __future__ import annotations

from typing import Any

import pytest

from builders import (
    Json,
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    request,
    shipped,
)
from conftest import load_payload
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.domain import (
    ConflictingInput,
    Engine,
    IllegalTransition,
    InputRefused,
    LedgerViolation,
    OrderStatus,
    QuantityExceeded,
    UnknownReference,
)

ORDER = "204440790336"
LINE = "127911830336"
FO = "5774321009"
FO_LINE = "650398674428"

TRACKING_BODY = {
    "trackingCompany": "Fedex",
    "trackingNumber": "Z1",
    "trackingUrl": "http://fedex.example/Z1",
}


def feed(engine: Engine, *docs: Json) -> list[dict[str, Any]]:
    """Every command the documents cause, in order, as the CLI prints them."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        out += [command_json(c) for c in engine.handle(parse_input(doc)).commands]
    return out


def refused(
    engine: Engine,
    doc: Json,
    error: type[InputRefused],
    field: str | None,
    reason: str,
) -> None:
    """Assert ``doc`` is refused exactly so, and that the engine did not change."""
    orders = dict(engine.orders)
    waiting = engine.waiting()
    inp = parse_input(doc)
    with pytest.raises(InputRefused) as info:
        engine.handle(inp)
    exc = info.value
    assert (type(exc), exc.input_id, exc.field, exc.reason) == (
        error,
        doc["id"],
        field,
        reason,
    )
    assert engine.orders == orders
    assert engine.waiting() == waiting
    # Refused means not seen: the same input is refused again, not deduplicated.
    with pytest.raises(error):
        engine.handle(inp)


def accepted(event_id: str = "evt-accepted", quantity: int = 2) -> Json:
    """``order.accepted`` (one line) built on DR's real payload."""
    return order_event(
        event_id, "accepted", "2021-11-01T18:23:06Z", items=((LINE, quantity, None),)
    )


def fo_event(event_id: str, event_type: str, *lines: Json) -> Json:
    """A fulfillment-order event for ``FO`` of ``ORDER``."""
    return fulfillment_order(event_id, event_type, FO, ORDER, list(lines))


def ship(
    event_id: str,
    shipment_id: str,
    quantity: int,
    *,
    fo_item: str = FO_LINE,
    order_item: str = LINE,
) -> Json:
    """``fulfillment_order.shipped`` of ``quantity`` units."""
    return shipped(
        event_id,
        shipment_id,
        FO,
        ORDER,
        [("i-" + shipment_id, fo_item, order_item, quantity)],
    )


def capture(shipment_id: str, quantity: int) -> dict[str, Any]:
    """The exact ``POST /fulfillments`` capturing a shipment."""
    return {
        "command": "CreateFulfillment",
        "method": "POST",
        "path": "/fulfillments",
        "idempotencyKey": f"fulfillment:shipment:{shipment_id}",
        "body": {
            "orderId": ORDER,
            "shipmentId": shipment_id,
            "items": [
                {
                    "itemId": LINE,
                    "quantity": quantity,
                    "shipmentItemId": "i-" + shipment_id,
                }
            ],
            **TRACKING_BODY,
        },
    }


def shipment_note(shipment_id: str, quantity: int) -> dict[str, Any]:
    """The exact customer notification of a shipment."""
    return {
        "command": "NotifyCustomerOfShipment",
        "idempotencyKey": f"notify:shipment:{shipment_id}",
        "orderId": ORDER,
        "shipmentId": shipment_id,
        "items": [{"itemId": LINE, "quantity": quantity}],
        "tracking": {
            "company": "Fedex",
            "number": "Z1",
            "url": "http://fedex.example/Z1",
        },
    }


def cancel_commands(delta: int, before: int = 0) -> list[dict[str, Any]]:
    """The notice and the exact ``POST /fulfillments`` cancelling ``delta`` units."""
    return [
        {
            "command": "NotifyCustomerOfCancellation",
            "idempotencyKey": f"notify:cancellation:{FO}:{FO_LINE}:{before + delta}",
            "orderId": ORDER,
            "itemId": LINE,
            "quantity": delta,
        },
        {
            "command": "CreateFulfillment",
            "method": "POST",
            "path": "/fulfillments",
            "idempotencyKey": f"fulfillment:cancel:{ORDER}:{LINE}:{before}+{delta}",
            "body": {
                "orderId": ORDER,
                "items": [{"itemId": LINE, "cancelQuantity": delta}],
            },
        },
    ]


def started(*docs: Json) -> Engine:
    """A distributed engine with the order accepted and its FO (2 units) known."""
    engine = Engine()
    feed(
        engine,
        accepted(),
        fo_event("evt-fo", "fulfillment_order.pending", fo_line(FO_LINE, LINE, 2)),
        *docs,
    )
    return engine


class TestOverShipping:
    """Shipments beyond the line's quantity."""

    def test_single_shipment_over_quantity(self) -> None:
        """3 units shipped of a 2-unit line: refused; 2 units then work."""
        engine = started()
        refused(
            engine,
            ship("s-over", "sh1", 3),
            QuantityExceeded,
            None,
            f"fulfillment order {FO} line {FO_LINE}: 3 shipped + 0 cancelled exceed "
            "its quantity 2",
        )
        assert feed(engine, ship("s-ok", "sh1", 2)) == [
            shipment_note("sh1", 2),
            capture("sh1", 2),
        ]

    def test_second_shipment_over_quantity(self) -> None:
        """1 shipped, then 2 more: refused; the first capture is kept, 1 more works."""
        engine = started(ship("s1", "sh1", 1))
        refused(
            engine,
            ship("s2", "sh2", 2),
            QuantityExceeded,
            None,
            f"fulfillment order {FO} line {FO_LINE}: 3 shipped + 0 cancelled exceed "
            "its quantity 2",
        )
        assert engine.orders[ORDER].lines[0].fulfilled == 1
        assert feed(engine, ship("s3", "sh3", 1)) == [
            shipment_note("sh3", 1),
            capture("sh3", 1),
        ]

    def test_shipment_beyond_the_cancelled_units(self) -> None:
        """1 cancelled, then 2 shipped: refused."""
        engine = started(
            fo_event(
                "evt-fo-c",
                "fulfillment_order.cancelled",
                fo_line(FO_LINE, LINE, 2, cancelled=1),
            )
        )
        refused(
            engine,
            ship("s1", "sh1", 2),
            QuantityExceeded,
            None,
            f"fulfillment order {FO} line {FO_LINE}: 2 shipped + 1 cancelled exceed "
            "its quantity 2",
        )
        assert feed(engine, ship("s2", "sh2", 1)) == [
            shipment_note("sh2", 1),
            capture("sh2", 1),
        ]

    def test_waiting_over_shipment_is_dropped_when_its_fo_arrives(self) -> None:
        """An impossible waiting shipment is dropped; the FO that released it stays."""
        engine = Engine()
        feed(engine, accepted())
        assert engine.handle(parse_input(ship("s-over", "sh1", 3))).outcome == "waiting"
        outcome = engine.handle(
            parse_input(
                fo_event(
                    "evt-fo", "fulfillment_order.pending", fo_line(FO_LINE, LINE, 2)
                )
            )
        )
        assert outcome.commands == ()
        assert [(type(e), e.input_id) for e in outcome.dropped] == [
            (QuantityExceeded, "s-over")
        ]
        assert engine.waiting() == []
        assert [fo.id for fo in engine.orders[ORDER].fulfillment_orders] == [FO]
        assert feed(engine, ship("s-ok", "sh2", 2)) == [
            shipment_note("sh2", 2),
            capture("sh2", 2),
        ]


class TestCancellingShippedUnits:
    """Cancelling units that already shipped: they can only be returned."""

    def test_fo_cancelled_snapshot_over_shipped_units(self) -> None:
        """Both units shipped, then a snapshot cancelling 2: refused."""
        engine = started(ship("s1", "sh1", 2))
        refused(
            engine,
            fo_event(
                "evt-fo-c",
                "fulfillment_order.cancelled",
                fo_line(FO_LINE, LINE, 2, cancelled=2),
            ),
            QuantityExceeded,
            None,
            f"fulfillment order {FO} line {FO_LINE}: 2 shipped + 2 cancelled exceed "
            "its quantity 2",
        )
        assert engine.orders[ORDER].lines[0].fulfilled == 2

    def test_accepted_cancellation_of_shipped_units(self) -> None:
        """One unit shipped, DR accepts cancelling two: refused; one works."""
        engine = started(ship("s1", "sh1", 1))
        refused(
            engine,
            cancellation("fc1", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 2, 2)]),
            QuantityExceeded,
            None,
            f"fulfillment order {FO} line {FO_LINE}: 1 shipped + 2 cancelled exceed "
            "its quantity 2",
        )
        assert feed(
            engine,
            cancellation("fc2", "accepted", "ret_2", FO, ORDER, [(FO_LINE, 1, 1)]),
        ) == cancel_commands(1)

    def test_request_to_cancel_shipped_units(self) -> None:
        """Both units shipped: ``request_cancellation`` of one is refused."""
        engine = started(ship("s1", "sh1", 2))
        refused(
            engine,
            request("request_cancellation", "r1", ORDER, [(LINE, 1)]),
            QuantityExceeded,
            "items[0].quantity",
            f"line {LINE}: 1 to cancel but only 0 may be (pending 0, backordered 0, "
            "already requested 0; shipped units can only be returned)",
        )


class TestImpossibleSnapshots:
    """Fulfillment-order snapshots that cannot be true."""

    @pytest.mark.parametrize(
        ("buckets", "total"),
        [({"pending": 2, "shipped": 1}, 3), ({"pending": 1}, 1)],
    )
    def test_buckets_not_adding_up(self, buckets: dict[str, int], total: int) -> None:
        """Buckets that do not add up to the quantity: a LedgerViolation."""
        engine = Engine()
        feed(engine, accepted())
        line = fo_line(FO_LINE, LINE, 2, **buckets)
        refused(
            engine,
            fo_event("evt-fo-bad", "fulfillment_order.pending", line),
            LedgerViolation,
            "data.object.items[0]",
            f"buckets (pending {buckets.get('pending', 0)}, backordered 0, shipped "
            f"{buckets.get('shipped', 0)}, cancelled 0, returned 0) add up to {total}, "
            "not its quantity 2",
        )
        assert engine.orders[ORDER].fulfillment_orders == ()
        assert feed(
            engine,
            fo_event("evt-fo", "fulfillment_order.pending", fo_line(FO_LINE, LINE, 2)),
            ship("s1", "sh1", 1),
        ) == [shipment_note("sh1", 1), capture("sh1", 1)]

    def test_fo_line_quantity_changed(self) -> None:
        """A later snapshot giving the line another quantity: ConflictingInput."""
        engine = started()
        refused(
            engine,
            fo_event(
                "evt-fo-3", "fulfillment_order.pending", fo_line(FO_LINE, LINE, 3)
            ),
            ConflictingInput,
            "data.object.items[0]",
            f"line {FO_LINE} changed its quantity or order line",
        )
        assert feed(engine, ship("s1", "sh1", 2)) == [
            shipment_note("sh1", 2),
            capture("sh1", 2),
        ]

    def test_fo_holding_more_than_the_order_line(self) -> None:
        """An FO line of 3 units for an order line of 2: ConflictingInput."""
        engine = Engine()
        feed(engine, accepted())
        refused(
            engine,
            fo_event("evt-fo", "fulfillment_order.pending", fo_line(FO_LINE, LINE, 3)),
            ConflictingInput,
            None,
            f"fulfillment orders hold 3 units of order line {LINE}, which has 2",
        )

    def test_fo_naming_an_unknown_order_line(self) -> None:
        """An FO line for an order line the order does not have: ConflictingInput."""
        engine = Engine()
        feed(engine, accepted())
        refused(
            engine,
            fo_event("evt-fo", "fulfillment_order.pending", fo_line(FO_LINE, "999", 2)),
            ConflictingInput,
            None,
            f"fulfillment order {FO} line {FO_LINE} names order line 999, which order "
            f"{ORDER} does not have",
        )

    def test_fo_of_another_order(self) -> None:
        """A known FO named for another order: ConflictingInput at upstreamId."""
        engine = started()
        doc = fulfillment_order(
            "evt-fo-other",
            "fulfillment_order.pending",
            FO,
            "999",
            [fo_line(FO_LINE, LINE, 2)],
        )
        refused(
            engine,
            doc,
            ConflictingInput,
            "data.object.upstreamId",
            f"fulfillment order {FO} belongs to order {ORDER}, not 999",
        )
        assert list(engine.orders) == [ORDER]

    def test_backorder_over_quantity(self) -> None:
        """``totalBackordered`` above the line quantity: QuantityExceeded."""
        engine = started()
        refused(
            engine,
            backordered("b1", FO, ORDER, [(FO_LINE, LINE, 3, 3)]),
            QuantityExceeded,
            "data.object.items[0].totalBackordered",
            "3 backordered exceeds line quantity 2",
        )

    def test_cancellation_accepting_more_than_requested(self) -> None:
        """``quantityAccepted`` above ``quantity``: QuantityExceeded."""
        engine = started()
        refused(
            engine,
            cancellation("fc1", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 1, 2)]),
            QuantityExceeded,
            "data.object.items[0].quantityAccepted",
            "2 accepted of 1 requested",
        )


class TestUnknownFulfillmentOrderLine:
    """Events naming a fulfillment-order line the FO does not have."""

    def test_shipment(self) -> None:
        """A shipment of an unknown FO line: UnknownReference."""
        engine = started()
        refused(
            engine,
            ship("s1", "sh1", 1, fo_item="nope"),
            UnknownReference,
            "data.object.items[0].fulfillmentOrderItemId",
            f"fulfillment order {FO} has no line nope",
        )
        assert feed(engine, ship("s2", "sh1", 1)) == [
            shipment_note("sh1", 1),
            capture("sh1", 1),
        ]

    def test_backorder(self) -> None:
        """A backorder of an unknown FO line: UnknownReference."""
        engine = started()
        refused(
            engine,
            backordered("b1", FO, ORDER, [("nope", LINE, 1, 1)]),
            UnknownReference,
            "data.object.items[0].id",
            f"fulfillment order {FO} has no line nope",
        )

    def test_cancellation(self) -> None:
        """A cancellation of an unknown FO line: UnknownReference."""
        engine = started()
        refused(
            engine,
            cancellation("fc1", "accepted", "ret_1", FO, ORDER, [("nope", 1, 1)]),
            UnknownReference,
            "data.object.items[0].fulfillmentOrderItemId",
            f"fulfillment order {FO} has no line nope",
        )

    def test_shipment_line_of_another_order_line(self) -> None:
        """A shipment line whose order line contradicts the FO: ConflictingInput."""
        engine = started()
        refused(
            engine,
            ship("s1", "sh1", 1, order_item="999"),
            ConflictingInput,
            "data.object.items[0].fulfillmentOrderItemUpstreamId",
            f"line {FO_LINE} belongs to order line {LINE}, not 999",
        )


class TestQuantityConflicts:
    """Inputs contradicting quantities established earlier."""

    def test_order_line_quantity_changed(self) -> None:
        """An order event with another quantity for a known line: ConflictingInput."""
        engine = started()
        doc = order_event(
            "evt-fulfilled",
            "fulfilled",
            "2021-11-03T09:05:00Z",
            items=((LINE, 3, None),),
        )
        refused(
            engine,
            doc,
            ConflictingInput,
            "data.object.items[0].quantity",
            f"order line {LINE} had quantity 2, now 3",
        )
        assert feed(engine, ship("s1", "sh1", 2)) == [
            shipment_note("sh1", 2),
            capture("sh1", 2),
        ]

    def test_order_line_new_to_the_order(self) -> None:
        """An order event adding a line: ConflictingInput at its id."""
        engine = started()
        doc = order_event(
            "evt-accepted-2",
            "accepted",
            "2021-11-01T18:23:07Z",
            items=((LINE, 2, None), ("127911830399", 1, None)),
        )
        refused(
            engine,
            doc,
            ConflictingInput,
            "data.object.items[1].id",
            f"order line 127911830399 is new to order {ORDER}",
        )

    def test_shipment_resent_with_other_lines(self) -> None:
        """A known shipment id with other quantities: ConflictingInput."""
        engine = started(ship("s1", "sh1", 1))
        refused(
            engine,
            ship("s1-other", "sh1", 2),
            ConflictingInput,
            "data.object.items",
            "shipment sh1 was seen with other lines",
        )
        assert engine.orders[ORDER].lines[0].fulfilled == 1


class TestIllegalTransitions:
    """Lifecycle changes the declared lifecycles do not allow."""

    def test_blocked_order_cannot_become_accepted(self) -> None:
        """DR's real ``order.blocked``, then a newer ``order.accepted``: refused."""
        engine = Engine()
        blocked = load_payload("event-order.blocked.json")
        order_id = blocked["data"]["object"]["id"]
        item = blocked["data"]["object"]["items"][0]
        assert feed(engine, blocked) == []
        later = order_event(
            "evt-accepted-after-block",
            "accepted",
            "2021-09-28T20:00:00Z",
            order_id=order_id,
            items=((item["id"], item["quantity"], None),),
        )
        refused(
            engine,
            later,
            IllegalTransition,
            "data.object.state",
            f"order {order_id} cannot go from 'blocked' to 'accepted'",
        )
        assert engine.orders[order_id].status is OrderStatus.BLOCKED
        assert engine.orders[order_id].fulfillment_order_requested is False
        again = order_event(
            "evt-blocked-again",
            "blocked",
            "2021-09-28T20:01:00Z",
            order_id=order_id,
            items=((item["id"], item["quantity"], None),),
            transitions=("in_review", "blocked"),
        )
        assert feed(engine, again) == []
        assert engine.orders[order_id].seen == tuple(
            sorted({blocked["id"], "evt-blocked-again"})
        )

    @pytest.mark.parametrize(
        ("first", "then"), [("accepted", "rejected"), ("rejected", "accepted")]
    )
    def test_decided_cancellation_cannot_change_its_mind(
        self, first: str, then: str
    ) -> None:
        """A cancellation accepted then rejected (or the reverse): refused."""
        engine = started()
        quantity_accepted = 1 if first == "accepted" else None
        feed(
            engine,
            cancellation(
                "fc1", first, "ret_1", FO, ORDER, [(FO_LINE, 1, quantity_accepted)]
            ),
        )
        refused(
            engine,
            cancellation(
                "fc2",
                then,
                "ret_1",
                FO,
                ORDER,
                [(FO_LINE, 1, 1 if then == "accepted" else None)],
            ),
            IllegalTransition,
            "data.object.state",
            f"fulfillment cancellation ret_1 is {first}; it cannot become {then}",
        )
        shipped_units = 1 if first == "accepted" else 2
        assert feed(engine, ship("s1", "sh1", shipped_units)) == [
            shipment_note("sh1", shipped_units),
            capture("sh1", shipped_units),
        ]
