"""Scenario tests of disputes and of what each order state still lets the engine send.

DR refuses ``POST /fulfillments`` (409), ``POST /refunds`` (400) and ``POST /returns``
(409) while an order is in ``dispute``: the engine holds them and sends each exactly
once when DR's ``order.dispute.resolved`` arrives, whatever state it resolves to, and
never re-sends what was already reported (DR's own example resolves to ``accepted``
after ``complete``). After ``fulfilled``/``complete``/``returned`` returns and refunds
are still sent but no capture; ``blocked`` and ``cancelled`` orders get nothing.
DR's real ``order.*`` payloads are used, with the orders set up to match them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from builders import (
    Json,
    charge,
    charge_event,
    fo_line,
    fulfillment_order,
    fulfillment_return,
    operation,
    order_event,
    request,
    return_event,
    shipped,
)
from conftest import load_payload
from drfulfillment.domain import Engine, IntegrationModel, OrderStatus
from drfulfillment.domain.errors import IllegalTransition
from harness import feed, handle

#: DR's disputed order (``event-order.dispute.json``): one line of 1 unit.
ORDER = "1005692492420"
LINE = "1006284504120"
T_ACCEPTED = "2022-02-15T06:36:58Z"
T_IN_DISPUTE = "2022-02-17T21:12:00Z"

Lines = tuple[tuple[str, int], ...]


def dispute() -> Json:
    """DR's real ``order.dispute`` event."""
    return load_payload("event-order.dispute.json")


def resolved(
    state: str = "accepted", event_id: str | None = None, day: int = 20
) -> Json:
    """DR's real ``order.dispute.resolved`` resolving to ``state``; another id on ``day``."""
    doc = load_payload("event-order.dispute.resolved.json")
    doc["data"]["object"]["state"] = state
    if event_id is not None:
        doc["id"], doc["createdTime"] = event_id, f"2022-02-{day}T00:00:00Z"
    return doc


def accepted(order_id: str, lines: Lines, created: str = T_ACCEPTED) -> Json:
    """``order.accepted`` of ``order_id`` with ``(line, quantity)`` lines."""
    items = tuple((i, q, None) for i, q in lines)
    return order_event(
        "evt-accepted", "accepted", created, order_id=order_id, items=items
    )


def fo_of(order_id: str, lines: Lines) -> Json:
    """``fulfillment_order.pending``: FO ``fo-<order>`` holds every unit, line ``fl-<line>``."""
    fo_lines = [fo_line(f"fl-{i}", i, q) for i, q in lines]
    return fulfillment_order(
        "evt-fo",
        "fulfillment_order.pending",
        f"fo-{order_id}",
        order_id,
        fo_lines,
        T_ACCEPTED,
    )


def ship_all(
    order_id: str, lines: Lines, created: str = "2022-02-15T06:37:10Z"
) -> Json:
    """``fulfillment_order.shipped`` of every unit (shipment ``sh-<order>``)."""
    items = [(f"si-{i}", f"fl-{i}", i, q) for i, q in lines]
    return shipped(
        f"evt-sh-{order_id}",
        f"sh-{order_id}",
        f"fo-{order_id}",
        order_id,
        items,
        created,
    )


def give_back(order_id: str, item_id: str, created: str = T_IN_DISPUTE) -> list[Json]:
    """A ``request_return`` of 1 unit of ``item_id`` and its accepted fulfillment return."""
    ask = request("request_return", "R1", order_id, [(item_id, 1)], reason="damaged")
    back = [(f"fl-{item_id}", 1, None)]
    done = fulfillment_return(
        "evt-fr", "accepted", "FR1", f"fo-{order_id}", order_id, back, created
    )
    return [ask, done]


def names(commands: list[dict[str, Any]]) -> list[str]:
    """The command names, in order."""
    return [c["command"] for c in commands]


