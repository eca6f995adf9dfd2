"""The money ledger's invariants, over every generated history and delivery (issue 4).

For every valid history of every integration model (charges with captures, cancels, a
failed capture now and then, store credit plus a card, returns, refunds, disputes) and
every way DR may deliver it:

* per charge, completed captures + completed cancels never exceed its amount, at any
  step; once the charge is ``complete`` or ``cancelled`` they equal it; refunds never
  exceed what was captured; and each figure is the history's truth;
* the reconciliation report is the same for every delivery of one history, and its
  only differences are the captures the history made fail;
* per line, the report's units returned, asked to be refunded and refunded are the
  history's;
* a capture that would take a charge past its amount is refused with
  ``LedgerViolation``, leaving the state as it was.

It also holds the regression test of the engine bug the generator found (an early
``order.refunded`` kept the shipments from ever being captured).
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import (
    Json,
    charge,
    charge_event,
    fo_line,
    fulfillment_order,
    operation,
    order_event,
    shipped,
)
from drfulfillment import (
    ChargeStatus,
    Engine,
    IntegrationModel,
    LedgerViolation,
    OrderState,
    reconciliation,
)
from drfulfillment.codecs import parse_input
from drfulfillment.domain.money import Reconciliation, charge_balance
from drfulfillment.testing import History
from harness import feed
from strategies import deliveries, histories

MODELS = list(IntegrationModel)
IDS = [m.value for m in MODELS]
FINAL = (ChargeStatus.COMPLETE, ChargeStatus.CANCELLED)


def run(events: list[Json], model: IntegrationModel) -> Engine:
    """Feed ``events``; every one must be accepted, and every charge stay within its
    amount after each of them."""
    engine = Engine(model)
    for event in events:
        outcome = engine.handle(parse_input(event))
        assert not outcome.dropped
        if outcome.order_id is not None:
            for c in engine.orders[outcome.order_id].charges:
                b = charge_balance(c)
                assert b.amount is None or b.captured + b.cancelled <= b.amount
    return engine


def reports(engine: Engine) -> dict[str, Reconciliation]:
    """The reconciliation report of every order."""
    return {oid: reconciliation(state) for oid, state in engine.orders.items()}


def check_charges(history: History, report: Reconciliation) -> None:
    """Each charge balances as the ledger says it must, and as the history says it did."""
    truth = {c.charge_id: c for c in history.charges if c.order_id == report.order_id}
    assert {b.charge_id for b in report.charges} == set(truth)
    for b in report.charges:
        t = truth[b.charge_id]
        assert b.amount is not None
        assert b.captured + b.cancelled <= b.amount
        if b.status in FINAL:
            assert b.captured + b.cancelled == b.amount
            assert b.settled
        assert b.refunded <= b.captured
        assert b.capturing == 0
        assert b.status is not None
        assert (b.status.value, b.amount) == (t.state, t.amount)
        assert (b.captured, b.cancelled, b.refunded) == (
            t.captured,
            t.cancelled,
            t.refunded,
        )
        assert b.failed_captures == t.failed_captures


def check_lines(history: History, report: Reconciliation) -> None:
    """Per line: units back, asked to be refunded and refunded are the history's."""
    for b in report.lines:
        t = history.line(report.order_id, b.item_id)
        assert (b.returned, b.refund_requested, b.refunded) == (
            t.returned,
            t.refund_requested,
            t.returned,
        )
        if history.model is not IntegrationModel.ORCHESTRATED:
            assert (b.reported_fulfilled, b.reported_cancelled) == (
                t.shipped,
                t.cancelled,
            )


def check_differences(history: History, report: Reconciliation) -> None:
    """The report's only differences are the captures the history made fail."""
    failed = [
        cid
        for c in history.charges
        if c.order_id == report.order_id
        for cid in c.failed_captures
    ]
    assert len(report.differences) == len(failed)
    for difference in report.differences:
        named = [c for c in failed if re.search(rf"\b{re.escape(c)}\b", difference)]
        assert len(named) == 1
        assert "failed" in difference
    assert report.balanced == (not failed)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@given(data=st.data())
def test_money_balances_after_any_delivery(model: IntegrationModel, data: Any) -> None:
    """Any delivery: every charge within its amount at every step, settled when final,
    refunds within captures, the same report as in order, differences only failures."""
    history = data.draw(histories(model))
    baseline = reports(run([*history.events, *history.aliases], model))
    delivered = reports(run(data.draw(deliveries(history)), model))
    assert delivered == baseline
    assert set(delivered) == {ln.order_id for ln in history.lines}
    for report in delivered.values():
        check_charges(history, report)
        check_lines(history, report)
        check_differences(history, report)


