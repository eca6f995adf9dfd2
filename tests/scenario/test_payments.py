"""Scenario tests of payments: charges, captures, cancels, refunds and DR's fulfillments.

DR's real ``order.charge.*`` and ``refund.*`` payloads are applied to orders set up
with the same ids. A failed capture is handed to the merchant exactly once, however it
is seen; nothing is retried. Each charge's money is tracked on its own; a fact that
overdraws a charge, changes an amount or contradicts a final state is refused with the
state unchanged. :func:`reconciliation` reports the figures and every difference.
``fulfillment.created`` is recorded, and a fulfillment DR already holds for a shipment
keeps the engine from capturing that shipment again.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from builders import (
    Json,
    charge,
    charge_event,
    fo_line,
    fulfillment_created,
    fulfillment_order,
    operation,
    order_event,
    request,
    shipped,
)
from conftest import load_payload
from drfulfillment.domain import (
    ConflictingInput,
    Engine,
    IllegalTransition,
    InputRefused,
    IntegrationModel,
    LedgerViolation,
    OrderStatus,
    UnknownReference,
)
from drfulfillment.domain.lifecycles import CaptureStatus, ChargeStatus, RefundStatus
from drfulfillment.domain.money import Reconciliation, reconciliation
from harness import feed, handle

LINE = "127911830336"
SUCCEEDED = RefundStatus.SUCCEEDED
ZERO = Decimal(0)
FAILED = "event-order.charge.capture.failed.with-fulfillmentId.partial.json"
Lines = Sequence[tuple[str, int]]


def accepted(
    order_id: str, lines: Lines, charges: Sequence[Json] = (), event_id: str = "a1"
) -> Json:
    """``order.accepted`` of ``order_id`` whose ``payment.charges`` are ``charges``."""
    items = tuple((i, q, None) for i, q in lines)
    doc = order_event(
        event_id, "accepted", "2020-01-01T00:00:00Z", order_id=order_id, items=items
    )
    doc["data"]["object"]["payment"]["charges"] = [copy.deepcopy(c) for c in charges]
    return doc


def started(order_id: str, lines: Lines = ((LINE, 1),), *charges: Json) -> Engine:
    """A third-party engine that knows the order, its charges, and reported every unit."""
    engine = Engine(IntegrationModel.THIRD_PARTY)
    feed(engine, accepted(order_id, lines, charges))
    feed(engine, request("report_shipment", "S1", order_id, lines))
    return engine


def names_of(commands: list[dict[str, Any]]) -> list[str]:
    """The command names, in order."""
    return [c["command"] for c in commands]


def report(engine: Engine, order_id: str) -> Reconciliation:
    """The reconciliation report of one order."""
    return reconciliation(engine.orders[order_id])


def bare(payload: Json) -> Json:
    """The charge a DR ``order.charge.*`` payload carries, without its operations."""
    obj = copy.deepcopy(payload["data"]["object"])
    return {k: v for k, v in obj.items() if k not in ("captures", "cancels", "refunds")}


class TestDrChargeEvents:
    """DR's real ``order.charge.*`` payloads, each applied to its own order."""

    def test_capture_complete(self) -> None:
        """A completed capture is recorded with its ``fulfillmentId``; no command."""
        event = load_payload("event-order.charge.capture.complete.json")
        order_id = event["data"]["object"]["orderId"]
        engine = started(order_id, ((LINE, 1),), bare(event))
        assert feed(engine, event) == []
        (ch,) = engine.orders[order_id].charges
        (cap,) = ch.captures
        assert (ch.status, ch.amount) == (ChargeStatus.CAPTURABLE, Decimal("37.81"))
        assert (cap.status, cap.amount) == (CaptureStatus.COMPLETE, Decimal("25.21"))
        assert cap.fulfillment_id == "ful_a0246997-bdcf-480a-a066-2cfc564e6232"
        r = report(engine, order_id)
        assert (r.captured, r.cancelled, r.refunded) == (Decimal("25.21"), ZERO, ZERO)
        assert r.balanced

    @pytest.mark.parametrize(
        ("name", "cancelled"),
        [
            ("event-order.charge.cancel.complete.json", "10.0"),
            ("event-order.charge.cancel.complete.example2.json", "10.82"),
        ],
    )
    def test_cancel_complete(self, name: str, cancelled: str) -> None:
        """A completed cancel (authorization reversal) counts as cancelled money."""
        event = load_payload(name)
        order_id = event["data"]["object"]["orderId"]
        engine = started(order_id)
        assert feed(engine, event) == []
        (balance,) = report(engine, order_id).charges
        assert (balance.cancelled, balance.captured) == (Decimal(cancelled), ZERO)
        assert balance.settled is False

    def test_refund_complete_while_capture_pending(self) -> None:
        """DR refunds 5.38 of a 12.36 capture still pending: recorded, no difference."""
        event = load_payload("event-order.charge.refund.complete.json")
        order_id = event["data"]["object"]["orderId"]
        engine = started(order_id)
        assert feed(engine, event) == []
        (b,) = report(engine, order_id).charges
        assert (b.status, b.captured) == (ChargeStatus.PROCESSING, ZERO)
        assert (b.capturing, b.refunded) == (Decimal("12.36"), Decimal("5.38"))
        assert report(engine, order_id).balanced

    def test_refund_failed_carrying_an_order(self) -> None:
        """DR's ``order.charge.refund.failed`` example is an order: status and charges apply."""
        event = load_payload("event-order.charge.refund.failed.json")
        order_id = event["data"]["object"]["id"]
        engine = started(order_id, (("103997850336", 1),))
        assert feed(engine, event) == []
        assert engine.orders[order_id].status is OrderStatus.COMPLETE
        r = report(engine, order_id)
        assert (r.captured, r.refunded) == (Decimal("27.1"), Decimal("24.8"))
        assert r.charges[0].settled
        assert len(engine.orders[order_id].charges[0].refunds) == 2


