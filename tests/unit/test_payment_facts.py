"""Unit tests of ``domain/payments.py`` through ``decide``: charges, refunds, DR fulfillments.

Charges and their captures, cancels and refunds are merged by id (id-less operations
by ``createdTime`` and amount), amounts never change, states follow their lifecycles
whatever the delivery order; ``refund.*`` and ``fulfillment.created`` are recorded;
a failed capture is reported once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

import pytest

from builders import (
    Json,
    charge,
    charge_event,
    fulfillment_created,
    operation,
    order_event,
    refund,
)
from conftest import load_payload
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.domain.commands import HandleCaptureFailure
from drfulfillment.domain.decide import Decision, decide
from drfulfillment.domain.errors import (
    ConflictingInput,
    IllegalTransition,
    InputRefused,
    LedgerViolation,
    UnknownReference,
)
from drfulfillment.domain.lifecycles import (
    CaptureStatus,
    ChargeRefundStatus,
    ChargeStatus,
    RefundStatus,
)
from drfulfillment.domain.money import charge_balance
from drfulfillment.domain.records import DrFulfillment, DrFulfillmentLine, RefundLine
from drfulfillment.domain.state import IntegrationModel, OrderState

ORDER = "204440790336"
ITEM = "127911830336"
ITEM_B = "127911830337"
T_OP = "2021-11-03T09:10:00Z"
op = operation


def fresh(order_id: str = ORDER) -> OrderState:
    """An order the engine knows nothing about."""
    return OrderState(order_id=order_id, model=IntegrationModel.DISTRIBUTED)


def run(*docs: Json, state: OrderState | None = None) -> Decision:
    """Apply ``docs`` in order with ``decide``; return the last decision."""
    decision = Decision(state or fresh())
    for doc in docs:
        decision = decide(decision.state, parse_input(doc))
    return decision


def refused(state: OrderState, doc: Json) -> InputRefused:
    """The refusal ``doc`` meets in ``state``."""
    with pytest.raises(InputRefused) as info:
        decide(state, parse_input(doc))
    return info.value


def charged(
    event_id: str,
    minute: int,
    state: str = "capturable",
    *,
    amount: str = "60",
    charge_id: str = "ch-1",
    captures: Sequence[Json] = (),
    cancels: Sequence[Json] = (),
    refunds: Sequence[Json] = (),
) -> Json:
    """``order.charge.<state>`` for ``charge_id`` of ``ORDER``, sent at 09:``minute``."""
    obj = charge(
        charge_id,
        ORDER,
        amount,
        state,
        captures=captures,
        cancels=cancels,
        refunds=refunds,
    )
    created = f"2021-11-03T09:{minute:02d}:00Z"
    return charge_event(event_id, f"order.charge.{state}", obj, created)


def accepted() -> Json:
    """``order.accepted`` with two lines (its template charge is another charge id)."""
    items = ((ITEM, 2, None), (ITEM_B, 1, None))
    return order_event("evt-acc", "accepted", "2021-11-01T18:30:00Z", items=items)


class TestMergeCharges:
    """Charges by id, operations by id or by ``createdTime`` + amount, counted once."""

    def test_charges_and_operations_merged_by_id(self) -> None:
        """Two charges stay apart; a capture seen twice is one capture, now complete."""
        state = run(
            charged("e1", 0, captures=[op("cap-1", 20, "pending")]),
            charged("e2", 1, charge_id="ch-2", amount="5"),
            charged(
                "e3",
                2,
                captures=[op("cap-1", 20, "complete"), op("cap-2", 10, "pending")],
            ),
        ).state
        assert [(c.id, c.amount) for c in state.charges] == [
            ("ch-1", Decimal(60)),
            ("ch-2", Decimal(5)),
        ]
        ch1 = state.charges[0]
        assert [(o.id, o.status) for o in ch1.captures] == [
            ("cap-1", CaptureStatus.COMPLETE),
            ("cap-2", CaptureStatus.PENDING),
        ]
        balance = charge_balance(ch1)
        assert (balance.captured, balance.capturing) == (Decimal(20), Decimal(10))

    @pytest.mark.parametrize("idless_first", [True, False])
    def test_idless_operation_matched_both_ways(self, idless_first: bool) -> None:
        """An id-less refund and the same refund with its id are one refund, once counted."""
        idless = charged("e1", 20, refunds=[op(None, "7.5", "pending", T_OP)])
        with_id = charged("e2", 21, refunds=[op("rf-1", "7.5", "complete", T_OP)])
        docs = (idless, with_id) if idless_first else (with_id, idless)
        (ch,) = run(*docs).state.charges
        assert [(r.id, r.status, r.amount) for r in ch.refunds] == [
            ("rf-1", ChargeRefundStatus.COMPLETE, Decimal("7.5"))
        ]
        assert charge_balance(ch).refunded == Decimal("7.5")

    @pytest.mark.parametrize(
        ("created", "amount"), [("2021-11-03T09:11:00Z", "7.5"), (T_OP, "7.4")]
    )
    def test_idless_needs_same_time_and_amount(self, created: str, amount: str) -> None:
        """An id-less operation differing in time or amount is another operation."""
        (ch,) = run(
            charged("e1", 20, refunds=[op("rf-1", "7.5", "complete", T_OP)]),
            charged("e2", 21, refunds=[op(None, amount, "complete", created)]),
        ).state.charges
        assert len(ch.refunds) == 2
        assert charge_balance(ch).refunded == Decimal("7.5") + Decimal(amount)

    def test_idless_then_id_with_other_decimal_spelling(self) -> None:
        """The same amount spelled ``7.50`` then ``7.5`` is still one refund."""
        first = charged("e1", 20, refunds=[op(None, "7.5", "complete", T_OP)])
        first["data"]["object"]["refunds"][0]["amount"] = "7.50"
        second = charged("e2", 21, refunds=[op("rf-1", "7.5", "complete", T_OP)])
        (ch,) = run(first, second).state.charges
        assert charge_balance(ch).refunded == Decimal("7.5")

    def test_charge_amount_never_changes(self) -> None:
        """A charge whose amount changes is refused, naming ``data.object.amount``."""
        err = refused(run(charged("e1", 0)).state, charged("e2", 1, amount="61"))
        assert isinstance(err, ConflictingInput)
        assert (err.input_id, err.field) == ("e2", "data.object.amount")

    def test_order_event_charge_amount_path(self) -> None:
        """In an order event the path runs through ``payment.charges[i]``."""
        doc = order_event(
            "evt-ful", "fulfilled", "2021-11-04T00:00:00Z", items=((ITEM, 2, None),)
        )
        doc["data"]["object"]["payment"]["charges"][0]["amount"] = 1.0
        err = refused(run(accepted()).state, doc)
        assert isinstance(err, ConflictingInput)
        assert err.field == "data.object.payment.charges[0].amount"

    def test_operation_amount_never_changes(self) -> None:
        """A capture whose amount changes is refused, naming its path."""
        caps = [op("c0", 1, "pending"), op("c1", 20, "pending")]
        before = run(charged("e1", 0, captures=caps)).state
        err = refused(before, charged("e2", 1, captures=[op("c1", 21, "complete")]))
        assert isinstance(err, ConflictingInput)
        assert (err.input_id, err.field) == ("e2", "data.object.captures[0].amount")

    def test_completed_operations_above_amount_refused(self) -> None:
        """Captured + cancelled beyond the charge amount is a ``LedgerViolation``."""
        caps = [op("c1", 50, "complete")]
        before = run(charged("e1", 0, captures=caps)).state
        doc = charged("e2", 1, captures=caps, cancels=[op("x1", "10.01", "complete")])
        err = refused(before, doc)
        assert isinstance(err, LedgerViolation)
        assert err.input_id == "e2"
        ok = charged("e3", 1, captures=caps, cancels=[op("x1", "10", "complete")])
        assert run(ok, state=before).state.charges[0].cancels[0].id == "x1"


class TestOperationStates:
    """States merge by lifecycle whatever the delivery order; extra fields are kept."""

    def test_every_permutation_same_state(self) -> None:
        """Four events applied in all 24 orders leave the same charges."""
        docs = [
            charged("e1", 0, captures=[op("c1", 40, "pending")]),
            charged(
                "e2",
                1,
                captures=[op("c1", 40, "complete", fulfillmentId="ful-1")],
                refunds=[op(None, 5, "pending", T_OP)],
            ),
            charged(
                "e3",
                2,
                "complete",
                captures=[op("c1", 40, "complete")],
                cancels=[op("x1", 20, "complete")],
                refunds=[op("r1", 5, "complete", T_OP)],
            ),
            charged("e4", 3, cancels=[op("x1", 20, "pending")]),
        ]
        results = {run(*perm).state.charges for perm in itertools.permutations(docs)}
        assert len(results) == 1
        (ch,) = results.pop()
        assert ch.status is ChargeStatus.COMPLETE
        assert charge_balance(ch).settled
        assert ch.captures[0].fulfillment_id == "ful-1"
        assert [r.id for r in ch.refunds] == ["r1"]

    def test_stale_charge_state_ignored(self) -> None:
        """``capturable`` reported after ``complete`` (even newer) changes nothing."""
        state = run(charged("e1", 0, "complete"), charged("e2", 5)).state
        assert state.charges[0].status is ChargeStatus.COMPLETE

    def test_contradicting_capture_refused(self) -> None:
        """A capture ``complete`` then ``failed`` is an ``IllegalTransition`` at its state."""
        before = run(charged("e1", 0, captures=[op("c1", 20, "complete")])).state
        err = refused(before, charged("e2", 1, captures=[op("c1", 20, "failed")]))
        assert isinstance(err, IllegalTransition)
        assert (err.input_id, err.field) == ("e2", "data.object.captures[0].state")

    @pytest.mark.parametrize("detailed_first", [True, False])
    def test_fulfillment_id_and_failure_kept(self, detailed_first: bool) -> None:
        """``fulfillmentId`` and the failure fields survive an event that omits them."""
        extra = {
            "fulfillmentId": "ful-9",
            "failureCode": "failed-request",
            "failureMessage": "expired",
        }
        detailed = charged("e1", 0, captures=[op("c1", 20, "failed", **extra)])
        bare = charged("e2", 1, captures=[op("c1", 20, "failed")])
        docs = (detailed, bare) if detailed_first else (bare, detailed)
        (cap,) = run(*docs).state.charges[0].captures
        got = (cap.fulfillment_id, cap.failure_code, cap.failure_message)
        assert got == ("ful-9", "failed-request", "expired")


class TestCaptureFailures:
    """``HandleCaptureFailure`` is emitted once, when a capture is first known failed."""

    def test_real_failed_capture_reported_once(self) -> None:
        """DR's real ``capture.failed`` (with fulfillmentId): one command, then none."""
        doc = load_payload(
            "event-order.charge.capture.failed.with-fulfillmentId.partial.json"
        )
        first = run(doc, state=fresh("218378950336"))
        capture_id = "7542f424-7615-4748-8af6-9c04001ce2e8"
        advice = HandleCaptureFailure(key="", order_id="", charge_id="", capture_id="")
        assert [command_json(c) for c in first.commands] == [
            {
                "command": "HandleCaptureFailure",
                "idempotencyKey": f"capture-failed:{capture_id}",
                "orderId": "218378950336",
                "chargeId": "3b4ef391-e8ae-412a-994b-df3e447aafa0",
                "captureId": capture_id,
                "amount": 37.81,
                "fulfillmentId": "ful_2bbb92e0-16fa-4a62-952e-4e2ca4df2870",
                "failureCode": "failed-request",
                "advice": advice.advice,
            }
        ]
        again = {**doc, "id": "evt-again", "createdTime": "2022-03-02T17:40:00Z"}
        assert run(again, state=first.state).commands == ()

    def test_pending_capture_not_reported(self) -> None:
        """A pending capture, then a second one failing: one command, for the failed one."""
        d1 = run(charged("e1", 0, captures=[op("c1", 20, "pending")]))
        assert d1.commands == ()
        caps = [op("c1", 20, "complete"), op("c2", 5, "failed")]
        d2 = run(charged("e2", 1, captures=caps), state=d1.state)
        assert [c.key for c in d2.commands] == ["capture-failed:c2"]

    def test_idless_failed_capture_reported_once(self) -> None:
        """The same failed capture, id-less then with its id, is reported once."""
        d1 = run(charged("e1", 0, captures=[op(None, 20, "failed", T_OP)]))
        assert len(d1.commands) == 1
        d2 = run(
            charged("e2", 1, captures=[op("c1", 20, "failed", T_OP)]), state=d1.state
        )
        assert d2.commands == ()


