"""Scenario tests of the distributed model: DR event histories in, exact DR calls out.

Each test feeds a history (built with ``tests/builders.py`` or taken from DR's real
payloads) through ``parse_input`` and ``Engine.handle`` and asserts the exact command
sequence, rendered by ``command_json`` as the replay CLI prints it, and the final state.
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
from drfulfillment.codecs import command_json
from drfulfillment.domain import (
    Engine,
    IntegrationModel,
    OrderStatus,
    QuantityExceeded,
    Tracking,
    UnknownReference,
)
from drfulfillment.domain.lifecycles import CancellationStatus
from drfulfillment.domain.state import (
    Cancellation,
    CancellationLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    OrderLine,
    PendingCancellationRequest,
    Shipment,
    ShipmentLine,
)
from harness import feed, handle

ORDER = "204440790336"
LINE = "127911830336"
LINE_B = "127911830337"
FO = "5774321009"
FO_LINE = "650398674428"
FO_LINE_B = "650398674429"

T_ACCEPTED = "2021-11-01T18:23:06Z"
T_FULFILLED = "2021-11-03T09:05:00Z"
T_COMPLETE = "2021-11-03T09:06:00Z"

SHIP_TO = {
    "address": {
        "line1": "1234 Any Road W",
        "city": "Minneapolis",
        "postalCode": "55401",
        "state": "MN",
        "country": "US",
    },
    "name": "Chase Marshall",
}
TRACKING_BODY = {
    "trackingCompany": "Fedex",
    "trackingNumber": "Z1",
    "trackingUrl": "http://fedex.example/Z1",
}
TRACKING_NOTE = {"company": "Fedex", "number": "Z1", "url": "http://fedex.example/Z1"}
TRACKING = Tracking(company="Fedex", number="Z1", url="http://fedex.example/Z1")


# --- helpers ---------------------------------------------------------------------------


def accepted(
    event_id: str = "evt-accepted",
    *,
    items: tuple[tuple[str, int, bool | None], ...] = ((LINE, 2, None),),
    order_id: str = ORDER,
) -> Json:
    """``order.accepted`` built on DR's real payload."""
    return order_event(event_id, "accepted", T_ACCEPTED, order_id=order_id, items=items)


def fo_pending(*lines: Json, event_id: str = "evt-fo-pending", fo_id: str = FO) -> Json:
    """``fulfillment_order.pending`` for ``ORDER`` (one line of 2 units by default)."""
    return fulfillment_order(
        event_id,
        "fulfillment_order.pending",
        fo_id,
        ORDER,
        list(lines) or [fo_line(FO_LINE, LINE, 2)],
    )


def fo_cancelled(event_id: str, *lines: Json) -> Json:
    """``fulfillment_order.cancelled`` for ``ORDER`` with the given line buckets."""
    return fulfillment_order(
        event_id,
        "fulfillment_order.cancelled",
        FO,
        ORDER,
        list(lines),
        "2021-11-03T09:00:02Z",
    )


def ship(
    event_id: str,
    shipment_id: str,
    quantity: int = 1,
    *,
    item_id: str = "8760948870",
    tracking: bool = True,
) -> Json:
    """``fulfillment_order.shipped`` of ``quantity`` units of ``FO_LINE``."""
    return shipped(
        event_id,
        shipment_id,
        FO,
        ORDER,
        [(item_id, FO_LINE, LINE, quantity)],
        tracking=tracking,
    )


def create_fo(items: list[tuple[str, int]], order_id: str = ORDER) -> dict[str, Any]:
    """The exact ``POST /fulfillment-orders`` line for the builder's order."""
    return {
        "command": "CreateFulfillmentOrder",
        "method": "POST",
        "path": "/fulfillment-orders",
        "idempotencyKey": f"fulfillment-order:{order_id}",
        "body": {
            "currency": "USD",
            "locale": "en_US",
            "upstreamOrderTime": "2021-11-01T18:23:02Z",
            "upstreamId": order_id,
            "reservationId": "0ef63391-ba3e-4c9d-9eb7-4f00cd2c3a39",
            "name": "Chase Marshall",
            "email": "marshallsBillingEmail@digitalriver.com",
            "shipTo": SHIP_TO,
            "shippingChoice": {"id": "SG"},
            "items": [
                {
                    "upstreamId": item,
                    "inventoryItemId": f"sku-{item}",
                    "quantity": quantity,
                    "total": 20.0,
                    "tax": {"amount": 1.61},
                }
                for item, quantity in items
            ],
        },
    }


def capture(
    shipment_id: str,
    quantity: int,
    *,
    item_id: str = "8760948870",
    tracking: bool = True,
) -> dict[str, Any]:
    """The exact ``POST /fulfillments`` capturing a shipment of ``LINE``."""
    body: dict[str, Any] = {
        "orderId": ORDER,
        "shipmentId": shipment_id,
        "items": [{"itemId": LINE, "quantity": quantity, "shipmentItemId": item_id}],
    }
    if tracking:
        body.update(TRACKING_BODY)
    return {
        "command": "CreateFulfillment",
        "method": "POST",
        "path": "/fulfillments",
        "idempotencyKey": f"fulfillment:shipment:{shipment_id}",
        "body": body,
    }