def distributed(order_id: str = ORDER, lines: Lines = ((LINE, 1),)) -> Engine:
    """A distributed engine that has seen the accepted order and its FO."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    assert names(feed(engine, accepted(order_id, lines), fo_of(order_id, lines))) == [
        "CreateFulfillmentOrder"
    ]
    return engine


class TestDisputeHoldsCalls:
    """While in ``dispute`` nothing DR refuses is sent; at resolution everything owed, once."""

    @pytest.mark.parametrize("state", ["accepted", "fulfilled", "complete"])
    def test_capture_return_and_refund_wait_for_resolution(self, state: str) -> None:
        """Shipment, return request and accepted return in dispute: sent once at resolution."""
        engine = distributed()
        assert feed(engine, dispute()) == []
        during = feed(
            engine, ship_all(ORDER, ((LINE, 1),), T_IN_DISPUTE), *give_back(ORDER, LINE)
        )
        assert names(during) == ["NotifyCustomerOfShipment"]
        out = feed(engine, resolved(state))
        assert [c["idempotencyKey"] for c in out] == [
            f"fulfillment:shipment:sh-{ORDER}",
            f"fulfillment-return:R1:fo-{ORDER}",
            "refund:fulfillment-return:FR1",
        ]
        assert out[2]["body"]["items"] == [
            {"itemId": LINE, "quantity": 1, "percent": 100}
        ]
        assert engine.orders[ORDER].status is OrderStatus(state)
        assert (
            feed(engine, resolved(state), resolved(state, "evt-resolved-again")) == []
        )

    def test_third_party_calls_wait_for_each_resolution(self) -> None:
        """Two disputes: the report waits for the first resolution, the acceptance for the second."""
        engine = Engine(IntegrationModel.THIRD_PARTY)
        feed(engine, accepted(ORDER, ((LINE, 1),)), dispute())
        assert feed(engine, request("report_shipment", "S1", ORDER, [(LINE, 1)])) == []
        assert names(feed(engine, resolved())) == ["CreateFulfillment"]
        ask = request("request_return", "R1", ORDER, [(LINE, 1)], reason="x")
        created = return_event(
            "e-ret", "created", "ret_1", ORDER, [(LINE, 1, 0)], "2022-02-18T00:00:00Z"
        )
        assert names(feed(engine, ask, created)) == ["CreateReturn"]
        again = dispute() | {
            "id": "evt-dispute-2",
            "createdTime": "2022-02-19T00:00:00Z",
        }
        accept = {
            "request": "accept_return",
            "id": "A1",
            "orderId": ORDER,
            "returnId": "ret_1",
        }
        assert feed(engine, again, accept) == []
        out = feed(engine, resolved("accepted", "evt-resolved-2"))
        assert [(c["command"], c["path"], c["body"]) for c in out] == [
            ("UpdateReturn", "/returns/ret_1", {"state": "accepted"})
        ]
        assert feed(engine, resolved("accepted", "evt-resolved-3", 21)) == []

    def test_capture_failure_is_handed_over_at_once_in_dispute(self) -> None:
        """``HandleCaptureFailure`` is no DR call: the dispute does not hold it."""
        engine = Engine(IntegrationModel.THIRD_PARTY)
        feed(engine, accepted(ORDER, ((LINE, 1),)), dispute())
        failed = [operation("k1", "5", "failed", failureCode="failed-request")]
        event = charge_event(
            "e1",
            "order.charge.capture.failed",
            charge("c1", ORDER, "5", captures=failed),
        )
        assert [(c["command"], c["captureId"]) for c in feed(engine, event)] == [
            ("HandleCaptureFailure", "k1")
        ]
        assert engine.orders[ORDER].status is OrderStatus.DISPUTE
        assert feed(engine, resolved()) == []

    def test_resolution_delivered_before_the_dispute(self) -> None:
        """DR's resolved event first, its older dispute after: nothing is held."""
        engine = distributed()
        assert feed(engine, resolved(), dispute()) == []
        assert engine.orders[ORDER].status is OrderStatus.ACCEPTED
        out = feed(engine, ship_all(ORDER, ((LINE, 1),), T_IN_DISPUTE))
        assert names(out) == ["NotifyCustomerOfShipment", "CreateFulfillment"]

    def test_drs_example_resolving_to_accepted_after_complete(self) -> None:
        """complete -> dispute -> accepted (DR's payloads): nothing is sent again."""
        engine = distributed()
        ship = feed(engine, ship_all(ORDER, ((LINE, 1),)))
        assert names(ship) == ["NotifyCustomerOfShipment", "CreateFulfillment"]
        complete = order_event(
            "evt-complete",
            "complete",
            "2022-02-15T23:28:32Z",
            order_id=ORDER,
            items=((LINE, 1, None),),
            transitions=("accepted", "fulfilled", "complete"),
        )
        assert feed(engine, complete, dispute()) == []
        assert engine.orders[ORDER].status is OrderStatus.DISPUTE
        assert feed(engine, resolved()) == []
        state = engine.orders[ORDER]
        assert state.status is OrderStatus.ACCEPTED
        assert [(ln.fulfilled, ln.cancelled) for ln in state.lines] == [(1, 0)]
        assert [s.reported for s in state.shipments] == [True]
        assert handle(engine, resolved()).outcome == "duplicate"


