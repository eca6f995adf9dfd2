"""Scenario tests of the third-party model: the merchant's fulfiller reports to the engine.

``report_shipment``/``report_cancellation`` requests are validated against what remains
of the DR order line and become ``POST /fulfillments`` once the order is ``accepted``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from builders import Json, envelope, order, order_event, request
from conftest import load_payload
from drfulfillment.codecs import command_json
from drfulfillment.domain import (
    Engine,
    IntegrationModel,
    OrderStatus,
    QuantityExceeded,
    RequestedUnits,
    Tracking,
    UnknownReference,
    UnsupportedInModel,
)
from drfulfillment.domain.state import MerchantReport, OrderLine, ReportKind
from harness import feed, handle

ORDER = "204440790336"
LINE = "127911830336"
LINE_B = "127911830337"

TRACKING_REQUEST = {
    "trackingCompany": "UPS",
    "trackingNumber": "1Z999",
    "trackingUrl": "https://ups.example/1Z999",
}


def accepted(
    event_id: str = "evt-accepted",
    items: tuple[tuple[str, int, bool | None], ...] = (
        (LINE, 2, None),
        (LINE_B, 3, None),
    ),
) -> Json:
    """``order.accepted`` with two lines (2 and 3 units), built on DR's real payload."""
    return order_event(event_id, "accepted", "2021-11-01T18:23:06Z", items=items)


def started() -> Engine:
    """A third-party engine that has seen ``order.accepted``; no FO is created."""
    engine = Engine(IntegrationModel.THIRD_PARTY)
    assert feed(engine, accepted()) == []
    return engine


def report_shipment(
    request_id: str, items: list[tuple[str, int]], *, tracking: bool = True
) -> Json:
    """A merchant ``report_shipment`` line."""
    extra = TRACKING_REQUEST if tracking else {}
    return request("report_shipment", request_id, ORDER, items, **extra)


def report_cancellation(request_id: str, items: list[tuple[str, int]]) -> Json:
    """A merchant ``report_cancellation`` line."""
    return request("report_cancellation", request_id, ORDER, items)


def fulfillment(
    request_id: str, items: list[dict[str, Any]], *, tracking: bool = False
) -> dict[str, Any]:
    """The exact ``POST /fulfillments`` line for a merchant report."""
    body: dict[str, Any] = {"orderId": ORDER, "items": items}
    if tracking:
        body.update(TRACKING_REQUEST)
    return {
        "command": "CreateFulfillment",
        "method": "POST",
        "path": "/fulfillments",
        "idempotencyKey": f"fulfillment:request:{request_id}",
        "body": body,
    }


def line(
    item_id: str, quantity: int, *, fulfilled: int = 0, cancelled: int = 0
) -> OrderLine:
    """The engine's record of a builder order line."""
    return OrderLine(
        item_id=item_id,
        sku_id=f"sku-{item_id}",
        quantity=quantity,
        physical=True,
        amount=Decimal("20.0"),
        tax_amount=Decimal("1.61"),
        fulfilled=fulfilled,
        cancelled=cancelled,
    )