def shipment_note(
    shipment_id: str, quantity: int, *, tracking: bool = True
) -> dict[str, Any]:
    """The exact customer notification of a shipment of ``LINE``."""
    note: dict[str, Any] = {
        "command": "NotifyCustomerOfShipment",
        "idempotencyKey": f"notify:shipment:{shipment_id}",
        "orderId": ORDER,
        "shipmentId": shipment_id,
        "items": [{"itemId": LINE, "quantity": quantity}],
    }
    if tracking:
        note["tracking"] = TRACKING_NOTE
    return note


def cancel_note(quantity: int, now: int) -> dict[str, Any]:
    """The customer notification that ``quantity`` more units of ``LINE`` were cancelled."""
    return {
        "command": "NotifyCustomerOfCancellation",
        "idempotencyKey": f"notify:cancellation:{FO}:{FO_LINE}:{now}",
        "orderId": ORDER,
        "itemId": LINE,
        "quantity": quantity,
    }


def cancel(before: int, delta: int) -> dict[str, Any]:
    """The exact ``POST /fulfillments`` cancelling ``delta`` units of ``LINE``."""
    return {
        "command": "CreateFulfillment",
        "method": "POST",
        "path": "/fulfillments",
        "idempotencyKey": f"fulfillment:cancel:{ORDER}:{LINE}:{before}+{delta}",
        "body": {
            "orderId": ORDER,
            "items": [{"itemId": LINE, "cancelQuantity": delta}],
        },
    }


def cancellation_request(request_id: str, quantity: int) -> dict[str, Any]:
    """The exact ``POST /fulfillment-cancellations`` for ``quantity`` units of ``FO_LINE``."""
    return {
        "command": "CreateFulfillmentCancellation",
        "method": "POST",
        "path": "/fulfillment-cancellations",
        "idempotencyKey": f"fulfillment-cancellation:{request_id}:{FO}",
        "body": {
            "fulfillmentOrderId": FO,
            "upstreamId": ORDER,
            "reason": "requested_by_customer",
            "items": [
                {
                    "fulfillmentOrderItemId": FO_LINE,
                    "fulfillmentOrderItemUpstreamId": LINE,
                    "quantity": quantity,
                }
            ],
        },
    }


def cancel_request(request_id: str, quantity: int, item_id: str = LINE) -> Json:
    """A merchant ``request_cancellation`` line."""
    return request(
        "request_cancellation",
        request_id,
        ORDER,
        [(item_id, quantity)],
        reason="requested_by_customer",
    )


