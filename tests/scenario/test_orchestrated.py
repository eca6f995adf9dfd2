"""Scenario tests of the orchestrated model: DR fulfils, captures and cancels itself.

The engine must never emit ``POST /fulfillment-orders`` nor ``POST /fulfillments``; it
still notifies the customer and sends merchant cancellation requests to DR.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from builders import (
    Json,
    backordered,
    cancellation,
    envelope,
    fo_line,
    fulfillment_order,
    order,
    order_event,
    request,
    shipped,
)
from conftest import load_payload
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.domain import (
    Engine,
    IntegrationModel,
    OrderStatus,
    QuantityExceeded,
    UnsupportedInModel,
)
from drfulfillment.domain.state import OrderLine

ORDER = "204440790336"
LINE = "127911830336"
FO = "5774321009"
FO_LINE = "650398674428"

API = {"CreateFulfillmentOrder", "CreateFulfillment"}


def feed(engine: Engine, *docs: Json) -> list[dict[str, Any]]:
    """Every command the documents cause, in order, as the CLI prints them."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        out += [command_json(c) for c in engine.handle(parse_input(doc)).commands]
    return out


def accepted(event_id: str = "evt-accepted") -> Json:
    """``order.accepted`` (one line of 2 units) built on DR's real payload."""
    return order_event(event_id, "accepted", "2021-11-01T18:23:06Z")


def fo_pending(event_id: str = "evt-fo-pending") -> Json:
    """``fulfillment_order.pending`` created by DR for ``ORDER``."""
    return fulfillment_order(
        event_id, "fulfillment_order.pending", FO, ORDER, [fo_line(FO_LINE, LINE, 2)]
    )


def ship(event_id: str, shipment_id: str, quantity: int = 1) -> Json:
    """``fulfillment_order.shipped`` of ``quantity`` units."""
    return shipped(event_id, shipment_id, FO, ORDER, [("i1", FO_LINE, LINE, quantity)])


def started() -> Engine:
    """An orchestrated engine that has seen the order and DR's FO."""
    engine = Engine(IntegrationModel.ORCHESTRATED)
    assert feed(engine, accepted(), fo_pending()) == []
    return engine


def cancellation_request(request_id: str, quantity: int) -> dict[str, Any]:
    """The exact ``POST /fulfillment-cancellations`` line."""
    return {
        "command": "CreateFulfillmentCancellation",
        "method": "POST",
        "path": "/fulfillment-cancellations",
        "idempotencyKey": f"fulfillment-cancellation:{request_id}:{FO}",
        "body": {
            "fulfillmentOrderId": FO,
            "upstreamId": ORDER,
            "items": [
                {
                    "fulfillmentOrderItemId": FO_LINE,
                    "fulfillmentOrderItemUpstreamId": LINE,
                    "quantity": quantity,
                }
            ],
        },
    }


def cancel_note(quantity: int, now: int) -> dict[str, Any]:
    """The customer notification of ``quantity`` more cancelled units."""
    return {
        "command": "NotifyCustomerOfCancellation",
        "idempotencyKey": f"notify:cancellation:{FO}:{FO_LINE}:{now}",
        "orderId": ORDER,
        "itemId": LINE,
        "quantity": quantity,
    }


def unreported_line() -> OrderLine:
    """The order line with nothing reported to DR (nothing ever is, here)."""
    return OrderLine(
        item_id=LINE,
        sku_id=f"sku-{LINE}",
        quantity=2,
        physical=True,
        amount=Decimal("20.0"),
        tax_amount=Decimal("1.61"),
    )