class TestThirdPartyReports:
    """Merchant reports validated against the DR order line, then POST /fulfillments."""

    def test_real_order_accepted_emits_nothing(self) -> None:
        """DR's real ``order.accepted``: no fulfillment order in this model."""
        engine = Engine(IntegrationModel.THIRD_PARTY)
        assert feed(engine, load_payload("event-order.accepted.json")) == []
        assert engine.orders[ORDER].fulfillment_order_requested is False

    def test_report_shipment_captures_with_tracking(self) -> None:
        """``report_shipment`` -> POST /fulfillments with quantity and tracking."""
        engine = started()
        assert feed(engine, report_shipment("ship-1", [(LINE, 1), (LINE_B, 3)])) == [
            fulfillment(
                "ship-1",
                [{"itemId": LINE, "quantity": 1}, {"itemId": LINE_B, "quantity": 3}],
                tracking=True,
            )
        ]
        state = engine.orders[ORDER]
        assert state.lines == (line(LINE, 2, fulfilled=1), line(LINE_B, 3, fulfilled=3))
        assert state.reports == (
            MerchantReport(
                request_id="ship-1",
                kind=ReportKind.SHIPMENT,
                items=(RequestedUnits(LINE, 1), RequestedUnits(LINE_B, 3)),
                tracking=Tracking(
                    company="UPS", number="1Z999", url="https://ups.example/1Z999"
                ),
                reported=True,
            ),
        )

    def test_report_shipment_without_tracking(self) -> None:
        """No tracking given: no tracking fields in the body."""
        engine = started()
        assert feed(engine, report_shipment("ship-1", [(LINE, 2)], tracking=False)) == [
            fulfillment("ship-1", [{"itemId": LINE, "quantity": 2}])
        ]

    def test_report_cancellation_cancels(self) -> None:
        """``report_cancellation`` -> POST /fulfillments with cancelQuantity."""
        engine = started()
        assert feed(engine, report_cancellation("cancel-1", [(LINE_B, 2)])) == [
            fulfillment("cancel-1", [{"itemId": LINE_B, "cancelQuantity": 2}])
        ]
        assert engine.orders[ORDER].lines == (
            line(LINE, 2),
            line(LINE_B, 3, cancelled=2),
        )

    def test_reports_beyond_the_remaining_units_are_refused(self) -> None:
        """Shipped 1 + cancelled 1 of 2: one more unit of either is refused."""
        engine = started()
        feed(
            engine,
            report_shipment("ship-1", [(LINE, 1)]),
            report_cancellation("cancel-1", [(LINE, 1)]),
        )
        before = dict(engine.orders)
        for doc in (
            report_shipment("ship-2", [(LINE_B, 1), (LINE, 1)]),
            report_cancellation("cancel-2", [(LINE_B, 1), (LINE, 1)]),
        ):
            with pytest.raises(QuantityExceeded) as info:
                handle(engine, doc)
            assert info.value.input_id == doc["id"]
            assert info.value.field == "items[1].quantity"
            kind = "shipment" if doc["request"] == "report_shipment" else "cancellation"
            assert info.value.reason == (
                f"line {LINE}: 1 to report {kind} but only 0 of 2 units are neither "
                "fulfilled nor cancelled"
            )
            assert engine.orders == before
        assert feed(engine, report_shipment("ship-3", [(LINE_B, 3)])) == [
            fulfillment("ship-3", [{"itemId": LINE_B, "quantity": 3}], tracking=True)
        ]

    def test_a_line_named_twice_is_summed(self) -> None:
        """Two entries of one line are one total, checked at the first entry."""
        engine = started()
        with pytest.raises(QuantityExceeded) as info:
            handle(engine, report_shipment("ship-1", [(LINE, 1), (LINE, 2)]))
        assert info.value.field == "items[0].quantity"
        assert feed(engine, report_shipment("ship-2", [(LINE, 1), (LINE, 1)])) == [
            fulfillment("ship-2", [{"itemId": LINE, "quantity": 2}], tracking=True)
        ]

    def test_unknown_order_is_refused(self) -> None:
        """A report for an order the engine never saw: UnknownReference at orderId."""
        engine = started()
        doc = request("report_shipment", "ship-1", "999", [(LINE, 1)])
        with pytest.raises(UnknownReference) as info:
            handle(engine, doc)
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "ship-1",
            "orderId",
            "order 999 is not known yet (no order event seen)",
        )
        assert list(engine.orders) == [ORDER]

    def test_unknown_line_is_refused(self) -> None:
        """A line the order does not have: UnknownReference at items[i].itemId."""
        engine = started()
        doc = report_cancellation("cancel-1", [(LINE, 1), ("nope", 1)])
        with pytest.raises(UnknownReference) as info:
            handle(engine, doc)
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "cancel-1",
            "items[1].itemId",
            f"order {ORDER} has no line nope",
        )
        assert engine.orders[ORDER].reports == ()

    def test_reports_before_acceptance_are_held(self) -> None:
        """In review: reports are recorded, not sent; ``order.accepted`` sends them."""
        engine = Engine(IntegrationModel.THIRD_PARTY)
        review = order_event(
            "evt-review",
            "in_review",
            "2021-11-01T18:00:00Z",
            items=((LINE, 2, None), (LINE_B, 3, None)),
            transitions=("in_review",),
        )
        assert (
            feed(
                engine,
                review,
                report_shipment("ship-1", [(LINE, 1)]),
                report_cancellation("cancel-1", [(LINE_B, 3)]),
            )
            == []
        )
        assert [r.reported for r in engine.orders[ORDER].reports] == [False, False]
        with pytest.raises(QuantityExceeded):
            handle(engine, report_shipment("ship-2", [(LINE_B, 1)]))
        assert feed(engine, accepted()) == [
            fulfillment("cancel-1", [{"itemId": LINE_B, "cancelQuantity": 3}]),
            fulfillment("ship-1", [{"itemId": LINE, "quantity": 1}], tracking=True),
        ]
        assert engine.orders[ORDER].lines == (
            line(LINE, 2, fulfilled=1),
            line(LINE_B, 3, cancelled=3),
        )

    def test_reports_in_dispute_are_held_until_resolved(self) -> None:
        """No POST /fulfillments while disputed; sent after ``order.dispute.resolved``."""
        engine = started()
        dispute = order_event(
            "evt-dispute",
            "dispute",
            "2021-11-02T08:00:00Z",
            items=((LINE, 2, None), (LINE_B, 3, None)),
            transitions=("accepted", "dispute"),
        )
        assert feed(engine, dispute, report_shipment("ship-1", [(LINE, 2)])) == []
        resolved = envelope(
            "evt-resolved",
            "order.dispute.resolved",
            order(items=((LINE, 2, None), (LINE_B, 3, None)), state="accepted"),
            "2021-11-02T12:00:00Z",
        )
        assert feed(engine, resolved) == [
            fulfillment("ship-1", [{"itemId": LINE, "quantity": 2}], tracking=True)
        ]

    def test_request_cancellation_is_unsupported(self) -> None:
        """``request_cancellation``: UnsupportedInModel, nothing changed."""
        engine = started()
        before = dict(engine.orders)
        doc = request("request_cancellation", "r1", ORDER, [(LINE, 1)])
        with pytest.raises(UnsupportedInModel) as info:
            handle(engine, doc)
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "r1",
            None,
            "the third-party model has no fulfillment orders; use report_cancellation",
        )
        assert engine.orders == before

    def test_duplicate_request_id_does_nothing(self) -> None:
        """The same request id again, even with other items: nothing more."""
        engine = started()
        feed(engine, report_shipment("ship-1", [(LINE, 1)]))
        for doc in (
            report_shipment("ship-1", [(LINE, 1)]),
            report_shipment("ship-1", [(LINE, 1), (LINE_B, 1)]),
            report_cancellation("ship-1", [(LINE, 1)]),
        ):
            outcome = handle(engine, doc)
            assert (outcome.outcome, outcome.commands) == ("duplicate", ())
        assert engine.orders[ORDER].lines == (
            line(LINE, 2, fulfilled=1),
            line(LINE_B, 3),
        )

    def test_order_fulfilled_waits_for_every_report(self) -> None:
        """``order.fulfilled`` waits until every unit was reported, then applies."""
        engine = started()
        fulfilled = order_event(
            "evt-fulfilled",
            "fulfilled",
            "2021-11-03T09:05:00Z",
            items=((LINE, 2, None), (LINE_B, 3, None)),
        )
        feed(engine, report_shipment("ship-1", [(LINE, 2)]))
        assert handle(engine, fulfilled).outcome == "waiting"
        outcome = handle(engine, report_cancellation("cancel-1", [(LINE_B, 3)]))
        assert [command_json(c) for c in outcome.commands] == [
            fulfillment("cancel-1", [{"itemId": LINE_B, "cancelQuantity": 3}])
        ]
        assert outcome.released == ("evt-fulfilled",)
        assert engine.orders[ORDER].status is OrderStatus.FULFILLED
        with pytest.raises(QuantityExceeded):
            handle(engine, report_shipment("ship-2", [(LINE, 1)]))