def order_line(
    *, fulfilled: int = 0, cancelled: int = 0, quantity: int = 2, item_id: str = LINE
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


def started(*docs: Json) -> Engine:
    """A distributed engine that has seen ``order.accepted`` and the FO (2 units)."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    assert feed(engine, accepted(), fo_pending(), *docs)[0] == create_fo([(LINE, 2)])
    return engine


# --- tests -----------------------------------------------------------------------------


class TestFulfillmentOrderCreation:
    """``order.accepted`` -> exactly one ``POST /fulfillment-orders`` for physical lines."""

    def test_real_order_accepted_creates_one_fulfillment_order(self) -> None:
        """DR's real ``order.accepted`` payload yields exactly its POST /fulfillment-orders."""
        engine = Engine()
        commands = feed(engine, load_payload("event-order.accepted.json"))
        expected = create_fo([])
        expected["body"]["items"] = [
            {
                "upstreamId": LINE,
                "inventoryItemId": "ed7b06bd-7b2e-4525-9156-cd6fcbe7fe42",
                "quantity": 2,
                "total": 20.0,
                "tax": {"amount": 1.61},
            }
        ]
        assert commands == [expected]
        state = engine.orders[ORDER]
        assert state.status is OrderStatus.ACCEPTED
        assert state.fulfillment_order_requested is True
        assert state.seen == ("e5bf7399-49ba-4ea6-a217-65e8efcaee86",)

    def test_repeated_order_accepted_creates_nothing_more(self) -> None:
        """The same event redelivered, or under another id, emits no second FO."""
        engine = Engine()
        first = accepted("evt-a1")
        assert feed(engine, first) == [create_fo([(LINE, 2)])]
        assert handle(engine, first).outcome == "duplicate"
        assert feed(engine, first, accepted("evt-a2")) == []
        assert engine.orders[ORDER].seen == ("evt-a1", "evt-a2")

    def test_known_fulfillment_order_suppresses_creation(self) -> None:
        """An FO seen before ``order.accepted`` means none is created."""
        engine = Engine()
        assert feed(engine, fo_pending(), accepted()) == []
        state = engine.orders[ORDER]
        assert state.status is OrderStatus.ACCEPTED
        assert [fo.id for fo in state.fulfillment_orders] == [FO]

    def test_only_digital_lines_create_nothing(self) -> None:
        """``productDetails.physical=false`` on every line: no fulfillment order."""
        engine = Engine()
        items = ((LINE, 2, False), (LINE_B, 1, False))
        assert feed(engine, accepted(items=items)) == []
        state = engine.orders[ORDER]
        assert [ln.physical for ln in state.lines] == [False, False]
        assert state.fulfillment_order_requested is False

    @pytest.mark.parametrize(
        ("catalog", "expected"),
        [
            ({f"sku-{LINE}": False}, []),
            ({f"sku-{LINE}": True}, [create_fo([(LINE, 2)])]),
            ({}, [create_fo([(LINE, 2)])]),
        ],
    )
    def test_catalog_decides_when_payload_is_silent(
        self, catalog: dict[str, bool], expected: list[dict[str, Any]]
    ) -> None:
        """Without ``productDetails.physical`` the catalog decides (default physical)."""
        engine = Engine(catalog=catalog)
        assert feed(engine, accepted()) == expected
        assert engine.orders[ORDER].lines[0].physical is catalog.get(
            f"sku-{LINE}", True
        )

    def test_payload_overrides_catalog(self) -> None:
        """``productDetails.physical`` wins over the catalog."""
        engine = Engine(catalog={f"sku-{LINE}": False})
        assert feed(engine, accepted(items=((LINE, 2, True),))) == [
            create_fo([(LINE, 2)])
        ]

    def test_mixed_order_sends_only_physical_items(self) -> None:
        """Physical and digital lines: only the physical ones are in the body."""
        engine = Engine(catalog={f"sku-{LINE_B}": False})
        items = ((LINE, 2, None), (LINE_B, 1, None), ("127911830338", 3, True))
        assert feed(engine, accepted(items=items)) == [
            create_fo([(LINE, 2), ("127911830338", 3)])
        ]

    def test_fulfillment_order_pending_is_recorded_without_api_call(self) -> None:
        """``fulfillment_order.pending`` records the FO and its lines; no command."""
        engine = Engine()
        feed(engine, accepted())
        outcome = handle(engine, fo_pending())
        assert outcome.commands == ()
        assert outcome.outcome == "applied"
        assert engine.orders[ORDER].fulfillment_orders == (
            FulfillmentOrder(
                id=FO,
                order_id=ORDER,
                lines=(
                    FulfillmentOrderLine(
                        id=FO_LINE,
                        upstream_id=LINE,
                        inventory_item_id=f"sku-{LINE}",
                        quantity=2,
                    ),
                ),
            ),
        )


class TestBackorders:
    """``fulfillment_order.backordered``: one notice per increase of ``totalBackordered``."""

    def _event(self, event_id: str, now: int, total: int) -> Json:
        return backordered(event_id, FO, ORDER, [(FO_LINE, LINE, now, total)])

    def _note(self, quantity: int, total: int) -> dict[str, Any]:
        return {
            "command": "NotifyCustomerOfBackorder",
            "idempotencyKey": f"notify:backorder:{FO}:{FO_LINE}:{total}",
            "orderId": ORDER,
            "itemId": LINE,
            "quantity": quantity,
            "totalBackordered": total,
            "availableTime": "2021-11-25T20:36:00Z",
        }

    def test_notifies_once_per_increase(self) -> None:
        """1, duplicate 1, 2, then a lower 1: two notices, of 1 unit each."""
        engine = started()
        assert feed(engine, self._event("b1", 1, 1)) == [self._note(1, 1)]
        assert feed(engine, self._event("b1", 1, 1)) == []
        assert feed(engine, self._event("b1-again", 1, 1)) == []
        assert feed(engine, self._event("b2", 1, 2)) == [self._note(1, 2)]
        assert feed(engine, self._event("b-stale", 1, 1)) == []
        line = engine.orders[ORDER].fulfillment_orders[0].lines[0]
        assert line.total_backordered == 2

    def test_jump_notifies_the_whole_increase(self) -> None:
        """A total seen first as 2 is one notice of 2 units; no API call."""
        engine = started()
        assert feed(engine, self._event("b2", 2, 2)) == [self._note(2, 2)]
        assert engine.orders[ORDER].lines == (order_line(),)


class TestShipments:
    """``fulfillment_order.shipped``: exactly one capture per shipment id, ever."""

    def test_one_capture_per_shipment(self) -> None:
        """A shipment is captured once; tracking is copied to the body."""
        engine = started()
        assert feed(engine, ship("s1", "29016544906")) == [
            shipment_note("29016544906", 1),
            capture("29016544906", 1),
        ]
        state = engine.orders[ORDER]
        assert state.lines == (order_line(fulfilled=1),)
        assert state.shipments == (
            Shipment(
                id="29016544906",
                fulfillment_order_id=FO,
                lines=(
                    ShipmentLine(
                        id="8760948870",
                        fulfillment_order_item_id=FO_LINE,
                        item_id=LINE,
                        quantity=1,
                    ),
                ),
                tracking=TRACKING,
                reported=True,
            ),
        )

    def test_same_shipment_under_another_event_id_is_not_captured_again(self) -> None:
        """Redelivered (same id) or re-sent (new id): nothing more."""
        engine = started(ship("s1", "29016544906"))
        assert feed(engine, ship("s1", "29016544906")) == []
        outcome = handle(engine, ship("s1-new-id", "29016544906"))
        assert outcome.commands == ()
        assert outcome.outcome == "applied"
        assert engine.orders[ORDER].lines == (order_line(fulfilled=1),)

    def test_two_shipments_two_captures(self) -> None:
        """Two shipment ids of one unit each: two captures."""
        engine = started()
        assert feed(
            engine,
            ship("s1", "29016544906", item_id="i1"),
            ship("s2", "29016544907", item_id="i2", tracking=False),
        ) == [
            shipment_note("29016544906", 1),
            capture("29016544906", 1, item_id="i1"),
            shipment_note("29016544907", 1, tracking=False),
            capture("29016544907", 1, item_id="i2", tracking=False),
        ]
        assert engine.orders[ORDER].lines == (order_line(fulfilled=2),)

    def test_multi_line_shipment_is_one_capture(self) -> None:
        """A shipment of two lines is one POST /fulfillments with both items."""
        engine = Engine()
        feed(
            engine,
            accepted(items=((LINE, 2, None), (LINE_B, 1, None))),
            fo_pending(fo_line(FO_LINE, LINE, 2), fo_line(FO_LINE_B, LINE_B, 1)),
        )
        event = shipped(
            "s1",
            "29016544906",
            FO,
            ORDER,
            [("i1", FO_LINE, LINE, 2), ("i2", FO_LINE_B, LINE_B, 1)],
        )
        assert feed(engine, event) == [
            {
                "command": "NotifyCustomerOfShipment",
                "idempotencyKey": "notify:shipment:29016544906",
                "orderId": ORDER,
                "shipmentId": "29016544906",
                "items": [
                    {"itemId": LINE, "quantity": 2},
                    {"itemId": LINE_B, "quantity": 1},
                ],
                "tracking": TRACKING_NOTE,
            },
            {
                "command": "CreateFulfillment",
                "method": "POST",
                "path": "/fulfillments",
                "idempotencyKey": "fulfillment:shipment:29016544906",
                "body": {
                    "orderId": ORDER,
                    "shipmentId": "29016544906",
                    "items": [
                        {"itemId": LINE, "quantity": 2, "shipmentItemId": "i1"},
                        {"itemId": LINE_B, "quantity": 1, "shipmentItemId": "i2"},
                    ],
                    **TRACKING_BODY,
                },
            },
        ]


class TestCancellations:
    """Cancelled units are reported once, as the delta over what DR was told."""

    def test_cumulative_cancelled_bucket_reports_deltas(self) -> None:
        """Two partial cancels, 1 then 2 cumulative: cancelQuantity 1 then 1."""
        engine = Engine()
        feed(
            engine,
            accepted(items=((LINE, 3, None),)),
            fo_pending(fo_line(FO_LINE, LINE, 3)),
        )
        assert feed(
            engine, fo_cancelled("c1", fo_line(FO_LINE, LINE, 3, cancelled=1))
        ) == [
            cancel_note(1, 1),
            cancel(0, 1),
        ]
        assert feed(
            engine, fo_cancelled("c2", fo_line(FO_LINE, LINE, 3, cancelled=2))
        ) == [
            cancel_note(1, 2),
            cancel(1, 1),
        ]
        assert (
            feed(
                engine, fo_cancelled("c2-again", fo_line(FO_LINE, LINE, 3, cancelled=2))
            )
            == []
        )
        assert engine.orders[ORDER].lines == (order_line(quantity=3, cancelled=2),)

    def test_stale_lower_cancelled_snapshot_changes_nothing(self) -> None:
        """A cancelled=1 snapshot arriving after cancelled=2 reports nothing."""
        engine = started()
        feed(engine, fo_cancelled("c2", fo_line(FO_LINE, LINE, 2, cancelled=2)))
        assert (
            feed(engine, fo_cancelled("c1", fo_line(FO_LINE, LINE, 2, cancelled=1)))
            == []
        )
        assert engine.orders[ORDER].lines == (order_line(cancelled=2),)

    @pytest.mark.parametrize("cancellation_first", [True, False])
    def test_cancellation_and_fo_cancelled_report_the_same_units_once(
        self, cancellation_first: bool
    ) -> None:
        """``fulfillment_cancellation.accepted`` and ``fulfillment_order.cancelled``: one cancel."""
        engine = started()
        by_cancellation = cancellation(
            "fc-accepted", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 1, 1)]
        )
        by_snapshot = fo_cancelled(
            "fo-cancelled", fo_line(FO_LINE, LINE, 2, cancelled=1)
        )
        first, second = (
            (by_cancellation, by_snapshot)
            if cancellation_first
            else (by_snapshot, by_cancellation)
        )
        assert feed(engine, first) == [cancel_note(1, 1), cancel(0, 1)]
        assert feed(engine, second) == []
        state = engine.orders[ORDER]
        assert state.lines == (order_line(cancelled=1),)
        assert state.cancellations == (
            Cancellation(
                id="ret_1",
                fulfillment_order_id=FO,
                status=CancellationStatus.ACCEPTED,
                lines=(
                    CancellationLine(
                        fulfillment_order_item_id=FO_LINE, quantity=1, accepted=1
                    ),
                ),
            ),
        )

    def test_partially_accepted_cancellation_reports_accepted_units(self) -> None:
        """``quantityAccepted`` 1 of 2 requested: cancelQuantity 1."""
        engine = started()
        event = cancellation("fc", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 2, 1)])
        assert feed(engine, event) == [cancel_note(1, 1), cancel(0, 1)]