class TestOrchestratedModel:
    """DR-orchestrated fulfilment: notifications and cancellation requests only."""

    def test_real_order_accepted_creates_no_fulfillment_order(self) -> None:
        """DR's real ``order.accepted``: DR creates the FO itself; nothing emitted."""
        engine = Engine(IntegrationModel.ORCHESTRATED)
        assert feed(engine, load_payload("event-order.accepted.json")) == []
        state = engine.orders[ORDER]
        assert state.status is OrderStatus.ACCEPTED
        assert state.fulfillment_order_requested is False

    def test_backorder_is_notified(self) -> None:
        """``fulfillment_order.backordered`` notifies once per increase."""
        engine = started()
        event = backordered("b1", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        assert feed(
            engine, event, backordered("b1-again", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        ) == [
            {
                "command": "NotifyCustomerOfBackorder",
                "idempotencyKey": f"notify:backorder:{FO}:{FO_LINE}:1",
                "orderId": ORDER,
                "itemId": LINE,
                "quantity": 1,
                "totalBackordered": 1,
                "availableTime": "2021-11-25T20:36:00Z",
            }
        ]

    def test_shipment_is_notified_but_never_captured(self) -> None:
        """A shipment notifies the customer once; no POST /fulfillments, ever."""
        engine = started()
        assert feed(
            engine, ship("s1", "sh1"), ship("s1-new-id", "sh1"), ship("s2", "sh2")
        ) == [
            {
                "command": "NotifyCustomerOfShipment",
                "idempotencyKey": "notify:shipment:sh1",
                "orderId": ORDER,
                "shipmentId": "sh1",
                "items": [{"itemId": LINE, "quantity": 1}],
                "tracking": {
                    "company": "Fedex",
                    "number": "Z1",
                    "url": "http://fedex.example/Z1",
                },
            },
            {
                "command": "NotifyCustomerOfShipment",
                "idempotencyKey": "notify:shipment:sh2",
                "orderId": ORDER,
                "shipmentId": "sh2",
                "items": [{"itemId": LINE, "quantity": 1}],
                "tracking": {
                    "company": "Fedex",
                    "number": "Z1",
                    "url": "http://fedex.example/Z1",
                },
            },
        ]
        assert engine.orders[ORDER].lines == (unreported_line(),)

    def test_shipment_before_fulfillment_order_waits_then_notifies(self) -> None:
        """A shipment for an FO not yet seen waits; the FO releases its notice only."""
        engine = Engine(IntegrationModel.ORCHESTRATED)
        feed(engine, accepted())
        assert feed(engine, ship("s1", "sh1")) == []
        outcome = engine.handle(parse_input(fo_pending()))
        assert [c["command"] for c in map(command_json, outcome.commands)] == [
            "NotifyCustomerOfShipment"
        ]
        assert outcome.released == ("s1",)

    def test_cancellations_are_notified_once_but_never_reported(self) -> None:
        """Cancellation accepted and FO cancelled for the same unit: one notice, no cancel."""
        engine = started()
        accepted_cancel = cancellation(
            "fc", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 1, 1)]
        )
        snapshot = fulfillment_order(
            "fo-cancelled",
            "fulfillment_order.cancelled",
            FO,
            ORDER,
            [fo_line(FO_LINE, LINE, 2, cancelled=1)],
        )
        assert feed(engine, accepted_cancel, snapshot) == [cancel_note(1, 1)]
        snapshot2 = fulfillment_order(
            "fo-cancelled-2",
            "fulfillment_order.cancelled",
            FO,
            ORDER,
            [fo_line(FO_LINE, LINE, 2, cancelled=2)],
        )
        assert feed(engine, snapshot2) == [cancel_note(1, 2)]
        assert engine.orders[ORDER].lines == (unreported_line(),)

    def test_valid_cancellation_request_is_sent(self) -> None:
        """``request_cancellation`` within pending units emits POST /fulfillment-cancellations."""
        engine = started()
        doc = request("request_cancellation", "r1", ORDER, [(LINE, 2)])
        assert feed(engine, doc) == [cancellation_request("r1", 2)]

    def test_over_cancellation_request_is_refused(self) -> None:
        """Outstanding requests and shipped units count against a new request."""
        engine = started()
        feed(engine, ship("s1", "sh1"))
        with pytest.raises(QuantityExceeded) as info:
            engine.handle(
                parse_input(request("request_cancellation", "r1", ORDER, [(LINE, 2)]))
            )
        assert (info.value.input_id, info.value.field) == ("r1", "items[0].quantity")
        doc = request("request_cancellation", "r2", ORDER, [(LINE, 1)])
        assert feed(engine, doc) == [cancellation_request("r2", 1)]

    def test_rejected_cancellation_is_notified(self) -> None:
        """A rejected cancellation notifies the customer and frees the units."""
        engine = started()
        feed(engine, request("request_cancellation", "r1", ORDER, [(LINE, 2)]))
        rejected = cancellation(
            "fc", "rejected", "ret_1", FO, ORDER, [(FO_LINE, 2, None)]
        )
        assert feed(engine, rejected) == [
            {
                "command": "NotifyCustomerOfRejectedCancellation",
                "idempotencyKey": "notify:cancellation-rejected:ret_1",
                "orderId": ORDER,
                "cancellationId": "ret_1",
            }
        ]
        doc = request("request_cancellation", "r2", ORDER, [(LINE, 2)])
        assert feed(engine, doc) == [cancellation_request("r2", 2)]

    @pytest.mark.parametrize("kind", ["report_shipment", "report_cancellation"])
    def test_merchant_reports_are_unsupported(self, kind: str) -> None:
        """``report_shipment``/``report_cancellation``: UnsupportedInModel, nothing changed."""
        engine = started()
        before = dict(engine.orders)
        with pytest.raises(UnsupportedInModel) as info:
            engine.handle(parse_input(request(kind, "rep1", ORDER, [(LINE, 1)])))
        assert info.value.input_id == "rep1"
        assert info.value.field is None
        assert info.value.reason == (
            "in the orchestrated model DR captures and cancels itself; nothing is reported"
        )
        assert engine.orders == before

    def test_closing_order_events_do_not_wait(self) -> None:
        """``order.fulfilled``/``complete`` apply at once: DR did the reporting."""
        engine = started()
        assert (
            feed(
                engine,
                order_event("evt-fulfilled", "fulfilled", "2021-11-03T09:05:00Z"),
                order_event("evt-complete", "complete", "2021-11-03T09:06:00Z"),
            )
            == []
        )
        assert engine.orders[ORDER].status is OrderStatus.COMPLETE
        assert engine.waiting() == []

    def test_full_history_never_calls_fulfillment_apis(self) -> None:
        """A whole history, with dispute and resolution, emits no FO and no fulfillment."""
        engine = Engine(IntegrationModel.ORCHESTRATED)
        resolved = envelope(
            "evt-resolved",
            "order.dispute.resolved",
            order(state="accepted", transitions=("accepted", "dispute")),
            "2021-11-02T12:00:00Z",
        )
        commands = feed(
            engine,
            ship("s1", "sh1"),
            accepted(),
            accepted("evt-accepted-again"),
            order_event(
                "evt-dispute",
                "dispute",
                "2021-11-02T08:00:00Z",
                transitions=("accepted", "dispute"),
            ),
            fo_pending(),
            backordered("b1", FO, ORDER, [(FO_LINE, LINE, 1, 1)]),
            resolved,
            request("request_cancellation", "r1", ORDER, [(LINE, 1)]),
            cancellation("fc", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 1, 1)]),
            order_event("evt-fulfilled", "fulfilled", "2021-11-03T09:05:00Z"),
        )
        assert [c["command"] for c in commands] == [
            "NotifyCustomerOfShipment",
            "NotifyCustomerOfBackorder",
            "CreateFulfillmentCancellation",
            "NotifyCustomerOfCancellation",
        ]
        assert not API & {c["command"] for c in commands}
        assert engine.orders[ORDER].status is OrderStatus.FULFILLED
        assert engine.orders[ORDER].lines == (unreported_line(),)

    def test_cancellation_request_for_a_line_split_across_fos(self) -> None:
        """A line held by two FOs: the unit still pending in the second is cancellable."""
        engine = Engine(IntegrationModel.ORCHESTRATED)
        feed(
            engine,
            accepted(),
            fulfillment_order(
                "f1",
                "fulfillment_order.pending",
                "100",
                ORDER,
                [fo_line("1001", LINE, 1)],
            ),
            fulfillment_order(
                "f2",
                "fulfillment_order.pending",
                "200",
                ORDER,
                [fo_line("2001", LINE, 1)],
            ),
            shipped("s1", "sh1", "100", ORDER, [("i1", "1001", LINE, 1)]),
        )
        doc = request("request_cancellation", "r1", ORDER, [(LINE, 1)])
        assert feed(engine, doc) == [
            {
                "command": "CreateFulfillmentCancellation",
                "method": "POST",
                "path": "/fulfillment-cancellations",
                "idempotencyKey": "fulfillment-cancellation:r1:200",
                "body": {
                    "fulfillmentOrderId": "200",
                    "upstreamId": ORDER,
                    "items": [
                        {
                            "fulfillmentOrderItemId": "2001",
                            "fulfillmentOrderItemUpstreamId": LINE,
                            "quantity": 1,
                        }
                    ],
                },
            }
        ]