def closing(name: str) -> tuple[str, Lines, list[Json]]:
    """``(order id, lines, events)`` bringing a shipped order to DR's payload ``name``."""
    if name == "returned":
        order_id, lines = "235504220336", (("162893300336", 2),)
        items = ((lines[0][0], 2, None),)
        done = order_event(
            "evt-c", "complete", "2022-08-08T14:47:46Z", order_id=order_id, items=items
        )
        back = order_event(
            "evt-r",
            "returned",
            "2022-08-08T15:08:00Z",
            order_id=order_id,
            items=items,
            event_type="order.refunded",
        )
        return order_id, lines, [done, back]
    event = load_payload(name)
    obj = event["data"]["object"]
    return obj["id"], tuple((i["id"], i["quantity"]) for i in obj["items"]), [event]


class TestWhatEachStateAllows:
    """Per order state: returns and refunds yes or no; ``POST /fulfillments`` never again."""

    @pytest.mark.parametrize(
        ("name", "status"),
        [
            ("event-order.fulfilled.json", OrderStatus.FULFILLED),
            ("event-order.complete.json", OrderStatus.COMPLETE),
            ("event-order.refunded.json", OrderStatus.COMPLETE),
            ("returned", OrderStatus.RETURNED),
        ],
    )
    def test_after_fulfilment_returns_and_refunds_still_go(
        self, name: str, status: OrderStatus
    ) -> None:
        """After the state: a return and its refund are sent; no capture, even on redelivery."""
        order_id, lines, events = closing(name)
        engine = Engine(IntegrationModel.DISTRIBUTED)
        feed(
            engine,
            accepted(order_id, lines, "2020-01-01T00:00:00Z"),
            fo_of(order_id, lines),
        )
        assert "CreateFulfillment" in names(
            feed(engine, ship_all(order_id, lines, "2020-01-02T00:00:00Z"))
        )
        assert feed(engine, *events) == []
        assert engine.orders[order_id].status is status
        again = copy.deepcopy(ship_all(order_id, lines)) | {"id": "evt-ship-again"}
        out = feed(
            engine, again, *give_back(order_id, lines[0][0], "2023-01-01T00:00:00Z")
        )
        assert names(out) == ["CreateFulfillmentReturn", "CreateRefund"]
        assert out[1]["body"]["items"] == [
            {"itemId": lines[0][0], "quantity": 1, "percent": 100}
        ]

    @pytest.mark.parametrize(
        "name", ["event-order.blocked.json", "event-order.cancelled.json"]
    )
    def test_blocked_and_cancelled_get_nothing(self, name: str) -> None:
        """Even if the fulfiller ships and takes back: no FO, capture or refund, and a
        return request is refused (DR takes none for a blocked or cancelled order)."""
        event = load_payload(name)
        obj = event["data"]["object"]
        order_id, lines = (
            obj["id"],
            tuple((i["id"], i["quantity"]) for i in obj["items"]),
        )
        engine = Engine(IntegrationModel.DISTRIBUTED)
        assert feed(engine, event) == []
        assert engine.orders[order_id].status is OrderStatus(obj["state"])
        out = feed(
            engine,
            fo_of(order_id, lines),
            ship_all(order_id, lines, "2023-01-01T00:00:00Z"),
        )
        assert names(out) == ["NotifyCustomerOfShipment"]
        ask, back = give_back(order_id, lines[0][0], "2023-01-02T00:00:00Z")
        before = engine.orders[order_id]
        with pytest.raises(IllegalTransition) as refused:
            feed(engine, ask)
        assert (refused.value.input_id, refused.value.field) == ("R1", "orderId")
        assert engine.orders[order_id] == before
        assert feed(engine, back) == []
        assert engine.orders[order_id].fulfillment_returns[0].refund_requested is False