class TestCancellationRequests:
    """``request_cancellation``: validated against pending + backordered units."""

    def test_valid_request_emits_cancellation(self) -> None:
        """A request within the cancellable units is sent to DR and held as outstanding."""
        engine = started()
        assert feed(engine, cancel_request("r1", 2)) == [cancellation_request("r1", 2)]
        assert engine.orders[ORDER].cancellation_requests == (
            PendingCancellationRequest(
                request_id="r1", fulfillment_order_id=FO, units=((FO_LINE, 2),)
            ),
        )
        assert engine.orders[ORDER].lines == (order_line(),)

    def test_over_request_names_the_offending_item(self) -> None:
        """Asking more than pending + backordered: QuantityExceeded at items[1].quantity."""
        engine = Engine()
        feed(
            engine,
            accepted(items=((LINE, 2, None), (LINE_B, 1, None))),
            fo_pending(fo_line(FO_LINE, LINE, 2), fo_line(FO_LINE_B, LINE_B, 1)),
        )
        before = dict(engine.orders)
        doc = request("request_cancellation", "r1", ORDER, [(LINE, 1), (LINE_B, 2)])
        with pytest.raises(QuantityExceeded) as info:
            handle(engine, doc)
        assert info.value.input_id == "r1"
        assert info.value.field == "items[1].quantity"
        assert info.value.reason == (
            f"line {LINE_B}: 2 to cancel but only 1 may be (pending 1, backordered 0, "
            "already requested 0; shipped units can only be returned)"
        )
        assert engine.orders == before

    def test_shipped_units_cannot_be_cancelled(self) -> None:
        """One of two shipped: cancelling two is refused, cancelling one is sent."""
        engine = started(ship("s1", "29016544906"))
        with pytest.raises(QuantityExceeded) as info:
            handle(engine, cancel_request("r1", 2))
        assert info.value.field == "items[0].quantity"
        assert info.value.reason == (
            f"line {LINE}: 2 to cancel but only 1 may be (pending 1, backordered 0, "
            "already requested 0; shipped units can only be returned)"
        )
        assert feed(engine, cancel_request("r2", 1)) == [cancellation_request("r2", 1)]

    def test_backordered_units_can_be_cancelled(self) -> None:
        """Backordered units count as cancellable."""
        engine = started(backordered("b1", FO, ORDER, [(FO_LINE, LINE, 2, 2)]))
        assert feed(engine, cancel_request("r1", 2)) == [cancellation_request("r1", 2)]

    def test_second_request_counts_the_first_as_outstanding(self) -> None:
        """1 then 2 of 2 units: the second is refused; 1 more is accepted."""
        engine = started()
        assert feed(engine, cancel_request("r1", 1)) == [cancellation_request("r1", 1)]
        with pytest.raises(QuantityExceeded) as info:
            handle(engine, cancel_request("r2", 2))
        assert info.value.input_id == "r2"
        assert info.value.reason == (
            f"line {LINE}: 2 to cancel but only 1 may be (pending 2, backordered 0, "
            "already requested 1; shipped units can only be returned)"
        )
        assert feed(engine, cancel_request("r3", 1)) == [cancellation_request("r3", 1)]
        with pytest.raises(QuantityExceeded):
            handle(engine, cancel_request("r4", 1))

    def test_duplicate_request_id_is_ignored(self) -> None:
        """The same request id again: nothing, even with other quantities."""
        engine = started()
        feed(engine, cancel_request("r1", 1))
        outcome = handle(engine, cancel_request("r1", 2))
        assert (outcome.outcome, outcome.commands) == ("duplicate", ())

    def test_rejected_cancellation_frees_units_and_notifies(self) -> None:
        """A rejected cancellation notifies the customer; its units may be asked again."""
        engine = started()
        feed(engine, cancel_request("r1", 2))
        with pytest.raises(QuantityExceeded):
            handle(engine, cancel_request("r2", 1))
        rejected = cancellation(
            "fc-rejected", "rejected", "ret_1", FO, ORDER, [(FO_LINE, 2, None)]
        )
        assert feed(engine, rejected) == [
            {
                "command": "NotifyCustomerOfRejectedCancellation",
                "idempotencyKey": "notify:cancellation-rejected:ret_1",
                "orderId": ORDER,
                "cancellationId": "ret_1",
            }
        ]
        assert feed(engine, rejected) == []
        assert feed(engine, cancel_request("r3", 2)) == [cancellation_request("r3", 2)]
        assert engine.orders[ORDER].lines == (order_line(),)

    def test_accepted_cancellation_of_request_is_captured_as_cancel(self) -> None:
        """Request, DR accepts: one cancel; the units are no longer outstanding."""
        engine = started()
        feed(engine, cancel_request("r1", 1))
        event = cancellation("fc", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 1, 1)])
        assert feed(engine, event) == [cancel_note(1, 1), cancel(0, 1)]
        assert feed(engine, cancel_request("r2", 1)) == [cancellation_request("r2", 1)]