def failure_command(event: Json) -> dict[str, Any]:
    """The exact ``HandleCaptureFailure`` a DR capture-failed payload calls for."""
    obj = event["data"]["object"]
    cap = obj["captures"][0]
    out: dict[str, Any] = {
        "command": "HandleCaptureFailure",
        "idempotencyKey": f"capture-failed:{cap['id']}",
        "orderId": obj["orderId"],
        "chargeId": obj["id"],
        "captureId": cap["id"],
        "amount": cap["amount"],
        "failureCode": cap["failureCode"],
    }
    if "fulfillmentId" in cap:
        out["fulfillmentId"] = cap["fulfillmentId"]
    return out


def without_advice(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The commands, each ``advice`` checked to be DR's and then left out."""
    for c in commands:
        advice = c.pop("advice", None)
        assert advice is None or "contact the customer" in advice
    return commands


class TestCaptureFailure:
    """``order.charge.capture.failed``: one ``HandleCaptureFailure``; nothing retried."""

    @pytest.mark.parametrize("name", [FAILED, "event-order.charge.capture.failed.json"])
    def test_handed_over_once_with_drs_advice(self, name: str) -> None:
        """Redelivered, and again under another id: one command; the units stay reported."""
        event = load_payload(name)
        order_id = event["data"]["object"]["orderId"]
        engine = started(order_id, ((LINE, 1),), bare(event))
        assert without_advice(feed(engine, event)) == [failure_command(event)]
        assert handle(engine, event).outcome == "duplicate"
        again = copy.deepcopy(event) | {"id": "redelivered"}
        assert feed(engine, again) == []
        state = engine.orders[order_id]
        assert state.lines[0].fulfilled == 1
        assert [r.reported for r in state.reports] == [True]
        assert report(engine, order_id).differences == (
            f"charge {event['data']['object']['id']}: capture "
            f"{event['data']['object']['captures'][0]['id']} failed",
        )

    def test_same_failure_in_an_order_event_is_not_handed_over_again(self) -> None:
        """The failure seen in ``payment.charges`` after (or before) the charge event: once."""
        event = load_payload(FAILED)
        obj = event["data"]["object"]
        later = accepted(obj["orderId"], ((LINE, 1),), [obj], event_id="a2")
        later["createdTime"] = "2022-03-02T17:40:00Z"
        engine = started(obj["orderId"], ((LINE, 1),), bare(event))
        assert len(feed(engine, event)) == 1
        assert feed(engine, later) == []
        first = started(obj["orderId"], ((LINE, 1),), bare(event))
        assert without_advice(feed(first, later)) == [failure_command(event)]
        assert feed(first, event) == []

    def test_complete_then_failed_is_refused(self) -> None:
        """DR's completed capture cannot later fail: ``IllegalTransition``, state unchanged."""
        event = load_payload("event-order.charge.capture.complete.json")
        order_id = event["data"]["object"]["orderId"]
        engine = started(order_id)
        feed(engine, event)
        late = {"id": "late", "createdTime": "2022-03-03T00:00:00Z"}
        failed = copy.deepcopy(event) | late | {"type": "order.charge.capture.failed"}
        failed["data"]["object"]["captures"][0]["state"] = "failed"
        before = engine.orders[order_id]
        with pytest.raises(IllegalTransition) as exc:
            handle(engine, failed)
        assert exc.value.field == "data.object.captures[0].state"
        assert engine.orders[order_id] == before


class TestChargeLedger:
    """Several charges per order, each with its own money; impossible money is refused."""

    def test_store_credit_and_card_are_tracked_separately(self) -> None:
        """Store credit 10 and card 17.01: captures and a failure land on the right charge."""
        credit, card = charge("sc", "O1", "10"), charge("cc", "O1", "17.01")
        engine = started("O1", ((LINE, 1),), credit, card)
        done = [operation("k1", "10", "complete")]
        sc_done = charge("sc", "O1", "10", "complete", captures=done)
        failed = [operation("k2", "17.01", "failed", failureCode="failed-request")]
        cc_fail = charge("cc", "O1", "17.01", captures=failed)
        commands = feed(
            engine,
            charge_event("e1", "order.charge.capture.complete", sc_done),
            charge_event("e2", "order.charge.capture.failed", cc_fail),
        )
        assert [(c["chargeId"], c["captureId"]) for c in commands] == [("cc", "k2")]
        r = report(engine, "O1")
        assert [(b.charge_id, b.captured, b.failed_captures) for b in r.charges] == [
            ("cc", ZERO, ("k2",)),
            ("sc", Decimal("10"), ()),
        ]
        assert r.charges[1].settled
        assert r.captured == Decimal("10")

    @pytest.mark.parametrize(
        ("amount", "captured", "cancelled", "error", "field"),
        [
            ("20.0", "15", "10.0", LedgerViolation, None),
            ("25.0", None, "10.0", ConflictingInput, "data.object.amount"),
            ("20.0", None, "11.0", ConflictingInput, "data.object.cancels[0].amount"),
        ],
    )
    def test_impossible_money_is_refused(
        self,
        amount: str,
        captured: str | None,
        cancelled: str,
        error: type[InputRefused],
        field: str | None,
    ) -> None:
        """After DR's cancel of 10 on a 20 charge: overdrawing it, or changing an amount."""
        event = load_payload("event-order.charge.cancel.complete.json")
        obj = event["data"]["object"]
        engine = started(obj["orderId"])
        feed(engine, event)
        before = engine.orders[obj["orderId"]]
        caps = [operation("k1", captured, "complete")] if captured else []
        cancels = [operation(obj["cancels"][0]["id"], cancelled, "complete")]
        changed = charge(
            obj["id"], obj["orderId"], amount, captures=caps, cancels=cancels
        )
        with pytest.raises(error) as exc:
            handle(engine, charge_event("e1", "order.charge.capture.complete", changed))
        assert exc.value.field == field
        assert engine.orders[obj["orderId"]] == before

    def test_report_differences(self) -> None:
        """A complete charge short of its amount and a refund above its captures are reported."""
        ten = [operation("k1", "10", "complete")]
        short = charge("c1", "O1", "20", "complete", captures=ten)
        refunds = [operation("r1", "15", "complete")]
        over = charge("c2", "O1", "30", captures=ten, refunds=refunds)
        first = (charge("c1", "O1", "20"), charge("c2", "O1", "30"))
        engine = started("O1", ((LINE, 1),), *first)
        feed(engine, charge_event("e1", "order.charge.complete", short))
        feed(engine, charge_event("e2", "order.charge.refund.complete", over))
        r = report(engine, "O1")
        assert (r.captured, r.refunded) == (Decimal("20"), Decimal("15"))
        assert r.differences == (
            "charge c1 is complete but captured 10.0 + cancelled 0 != its amount 20.0",
            "charge c2: refunded 15.0 exceeds captured 10.0",
        )
        assert not r.balanced


class TestRefundEvents:
    """``refund.*``: DR's refunds, tracked per order through their lifecycle."""

    ORDER = "220400480336"

    def test_item_level_refund_in_either_order(self) -> None:
        """DR's pending and complete item-level refund, in both orders: succeeded, 2 + 3 units."""
        pending = load_payload("event-refund.pending.item-level.json")
        done = load_payload("event-refund.complete.item-level.json")
        lines = (("145634580336", 2), ("145634590336", 3))
        for history in ([pending, done], [done, pending]):
            engine = started(self.ORDER, lines)
            assert feed(engine, *history) == []
            (refund,) = engine.orders[self.ORDER].refunds
            assert refund.status is RefundStatus.SUCCEEDED
            assert refund.refunded_amount == Decimal("94.53")
            assert [b.refunded for b in report(engine, self.ORDER).lines] == [2, 3]

    @pytest.mark.parametrize(
        ("name", "status"),
        [
            ("event-refund.pending.order-level.json", RefundStatus.PENDING),
            ("event-refund.complete.order-level.json", RefundStatus.SUCCEEDED),
            ("event-refund.pending_information.json", RefundStatus.PENDING_INFORMATION),
            ("event-refund.pending.from-return-multi-shipment-1.json", SUCCEEDED),
            ("event-refund.failed.json", RefundStatus.FAILED),
        ],
    )
    def test_drs_refund_payloads(self, name: str, status: RefundStatus) -> None:
        """Each DR payload's state (the object's, not the type's) is recorded; failures reported."""
        event = load_payload(name)
        obj = event["data"]["object"]
        lines = [(i["itemId"], i["quantity"]) for i in obj["items"]] or [(LINE, 1)]
        engine = started(obj["orderId"], lines)
        assert feed(engine, event) == []
        (refund,) = engine.orders[obj["orderId"]].refunds
        assert refund.status is status
        failed = status is RefundStatus.FAILED
        assert report(engine, obj["orderId"]).differences == (
            (f"refund {obj['id']} failed",) if failed else ()
        )

    def test_refund_of_an_unknown_line_is_refused(self) -> None:
        """A refund naming a line the order lacks: ``UnknownReference``."""
        event = load_payload("event-refund.pending.item-level.json")
        engine = started(self.ORDER, (("145634580336", 2),))
        with pytest.raises(UnknownReference) as exc:
            handle(engine, event)
        assert exc.value.field == "data.object.items[1].itemId"


ORDER = "204440790336"
FO = "5774321009"
FO_LINE = "650398674428"


def distributed() -> Engine:
    """A distributed engine that knows ``ORDER`` (2 units of ``LINE``) and its FO."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    pending = fulfillment_order(
        "fo", "fulfillment_order.pending", FO, ORDER, [fo_line(FO_LINE, LINE, 2)]
    )
    feed(engine, order_event("a1", "accepted", "2021-11-01T18:23:06Z"), pending)
    return engine


def ship(shipment_id: str) -> Json:
    """``fulfillment_order.shipped`` of one unit of ``LINE``."""
    lines = [(f"i-{shipment_id}", FO_LINE, LINE, 1)]
    return shipped(f"evt-{shipment_id}", shipment_id, FO, ORDER, lines)


class TestDrFulfillments:
    """``fulfillment.created``: recorded; a shipment DR already holds is never captured again."""

    def test_real_fulfillment_created_is_recorded_and_reported(self) -> None:
        """DR's payload on its order: recorded; the report shows DR's units the engine never sent."""
        event = load_payload("event-fulfillment.created.json")
        order_id, a, b = "259855820336", "189752780336", "189752790336"
        engine = Engine(IntegrationModel.THIRD_PARTY)
        feed(engine, accepted(order_id, ((a, 2), (b, 2))))
        assert feed(engine, event) == []
        (recorded,) = engine.orders[order_id].fulfillments
        assert recorded.id == "ful_e3624f2e-1260-4cb1-bf5e-077e1e9c215e"
        r = report(engine, order_id)
        assert [(x.item_id, x.dr_fulfilled, x.reported_fulfilled) for x in r.lines] == [
            (a, 1, 0),
            (b, 1, 0),
        ]
        assert len(r.differences) == 2
        assert all("the engine reported 0" in d for d in r.differences)

    def test_recorded_fulfillment_prevents_capturing_its_shipment(self) -> None:
        """DR holds a fulfillment for SH1: SH1 is not captured, SH2 is; nothing differs."""
        engine = distributed()
        assert (
            feed(
                engine, fulfillment_created("f1", "ful_1", ORDER, [(LINE, 1, 0)], "SH1")
            )
            == []
        )
        assert names_of(feed(engine, ship("SH1"))) == ["NotifyCustomerOfShipment"]
        assert [c["idempotencyKey"] for c in feed(engine, ship("SH2"))] == [
            "notify:shipment:SH2",
            "fulfillment:shipment:SH2",
        ]
        (line,) = report(engine, ORDER).lines
        assert (line.reported_fulfilled, line.dr_fulfilled) == (2, 1)
        assert report(engine, ORDER).balanced

    def test_fulfillment_recorded_after_our_capture_changes_nothing(self) -> None:
        """DR's record of our own capture: no second capture; a different record conflicts."""
        engine = distributed()
        assert len(feed(engine, ship("SH1"))) == 2
        assert (
            feed(
                engine, fulfillment_created("f1", "ful_1", ORDER, [(LINE, 1, 0)], "SH1")
            )
            == []
        )
        (line,) = report(engine, ORDER).lines
        assert (line.reported_fulfilled, line.dr_fulfilled) == (1, 1)
        with pytest.raises(ConflictingInput):
            handle(
                engine, fulfillment_created("f2", "ful_1", ORDER, [(LINE, 2, 0)], "SH1")
            )

    def test_partial_dr_record_of_a_shipment_captures_the_rest(self) -> None:
        """DR holds 1 unit for SH1, SH1 ships 2: only the unit DR lacks is captured."""
        engine = distributed()
        feed(engine, fulfillment_created("f1", "ful_1", ORDER, [(LINE, 1, 0)], "SH1"))
        lines = [("i-SH1", FO_LINE, LINE, 2)]
        out = feed(engine, shipped("evt-SH1", "SH1", FO, ORDER, lines))
        assert names_of(out) == ["NotifyCustomerOfShipment", "CreateFulfillment"]
        assert out[1]["idempotencyKey"] == "fulfillment:shipment:SH1"
        assert out[1]["body"]["items"] == [
            {"itemId": LINE, "quantity": 1, "shipmentItemId": "i-SH1"}
        ]