def refund_doc(
    event_id: str,
    event_type: str,
    state: str | None,
    minute: int,
    items: Sequence[tuple[str, int]] = ((ITEM, 1),),
    amount: int | None = None,
) -> Json:
    """A ``refund.*`` event for ``re-1`` at 10:``minute``; ``state=None`` drops it."""
    created = f"2021-11-05T10:{minute:02d}:00Z"
    doc = refund(
        event_id, event_type, "re-1", ORDER, items, state or "", created, amount
    )
    if state is None:
        del doc["data"]["object"]["state"]
    return doc


class TestRefunds:
    """``refund.*``: state from the object (else the type), stale reports, lines."""

    @pytest.mark.parametrize(
        ("event_type", "state", "expected"),
        [
            ("refund.complete", None, RefundStatus.SUCCEEDED),
            ("refund.pending_information", None, RefundStatus.PENDING_INFORMATION),
            ("refund.failed", "pending", RefundStatus.PENDING),
            ("refund.pending", "succeeded", RefundStatus.SUCCEEDED),
        ],
    )
    def test_state_from_object_else_type(
        self, event_type: str, state: str | None, expected: RefundStatus
    ) -> None:
        """The object's state wins; without one the event type gives it."""
        (rec,) = run(accepted(), refund_doc("e1", event_type, state, 0)).state.refunds
        assert rec.status is expected

    @pytest.mark.parametrize("reverse", [False, True])
    def test_stale_and_cycle(self, reverse: bool) -> None:
        """Between pending states the newer event wins; ``succeeded`` is never undone."""
        docs = [
            refund_doc("e1", "refund.pending", "pending", 0, amount=10),
            refund_doc("e2", "refund.pending_information", "pending_information", 1),
        ]
        (rec,) = run(accepted(), *(docs[::-1] if reverse else docs)).state.refunds
        assert (rec.status, rec.amount) == (
            RefundStatus.PENDING_INFORMATION,
            Decimal(10),
        )
        done = refund_doc("e3", "refund.complete", "succeeded", 2, items=())
        stale = refund_doc("e4", "refund.pending", "pending", 3)
        (rec,) = run(accepted(), *docs, done, stale).state.refunds
        assert rec.status is RefundStatus.SUCCEEDED
        assert rec.lines == (RefundLine(item_id=ITEM, quantity=1),)

    def test_contradiction_refused(self) -> None:
        """``succeeded`` then ``failed`` is refused at ``data.object.state``."""
        before = run(
            accepted(), refund_doc("e1", "refund.complete", "succeeded", 0)
        ).state
        err = refused(before, refund_doc("e2", "refund.failed", "failed", 1))
        assert isinstance(err, IllegalTransition)
        assert (err.input_id, err.field) == ("e2", "data.object.state")

    def test_lines_summed_per_item(self) -> None:
        """Lines naming the same order line add up; DR's real item-level refund is read."""
        items = ((ITEM, 1), (ITEM_B, 1), (ITEM, 1))
        (rec,) = run(
            accepted(), refund_doc("e1", "refund.pending", None, 0, items)
        ).state.refunds
        assert rec.lines == (
            RefundLine(item_id=ITEM, quantity=2),
            RefundLine(item_id=ITEM_B, quantity=1),
        )
        real = load_payload("event-refund.complete.item-level.json")
        order = order_event(
            "evt-o2",
            "complete",
            "2022-03-21T21:40:00Z",
            order_id="220400480336",
            items=(("145634580336", 2, None), ("145634590336", 3, None)),
        )
        (rec,) = run(order, real, state=fresh("220400480336")).state.refunds
        assert (rec.status, [(ln.item_id, ln.quantity) for ln in rec.lines]) == (
            RefundStatus.SUCCEEDED,
            [("145634580336", 2), ("145634590336", 3)],
        )

    def test_refund_naming_lines_waits_for_its_order(self) -> None:
        """A refund with lines before any order event waits, then applies."""
        doc = refund_doc("e1", "refund.pending", None, 0, ((ITEM, 1),))
        early = run(doc)
        assert (early.outcome, early.state.refunds) == ("waiting", ())
        later = decide(early.state, parse_input(accepted()))
        assert later.released == ("e1",)
        assert [r.id for r in later.state.refunds] == ["re-1"]

    def test_unknown_item_refused(self) -> None:
        """A refund line naming no line of a known order is an ``UnknownReference``."""
        doc = refund_doc("e1", "refund.pending", None, 0, ((ITEM, 1), ("nope", 1)))
        err = refused(run(accepted()).state, doc)
        assert isinstance(err, UnknownReference)
        assert (err.input_id, err.field) == ("e1", "data.object.items[1].itemId")