class TestWaitingAndHeld:
    """Events that arrive early wait; POST /fulfillments waits for ``accepted``."""

    def test_shipment_before_fulfillment_order_waits(self) -> None:
        """A shipment for an unknown FO waits and is captured when the FO arrives."""
        engine = Engine()
        assert feed(engine, accepted()) == [create_fo([(LINE, 2)])]
        outcome = handle(engine, ship("s1", "29016544906"))
        assert (outcome.outcome, outcome.commands) == ("waiting", ())
        assert [(w.input_id, w.reason) for w in engine.waiting()] == [
            ("s1", f"fulfillment order {FO}")
        ]
        assert handle(engine, ship("s1", "29016544906")).outcome == "duplicate"
        outcome = handle(engine, fo_pending())
        assert [command_json(c) for c in outcome.commands] == [
            shipment_note("29016544906", 1),
            capture("29016544906", 1),
        ]
        assert outcome.released == ("s1",)
        assert engine.waiting() == []
        assert engine.orders[ORDER].lines == (order_line(fulfilled=1),)

    def test_shipment_naming_no_order_waits_for_its_fulfillment_order(self) -> None:
        """No ``fulfillmentOrderUpstreamId``: parked by FO id, applied when it is known."""
        engine = Engine()
        feed(engine, accepted())
        event = ship("s1", "29016544906")
        del event["data"]["object"]["fulfillmentOrderUpstreamId"]
        assert handle(engine, event).outcome == "waiting"
        assert [(w.input_id, w.reason) for w in engine.waiting()] == [
            ("s1", f"fulfillment order {FO}")
        ]
        outcome = handle(engine, fo_pending())
        assert [command_json(c) for c in outcome.commands] == [
            shipment_note("29016544906", 1),
            capture("29016544906", 1),
        ]
        assert outcome.released == ("s1",)
        assert engine.waiting() == []

    def test_shipment_before_order_accepted_is_held(self) -> None:
        """FO and shipment before ``order.accepted``: capture only on acceptance."""
        engine = Engine()
        assert feed(engine, fo_pending(), ship("s1", "29016544906")) == [
            shipment_note("29016544906", 1)
        ]
        assert engine.orders[ORDER].shipments[0].reported is False
        assert feed(engine, accepted()) == [capture("29016544906", 1)]
        state = engine.orders[ORDER]
        assert state.lines == (order_line(fulfilled=1),)
        assert state.shipments[0].reported is True

    def test_shipment_in_review_is_held_until_accepted(self) -> None:
        """Order ``in_review``: no FO, no capture; both follow ``order.accepted``."""
        engine = Engine()
        review = order_event(
            "evt-review",
            "in_review",
            "2021-11-01T18:00:00Z",
            transitions=("in_review",),
        )
        assert feed(engine, review, fo_pending(), ship("s1", "29016544906")) == [
            shipment_note("29016544906", 1)
        ]
        assert feed(engine, accepted()) == [capture("29016544906", 1)]

    def test_order_fulfilled_waits_until_all_lines_are_reported(self) -> None:
        """``order.fulfilled`` waits for the last capture, then applies."""
        engine = started(ship("s1", "29016544906"))
        fulfilled = order_event("evt-fulfilled", "fulfilled", T_FULFILLED)
        outcome = handle(engine, fulfilled)
        assert (outcome.outcome, outcome.commands) == ("waiting", ())
        assert engine.orders[ORDER].status is OrderStatus.ACCEPTED
        assert [(w.input_id, w.reason) for w in engine.waiting()] == [
            (
                "evt-fulfilled",
                f"order {ORDER} fully reported (line {LINE}: 1 of 2 units not yet reported)",
            )
        ]
        outcome = handle(engine, ship("s2", "29016544907", item_id="i2"))
        assert [command_json(c) for c in outcome.commands] == [
            shipment_note("29016544907", 1),
            capture("29016544907", 1, item_id="i2"),
        ]
        assert outcome.released == ("evt-fulfilled",)
        assert engine.orders[ORDER].status is OrderStatus.FULFILLED
        assert engine.waiting() == []

    def test_dispute_holds_captures_until_resolved(self) -> None:
        """No POST /fulfillments in ``dispute``; emitted after ``order.dispute.resolved``."""
        engine = started()
        dispute = order_event(
            "evt-dispute",
            "dispute",
            "2021-11-02T08:00:00Z",
            transitions=("accepted", "dispute"),
        )
        assert feed(engine, dispute, ship("s1", "29016544906")) == [
            shipment_note("29016544906", 1)
        ]
        assert engine.orders[ORDER].status is OrderStatus.DISPUTE
        assert engine.orders[ORDER].lines == (order_line(),)
        resolved = envelope(
            "evt-resolved",
            "order.dispute.resolved",
            order(state="accepted", transitions=("accepted", "dispute")),
            "2021-11-02T12:00:00Z",
        )
        assert feed(engine, resolved) == [capture("29016544906", 1)]
        assert engine.orders[ORDER].status is OrderStatus.ACCEPTED
        assert engine.orders[ORDER].lines == (order_line(fulfilled=1),)

    def test_dispute_holds_cancels_until_resolved(self) -> None:
        """A cancel revealed during a dispute is sent after resolution."""
        engine = started()
        dispute = order_event(
            "evt-dispute", "dispute", "2021-11-02T08:00:00Z", transitions=("dispute",)
        )
        snapshot = fo_cancelled("c1", fo_line(FO_LINE, LINE, 2, cancelled=1))
        assert feed(engine, dispute, snapshot) == [cancel_note(1, 1)]
        resolved = envelope(
            "evt-resolved",
            "order.dispute.resolved",
            order(state="accepted"),
            "2021-11-02T12:00:00Z",
        )
        assert feed(engine, resolved) == [cancel(0, 1)]