def _overdraw(state: OrderState, charge_id: str) -> Json:
    """``order.charge.capture.complete`` adding a capture one cent past the charge's room."""
    c = next(c for c in state.charges if c.id == charge_id)
    b = charge_balance(c)
    assert b.amount is not None
    room = b.amount - b.captured - b.cancelled
    extra = operation("cap-extra", room + Decimal("0.01"), "complete")
    obj = charge(charge_id, state.order_id, b.amount, "capturable", captures=[extra])
    return charge_event(
        f"evt-extra-{charge_id}",
        "order.charge.capture.complete",
        obj,
        "2021-12-31T00:00:00Z",
    )


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@given(data=st.data())
def test_capture_past_the_amount_is_refused(model: IntegrationModel, data: Any) -> None:
    """After any history, a completed capture taking a charge one cent past its amount
    is refused with ``LedgerViolation``; orders and waiting inputs stay as they were."""
    history = data.draw(histories(model, max_orders=1))
    engine = run(data.draw(deliveries(history)), model)
    target = data.draw(st.sampled_from(history.charges))
    state = engine.orders[target.order_id]
    before = (copy.copy(engine.orders), engine.waiting())
    with pytest.raises(LedgerViolation) as refusal:
        engine.handle(parse_input(_overdraw(state, target.charge_id)))
    assert refusal.value.input_id == f"evt-extra-{target.charge_id}"
    assert (engine.orders, engine.waiting()) == before


ORDER, LINE, FO, FO_LINE = "204440790336", "127911830336", "5720444079", "6512791183"


def _accepted(amount: str) -> Json:
    """``order.accepted`` for one unit, paid by one charge of ``amount``."""
    event = order_event(
        "evt-accepted", "accepted", "2021-11-01T10:00:00Z", items=((LINE, 1, True),)
    )
    event["data"]["object"]["payment"] = {
        "charges": [charge("chg-1", ORDER, amount, "capturable")]
    }
    return event


class TestHandBuiltLedger:
    """The ledger on one hand-built history, so a failure reads at a glance."""

    HISTORY = (
        _accepted("10.00"),
        fulfillment_order(
            "evt-fo",
            "fulfillment_order.pending",
            FO,
            ORDER,
            [fo_line(FO_LINE, LINE, 1)],
            "2021-11-01T10:01:00Z",
        ),
        shipped("evt-ship", "SHIP1", FO, ORDER, [("si1", FO_LINE, LINE, 1)]),
        charge_event(
            "evt-captured",
            "order.charge.capture.complete",
            charge(
                "chg-1",
                ORDER,
                "10.00",
                "complete",
                captures=[operation("cap-1", "10.00", "complete")],
            ),
        ),
    )

    def test_extra_completed_capture_is_refused(self) -> None:
        """A second completed capture on a fully captured charge is a LedgerViolation;
        the order keeps its one capture and its settled balance."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        feed(engine, *self.HISTORY)
        before = engine.orders[ORDER]
        assert reconciliation(before).charges[0].settled
        extra = charge_event(
            "evt-extra",
            "order.charge.capture.complete",
            charge(
                "chg-1",
                ORDER,
                "10.00",
                "complete",
                captures=[
                    operation("cap-1", "10.00", "complete"),
                    operation("cap-2", "0.01", "complete", "2021-11-03T09:11:00Z"),
                ],
            ),
        )
        with pytest.raises(LedgerViolation) as refusal:
            feed(engine, extra)
        assert refusal.value.input_id == "evt-extra"
        assert engine.orders[ORDER] is before
        assert [op.id for op in before.charges[0].captures] == ["cap-1"]

    def test_same_capture_redelivered_is_accepted(self) -> None:
        """The same completed capture again (a redelivery) changes nothing."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        feed(engine, *self.HISTORY)
        before = engine.orders[ORDER]
        again = copy.deepcopy(self.HISTORY[-1])
        again["id"] = "evt-captured-again"
        assert feed(engine, again) == []
        assert reconciliation(engine.orders[ORDER]) == reconciliation(before)

    def test_order_refunded_before_shipments_still_reports_them(self) -> None:
        """DR reaches ``returned`` only once every line was fulfilled or cancelled, so
        an early ``order.refunded`` must not stop the engine reporting the shipment it
        has not yet seen (as an early ``order.fulfilled`` does not)."""
        refunded = order_event(
            "evt-refunded",
            "returned",
            "2021-11-01T10:05:00Z",
            items=((LINE, 1, True),),
            transitions=("accepted", "fulfilled", "returned"),
            event_type="order.refunded",
        )
        engine = Engine(IntegrationModel.DISTRIBUTED)
        accepted, fo, ship = (_accepted("10.00"), *self.HISTORY[1:3])
        calls = feed(engine, accepted, fo, refunded, ship)
        assert [c["path"] for c in calls if c.get("path") == "/fulfillments"] == [
            "/fulfillments"
        ]


def test_failed_capture_is_handled_once() -> None:
    """``order.charge.capture.failed``, delivered twice and echoed by an order event:
    one ``HandleCaptureFailure``, with DR's failure code."""
    failed = charge(
        "chg-1",
        ORDER,
        "10.00",
        "capturable",
        captures=[
            operation(
                "cap-1",
                "10.00",
                "failed",
                failureCode="failed-request",
                fulfillmentId="ful_1",
            )
        ],
    )
    event = charge_event("evt-failed", "order.charge.capture.failed", failed)
    echo = _accepted("10.00")
    echo["id"] = "evt-accepted-later"
    echo["createdTime"] = "2021-11-04T10:00:00Z"
    echo["data"]["object"]["payment"] = {"charges": [failed]}
    engine = Engine(IntegrationModel.DISTRIBUTED)
    calls = feed(engine, _accepted("10.00"), event, event, echo)
    handled = [c for c in calls if c["command"] == "HandleCaptureFailure"]
    assert [(c["captureId"], c["failureCode"]) for c in handled] == [
        ("cap-1", "failed-request")
    ]