class TestFulfillmentCreated:
    """``fulfillment.created`` is recorded; a repeat must agree with the record."""

    def test_recorded(self) -> None:
        """The fulfillment, its shipment and its per-line units are kept."""
        items = [(ITEM, 1, 0), (ITEM_B, 0, 1), (ITEM, 1, 0)]
        doc = fulfillment_created("e1", "ful-1", ORDER, items, "s1")
        assert run(accepted(), doc).state.fulfillments == (
            DrFulfillment(
                id="ful-1",
                shipment_id="s1",
                lines=(
                    DrFulfillmentLine(item_id=ITEM, quantity=2, cancel_quantity=0),
                    DrFulfillmentLine(item_id=ITEM_B, quantity=0, cancel_quantity=1),
                ),
            ),
        )

    def test_same_fulfillment_twice_changes_nothing(self) -> None:
        """The same fulfillment in a second event leaves the record as it was."""
        first = run(
            accepted(), fulfillment_created("e1", "f", ORDER, [(ITEM, 1, 0)], "s1")
        )
        doc = fulfillment_created("e2", "f", ORDER, [(ITEM, 1, 0)], "s1")
        second = run(doc, state=first.state)
        assert second.state.fulfillments == first.state.fulfillments
        assert (second.outcome, second.commands) == ("applied", ())

    @pytest.mark.parametrize(
        ("items", "shipment"), [([(ITEM, 2, 0)], "s1"), ([(ITEM, 1, 0)], "s2")]
    )
    def test_different_fulfillment_same_id_refused(
        self, items: list[tuple[str, int, int]], shipment: str
    ) -> None:
        """Other units or shipment under the same fulfillment id: ``ConflictingInput``."""
        before = run(
            accepted(), fulfillment_created("e1", "f", ORDER, [(ITEM, 1, 0)], "s1")
        ).state
        err = refused(before, fulfillment_created("e2", "f", ORDER, items, shipment))
        assert isinstance(err, ConflictingInput)
        assert (err.input_id, err.field) == ("e2", "data.object.items")

    def test_unknown_item_refused(self) -> None:
        """A fulfillment naming no line of the order is an ``UnknownReference``."""
        doc = fulfillment_created("e1", "ful-1", ORDER, [(ITEM, 1, 0), ("zz", 1, 0)])
        err = refused(run(accepted()).state, doc)
        assert isinstance(err, UnknownReference)
        assert err.field == "data.object.items[1].itemId"