class TestClosedOrders:
    """Nothing is sent to DR once the order is cancelled or complete."""

    def _complete(self) -> Engine:
        engine = started(ship("s1", "29016544906", 2))
        assert (
            feed(
                engine,
                order_event("evt-fulfilled", "fulfilled", T_FULFILLED),
                order_event("evt-complete", "complete", T_COMPLETE),
            )
            == []
        )
        assert engine.orders[ORDER].status is OrderStatus.COMPLETE
        return engine

    def test_redeliveries_after_complete_send_nothing(self) -> None:
        """Late copies of earlier events, under new ids, emit nothing."""
        engine = self._complete()
        before = engine.orders[ORDER].lines
        assert (
            feed(
                engine,
                accepted("evt-accepted-late"),
                fo_pending(event_id="evt-fo-pending-late"),
                ship("s1-late", "29016544906", 2),
                order_event("evt-fulfilled-late", "fulfilled", T_FULFILLED),
            )
            == []
        )
        assert engine.orders[ORDER].status is OrderStatus.COMPLETE
        assert engine.orders[ORDER].lines == before == (order_line(fulfilled=2),)

    def test_late_backorder_after_complete_sends_nothing(self) -> None:
        """A backorder notice delivered after the order completed notifies no one."""
        engine = self._complete()
        event = backordered("b-late", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        assert feed(engine, event) == []

    def test_order_cancelled_after_acceptance_waits_for_the_cancel(self) -> None:
        """``order.cancelled`` waits until the cancel is reported; then nothing more."""
        engine = started()
        cancelled = order_event(
            "evt-cancelled",
            "cancelled",
            "2021-11-03T10:00:00Z",
            transitions=("accepted", "cancelled"),
        )
        assert handle(engine, cancelled).outcome == "waiting"
        outcome = handle(
            engine, fo_cancelled("c1", fo_line(FO_LINE, LINE, 2, cancelled=2))
        )
        assert [command_json(c) for c in outcome.commands] == [
            cancel_note(2, 2),
            cancel(0, 2),
        ]
        assert outcome.released == ("evt-cancelled",)
        assert engine.orders[ORDER].status is OrderStatus.CANCELLED
        late = cancellation("fc", "accepted", "ret_1", FO, ORDER, [(FO_LINE, 2, 2)])
        assert feed(engine, late, accepted("evt-accepted-late")) == []
        assert engine.orders[ORDER].lines == (order_line(cancelled=2),)

    def test_order_cancelled_before_acceptance_sends_nothing(self) -> None:
        """DR's real ``order.cancelled`` (never accepted): no FO, nothing later."""
        engine = Engine()
        real = load_payload("event-order.cancelled.json")
        order_id = real["data"]["object"]["id"]
        item = real["data"]["object"]["items"][0]["id"]
        assert feed(engine, real) == []
        late_accepted = order_event(
            "evt-accepted-older",
            "accepted",
            "2022-07-05T15:00:00Z",
            order_id=order_id,
            items=((item, 1, None),),
        )
        assert feed(engine, late_accepted) == []
        state = engine.orders[order_id]
        assert state.status is OrderStatus.CANCELLED
        assert state.fulfillment_order_requested is False


class TestDeliveryOrder:
    """DR delivers at least once and in any order; the outcome is the same."""

    def test_real_shipped_payload_waits_for_its_fulfillment_order(self) -> None:
        """DR's real ``fulfillment_order.shipped`` is captured once its FO is known."""
        engine = Engine()
        order_id, line_id = "9292981838", "650398674428"
        real = load_payload("event-fulfillment_order.shipped.partial.json")
        assert feed(engine, real) == []
        assert [(w.input_id, w.reason) for w in engine.waiting()] == [
            (real["id"], f"fulfillment order {FO}")
        ]
        early = order_event(
            "evt-acc",
            "accepted",
            T_ACCEPTED,
            order_id=order_id,
            items=((line_id, 1, None),),
        )
        assert [c["command"] for c in feed(engine, early)] == ["CreateFulfillmentOrder"]
        fo = fulfillment_order(
            "evt-fo",
            "fulfillment_order.pending",
            FO,
            order_id,
            [fo_line(FO_LINE, line_id, 1)],
        )
        assert feed(engine, fo) == [
            {
                "command": "NotifyCustomerOfShipment",
                "idempotencyKey": "notify:shipment:29016544906",
                "orderId": order_id,
                "shipmentId": "29016544906",
                "items": [{"itemId": line_id, "quantity": 1}],
            },
            {
                "command": "CreateFulfillment",
                "method": "POST",
                "path": "/fulfillments",
                "idempotencyKey": "fulfillment:shipment:29016544906",
                "body": {
                    "orderId": order_id,
                    "shipmentId": "29016544906",
                    "items": [
                        {
                            "itemId": line_id,
                            "quantity": 1,
                            "shipmentItemId": "8760948870",
                        }
                    ],
                },
            },
        ]
        assert engine.waiting() == []

    def test_order_fulfilled_before_order_accepted(self) -> None:
        """``order.fulfilled`` first: it waits; the FO is still created on acceptance."""
        engine = Engine()
        fulfilled = order_event("evt-fulfilled", "fulfilled", T_FULFILLED)
        assert handle(engine, fulfilled).outcome == "waiting"
        assert feed(engine, accepted()) == [create_fo([(LINE, 2)])]
        assert feed(engine, fo_pending()) == []
        outcome = handle(engine, ship("s1", "29016544906", 2))
        assert [command_json(c) for c in outcome.commands] == [
            shipment_note("29016544906", 2),
            capture("29016544906", 2),
        ]
        assert outcome.released == ("evt-fulfilled",)
        assert engine.orders[ORDER].status is OrderStatus.FULFILLED

    def test_fo_cancelled_before_fo_pending(self) -> None:
        """The cancelled snapshot first, the older pending one later: one cancel."""
        engine = Engine()
        feed(engine, accepted())
        snapshot = fo_cancelled("c1", fo_line(FO_LINE, LINE, 2, cancelled=2))
        assert feed(engine, snapshot) == [cancel_note(2, 2), cancel(0, 2)]
        assert feed(engine, fo_pending()) == []
        assert engine.orders[ORDER].lines == (order_line(cancelled=2),)

    def test_cancellation_naming_only_its_fo_waits_for_it(self) -> None:
        """A cancellation without ``upstreamId`` for an unknown FO waits, then cancels."""
        engine = Engine()
        feed(engine, accepted())
        event = cancellation("fc", "accepted", "ret_1", FO, None, [(FO_LINE, 1, 1)])
        assert handle(engine, event).outcome == "waiting"
        assert [w.input_id for w in engine.waiting()] == ["fc"]
        outcome = handle(engine, fo_pending())
        assert [command_json(c) for c in outcome.commands] == [
            cancel_note(1, 1),
            cancel(0, 1),
        ]
        assert outcome.released == ("fc",)


class TestDigitalLines:
    """Digital lines of a distributed order: reported by the merchant."""

    def test_digital_line_report_and_physical_shipment(self) -> None:
        """The digital line is reported, the physical one shipped; then fulfilled."""
        engine = Engine()
        items = ((LINE, 2, None), (LINE_B, 1, False))
        assert feed(engine, accepted(items=items), fo_pending()) == [
            create_fo([(LINE, 2)])
        ]
        fulfilled = order_event("evt-fulfilled", "fulfilled", T_FULFILLED, items=items)
        assert handle(engine, fulfilled).outcome == "waiting"
        report = request("report_shipment", "dl-1", ORDER, [(LINE_B, 1)])
        assert feed(engine, report) == [
            {
                "command": "CreateFulfillment",
                "method": "POST",
                "path": "/fulfillments",
                "idempotencyKey": "fulfillment:request:dl-1",
                "body": {
                    "orderId": ORDER,
                    "items": [{"itemId": LINE_B, "quantity": 1}],
                },
            }
        ]
        assert engine.orders[ORDER].status is OrderStatus.ACCEPTED
        outcome = handle(engine, ship("s1", "29016544906", 2))
        assert [c["command"] for c in map(command_json, outcome.commands)] == [
            "NotifyCustomerOfShipment",
            "CreateFulfillment",
        ]
        assert outcome.released == ("evt-fulfilled",)
        assert engine.orders[ORDER].status is OrderStatus.FULFILLED

    def test_cancellation_request_for_digital_line_is_refused(self) -> None:
        """A digital line is in no FO: ``request_cancellation`` names the alternative."""
        engine = Engine()
        feed(
            engine, accepted(items=((LINE, 2, None), (LINE_B, 1, False))), fo_pending()
        )
        with pytest.raises(UnknownReference) as info:
            handle(engine, cancel_request("r1", 1, LINE_B))
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "r1",
            "items[0].itemId",
            f"line {LINE_B}: it is not physical, so it is in no fulfillment order; "
            "use report_cancellation",
        )
