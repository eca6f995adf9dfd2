"""Unit tests of ``decide`` on single inputs: dedup, skip, wait, refuse, keys, order status."""

from __future__ import annotations

import copy

import attrs
import pytest

from builders import (
    Json,
    cancellation,
    charge,
    fo_line,
    fulfillment_order,
    operation,
    order_event,
    request,
    shipped,
)
from conftest import load_payload
from drfulfillment.codecs import parse_input
from drfulfillment.domain.commands import (
    Command,
    CreateFulfillment,
    FulfillmentItem,
    HandleCaptureFailure,
    NotifyCustomerOfShipment,
)
from drfulfillment.domain.decide import Decision, decide, input_id
from drfulfillment.domain.errors import (
    ConflictingInput,
    IllegalTransition,
    QuantityExceeded,
    UnknownReference,
)
from drfulfillment.domain.inputs import (
    EventMeta,
    Input,
    RequestedUnits,
    Tracking,
    UnknownEvent,
)
from drfulfillment.domain.lifecycles import OrderStatus
from drfulfillment.domain.state import IntegrationModel, OrderState, Waiting

ORDER = "204440790336"
ITEM = "127911830336"
FO = "fo-1"
LINE = "fol-1"
T1 = "2021-11-01T18:30:00Z"
T2 = "2021-11-01T18:31:00Z"
STAMP1 = "2021-11-01T18:30:00.000000Z"
STAMP2 = "2021-11-01T18:31:00.000000Z"
TRACKING = Tracking(company="Fedex", number="Z1", url="http://fedex.example/Z1")


def inp(doc: Json) -> Input:
    """The typed input of a DR event or merchant request."""
    return parse_input(doc)


def fresh(model: IntegrationModel = IntegrationModel.DISTRIBUTED) -> OrderState:
    """An order the engine knows nothing about."""
    return OrderState(order_id=ORDER, model=model)


def run(state: OrderState, *docs: Json) -> Decision:
    """Apply ``docs`` in order; return the last decision."""
    decision = Decision(state)
    for doc in docs:
        decision = decide(decision.state, inp(doc))
    return decision


def accepted(quantity: int = 2, event_id: str = "evt-acc", created: str = T1) -> Json:
    """``order.accepted`` with one physical line."""
    return order_event(event_id, "accepted", created, items=((ITEM, quantity, None),))


def fo_pending(quantity: int = 2, event_id: str = "evt-fo") -> Json:
    """``fulfillment_order.pending`` with one line."""
    return fulfillment_order(
        event_id,
        "fulfillment_order.pending",
        FO,
        ORDER,
        [fo_line(LINE, ITEM, quantity)],
    )


def ship(event_id: str, shipment_id: str, quantity: int) -> Json:
    """``fulfillment_order.shipped`` of ``quantity`` units of the line."""
    return shipped(
        event_id, shipment_id, FO, ORDER, [(f"{shipment_id}-i", LINE, ITEM, quantity)]
    )


def capture(shipment_id: str, quantity: int) -> CreateFulfillment:
    """The ``POST /fulfillments`` capturing one shipment."""
    return CreateFulfillment(
        key=f"fulfillment:shipment:{shipment_id}",
        order_id=ORDER,
        items=(
            FulfillmentItem(
                item_id=ITEM, quantity=quantity, shipment_item_id=f"{shipment_id}-i"
            ),
        ),
        shipment_id=shipment_id,
        tracking=TRACKING,
    )


def notify_shipment(shipment_id: str, quantity: int) -> NotifyCustomerOfShipment:
    """The customer notification of one shipment."""
    return NotifyCustomerOfShipment(
        key=f"notify:shipment:{shipment_id}",
        order_id=ORDER,
        shipment_id=shipment_id,
        items=(RequestedUnits(ITEM, quantity),),
        tracking=TRACKING,
    )


def keys(commands: tuple[Command, ...]) -> list[str]:
    """The idempotency keys of ``commands``, in order."""
    return [c.key for c in commands]


class TestDecideDuplicates:
    """An input whose id was already applied or is waiting changes nothing."""

    def test_duplicate_event_id(self) -> None:
        """The same event again: outcome ``duplicate``, the very same state, no commands."""
        first = run(fresh(), accepted())
        again = decide(first.state, inp(accepted()))
        assert again == Decision(first.state, (), "duplicate")
        assert again.state is first.state

    def test_duplicate_id_with_other_content(self) -> None:
        """Dedup is by event id: a redelivery with other content is still a duplicate."""
        first = run(fresh(), fo_pending(), accepted(), ship("evt-s", "shp-1", 1))
        other = ship("evt-s", "shp-2", 1)
        again = decide(first.state, inp(other))
        assert again == Decision(first.state, (), "duplicate")

    def test_duplicate_of_waiting_input(self) -> None:
        """An input already waiting is a duplicate, and stays waiting once."""
        first = run(fresh(), accepted(), ship("evt-s", "shp-1", 1))
        assert first.outcome == "waiting"
        again = decide(first.state, inp(ship("evt-s", "shp-1", 1)))
        assert again == Decision(first.state, (), "duplicate")
        assert [w.input_id for w in again.state.waiting] == ["evt-s"]

    def test_duplicate_request_id(self) -> None:
        """A merchant request id already applied is a duplicate."""
        cancel = request("request_cancellation", "rq-1", ORDER, [(ITEM, 1)])
        first = run(fresh(), accepted(), fo_pending(), cancel)
        assert first.outcome == "applied"
        assert len(first.commands) == 1
        again = decide(first.state, inp(cancel))
        assert again == Decision(first.state, (), "duplicate")


class TestDecideSkipped:
    """Event types the engine does not act on are skipped and not recorded."""

    def test_unknown_event_type(self) -> None:
        """An unknown event type: outcome ``skipped``, same state, id not marked seen."""
        base = run(fresh(), accepted()).state
        event = UnknownEvent(EventMeta("evt-x", "order.invoice.created", STAMP1))
        decision = decide(base, event)
        assert decision == Decision(base, (), "skipped")
        assert decision.state is base
        assert "evt-x" not in decision.state.seen

    def test_unknown_event_parsed_from_dr_payload(self) -> None:
        """DR's real ``order.invoice.created`` parses to a skipped ``UnknownEvent``."""
        event = inp(load_payload("event-order.invoice.created.json"))
        assert isinstance(event, UnknownEvent)
        assert decide(fresh(), event) == Decision(fresh(), (), "skipped")

    def test_fulfillment_created_is_recorded(self) -> None:
        """``fulfillment.created`` (DR's record of a POST) is kept, and emits nothing."""
        base = OrderState(order_id="259855820336", model=IntegrationModel.DISTRIBUTED)
        known = run(
            base,
            order_event(
                "evt-o",
                "accepted",
                T1,
                order_id="259855820336",
                items=(("189752780336", 2, False), ("189752790336", 2, False)),
            ),
        ).state
        early = decide(base, inp(load_payload("event-fulfillment.created.json")))
        assert early.outcome == "waiting"
        decision = decide(known, inp(load_payload("event-fulfillment.created.json")))
        assert (decision.outcome, decision.commands) == ("applied", ())
        (recorded,) = decision.state.fulfillments
        assert (
            recorded.id
            == load_payload("event-fulfillment.created.json")["data"]["object"]["id"]
        )


class TestDecideWaiting:
    """Inputs that depend on unknown facts wait, and are released in id order."""

    def test_shipment_before_its_fulfillment_order_waits(self) -> None:
        """A shipment of an unknown FO is kept with the reason; nothing else changes."""
        base = run(fresh(), accepted()).state
        event = inp(ship("evt-s", "shp-1", 1))
        decision = decide(base, event)
        assert decision == Decision(
            attrs.evolve(
                base, waiting=(Waiting("evt-s", event, "fulfillment order fo-1"),)
            ),
            (),
            "waiting",
        )
        assert decision.state.seen == base.seen

    def test_waiting_kept_sorted_and_released_in_id_order(self) -> None:
        """Waiting inputs are sorted by id and released in that order with their commands."""
        base = run(fresh(), accepted()).state
        late = decide(base, inp(ship("evt-b", "shp-b", 1)))
        early = decide(late.state, inp(ship("evt-a", "shp-a", 1)))
        assert [w.input_id for w in early.state.waiting] == ["evt-a", "evt-b"]
        released = decide(early.state, inp(fo_pending()))
        assert released.outcome == "applied"
        assert released.released == ("evt-a", "evt-b")
        assert released.dropped == ()
        assert released.commands == (
            notify_shipment("shp-a", 1),
            capture("shp-a", 1),
            notify_shipment("shp-b", 1),
            capture("shp-b", 1),
        )
        assert released.state.waiting == ()
        assert {"evt-a", "evt-b", "evt-fo"} <= set(released.state.seen)
        assert released.state.line(ITEM) is not None
        line = released.state.line(ITEM)
        assert line is not None
        assert (line.fulfilled, line.cancelled) == (2, 0)

    def test_released_input_that_proves_impossible_is_dropped(self) -> None:
        """A waiting input refused on release is dropped, reported, and marked seen."""
        base = run(fresh(), accepted()).state
        waiting = decide(base, inp(ship("evt-s", "shp-1", 3))).state
        decision = decide(waiting, inp(fo_pending()))
        assert decision.released == ()
        assert [type(e) for e in decision.dropped] == [QuantityExceeded]
        assert decision.dropped[0].input_id == "evt-s"
        assert decision.commands == ()
        assert decision.state.waiting == ()
        assert decision.state.shipments == ()
        assert "evt-s" in decision.state.seen

    def test_order_fulfilled_waits_until_fully_reported(self) -> None:
        """``order.fulfilled`` waits while units are unreported; status stays."""
        base = run(fresh(), accepted(), fo_pending()).state
        event = inp(order_event("evt-ful", "fulfilled", T2, items=((ITEM, 2, None),)))
        decision = decide(base, event)
        assert decision.outcome == "waiting"
        assert decision.state.status is OrderStatus.ACCEPTED
        assert decision.state.waiting == (
            Waiting(
                "evt-ful",
                event,
                f"order {ORDER} fully reported (line {ITEM}: 2 of 2 units not yet "
                "reported)",
            ),
        )
        shipped_all = decide(decision.state, inp(ship("evt-s", "shp-1", 2)))
        assert shipped_all.released == ("evt-ful",)
        assert shipped_all.state.status is OrderStatus.FULFILLED
        assert shipped_all.commands == (
            notify_shipment("shp-1", 2),
            capture("shp-1", 2),
        )

    def test_waiting_order_event_still_teaches_lines(self) -> None:
        """A first ``order.fulfilled`` waits but records the order's lines."""
        event = inp(order_event("evt-ful", "fulfilled", T2, items=((ITEM, 2, None),)))
        decision = decide(fresh(), event)
        assert decision.outcome == "waiting"
        assert decision.state.status is None
        assert [(ln.item_id, ln.quantity) for ln in decision.state.lines] == [(ITEM, 2)]


class TestDecideRefusals:
    """A refused input raises and leaves the caller's state exactly as it was."""

    def test_over_shipment_refused(self) -> None:
        """Shipping more than the FO line holds raises ``QuantityExceeded``."""
        base = run(fresh(), accepted(), fo_pending()).state
        before = copy.deepcopy(base)
        with pytest.raises(QuantityExceeded) as info:
            decide(base, inp(ship("evt-s", "shp-1", 3)))
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-s",
            None,
            "fulfillment order fo-1 line fol-1: 3 shipped + 0 cancelled exceed its "
            "quantity 2",
        )
        assert base == before
        assert "evt-s" not in base.seen

    def test_refused_input_is_not_remembered(self) -> None:
        """The same refused event is refused again, not treated as a duplicate."""
        base = run(fresh(), accepted(), fo_pending()).state
        for _ in range(2):
            with pytest.raises(QuantityExceeded):
                decide(base, inp(ship("evt-s", "shp-1", 3)))
        fixed = decide(base, inp(ship("evt-s", "shp-1", 2)))
        assert fixed.outcome == "applied"
        assert fixed.commands == (notify_shipment("shp-1", 2), capture("shp-1", 2))

    def test_illegal_order_transition_refused(self) -> None:
        """A newer ``order.accepted`` after ``blocked`` raises ``IllegalTransition``."""
        base = run(fresh(), order_event("evt-b", "blocked", T1, transitions=())).state
        before = copy.deepcopy(base)
        with pytest.raises(IllegalTransition) as info:
            decide(base, inp(accepted(created=T2)))
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-acc",
            "data.object.state",
            f"order {ORDER} cannot go from 'blocked' to 'accepted'",
        )
        assert base == before
        assert base.status is OrderStatus.BLOCKED

    def test_refusal_keeps_waiting_inputs(self) -> None:
        """A refusal while inputs wait leaves them waiting."""
        base = run(fresh(), accepted(), ship("evt-w", "shp-w", 1)).state
        before = copy.deepcopy(base)
        with pytest.raises(UnknownReference) as info:
            decide(
                base, inp(request("request_cancellation", "rq-1", ORDER, [(ITEM, 1)]))
            )
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "rq-1",
            "items[0].itemId",
            f"line {ITEM}: no fulfillment order holding it is known yet",
        )
        assert base == before
        assert [w.input_id for w in base.waiting] == ["evt-w"]


class TestIdempotencyKeys:
    """Command keys are a function of their cause: deterministic and distinct."""

    def test_same_input_same_state_same_decision(self) -> None:
        """Deciding the same input twice from the same state gives equal commands."""
        base = run(fresh(), accepted(quantity=3), fo_pending(quantity=3)).state
        event = inp(ship("evt-s", "shp-1", 2))
        first, second = decide(base, event), decide(base, event)
        assert first == second
        assert keys(first.commands) == [
            "notify:shipment:shp-1",
            "fulfillment:shipment:shp-1",
        ]

    def test_request_keys_deterministic(self) -> None:
        """A cancellation request decided twice from one state yields one key."""
        base = run(fresh(), accepted(quantity=3), fo_pending(quantity=3)).state
        req = inp(request("request_cancellation", "rq-1", ORDER, [(ITEM, 1)]))
        assert keys(decide(base, req).commands) == keys(decide(base, req).commands)
        assert keys(decide(base, req).commands) == [
            "fulfillment-cancellation:rq-1:fo-1"
        ]

    def test_keys_distinct_across_a_life(self) -> None:
        """Every command of an order's life has its own key."""
        docs = [
            accepted(quantity=4),
            fo_pending(quantity=4),
            ship("evt-s1", "shp-1", 1),
            request("request_cancellation", "rq-1", ORDER, [(ITEM, 1)]),
            cancellation("evt-c1", "accepted", "fc-1", FO, ORDER, [(LINE, 1, 1)]),
            request("request_cancellation", "rq-2", ORDER, [(ITEM, 1)]),
            cancellation("evt-c2", "accepted", "fc-2", FO, ORDER, [(LINE, 1, 1)]),
            ship("evt-s2", "shp-2", 1),
        ]
        state = fresh()
        every: list[str] = []
        for doc in docs:
            decision = decide(state, inp(doc))
            assert decision.outcome == "applied"
            state = decision.state
            every += keys(decision.commands)
        assert every == [
            "fulfillment-order:204440790336",
            "notify:shipment:shp-1",
            "fulfillment:shipment:shp-1",
            "fulfillment-cancellation:rq-1:fo-1",
            "notify:cancellation:fo-1:fol-1:1",
            f"fulfillment:cancel:{ORDER}:{ITEM}:0+1",
            "fulfillment-cancellation:rq-2:fo-1",
            "notify:cancellation:fo-1:fol-1:2",
            f"fulfillment:cancel:{ORDER}:{ITEM}:1+1",
            "notify:shipment:shp-2",
            "fulfillment:shipment:shp-2",
        ]
        assert len(set(every)) == len(every)


class TestOrderStatusOrdering:
    """The order status is that of the newest ``order.*`` event by (createdTime, id)."""

    def _review(self, event_id: str, created: str) -> Json:
        return order_event(event_id, "in_review", created, transitions=())

    def test_older_event_after_newer_is_ignored(self) -> None:
        """An older event changes neither status nor stamp, but is marked seen."""
        newer = run(fresh(), accepted(created=T2))
        older = decide(newer.state, inp(self._review("evt-rev", T1)))
        assert older.outcome == "applied"
        assert older.commands == ()
        assert older.state.status is OrderStatus.ACCEPTED
        assert older.state.status_stamp == (STAMP2, "evt-acc")
        assert "evt-rev" in older.state.seen
        assert attrs.evolve(older.state, seen=newer.state.seen) == newer.state

    def test_older_event_first_then_newer(self) -> None:
        """Delivered in order, the newer event wins."""
        decision = run(fresh(), self._review("evt-rev", T1), accepted(created=T2))
        assert decision.state.status is OrderStatus.ACCEPTED
        assert decision.state.status_stamp == (STAMP2, "evt-acc")

    def test_older_contradicting_event_is_refused(self) -> None:
        """An older ``order.blocked`` cannot precede a newer ``accepted``: refused."""
        newer = run(fresh(), accepted(created=T2))
        with pytest.raises(IllegalTransition) as info:
            decide(
                newer.state, inp(order_event("evt-blk", "blocked", T1, transitions=()))
            )
        assert info.value.input_id == "evt-blk"
        assert info.value.field == "data.object.state"
        assert newer.state.status is OrderStatus.ACCEPTED

    def test_older_compatible_event_is_stale(self) -> None:
        """An older ``order.pending_payment`` after ``accepted`` changes nothing."""
        newer = run(fresh(), accepted(created=T2))
        stale = decide(
            newer.state,
            inp(order_event("evt-pp", "pending_payment", T1, transitions=())),
        )
        assert stale.state.status is OrderStatus.ACCEPTED
        assert stale.state.status_stamp == (STAMP2, "evt-acc")

    @pytest.mark.parametrize("reverse", [False, True])
    def test_same_time_tie_broken_by_event_id(self, reverse: bool) -> None:
        """At equal ``createdTime`` the larger event id is the newer, in any order."""
        review = self._review("evt-1", T1)
        accept = accepted(event_id="evt-2", created=T1)
        docs = (accept, review) if reverse else (review, accept)
        decision = run(fresh(), *docs)
        assert decision.state.status is OrderStatus.ACCEPTED
        assert decision.state.status_stamp == (STAMP1, "evt-2")

    def test_timezone_offsets_compare_as_instants(self) -> None:
        """A later local time in an earlier instant is older (codec normalises to UTC)."""
        newer = run(fresh(), accepted(created="2021-11-01T18:31:00Z"))
        older = decide(
            newer.state, inp(self._review("evt-rev", "2021-11-01T19:30:00+01:00"))
        )
        assert older.state.status is OrderStatus.ACCEPTED


class TestInputId:
    """``input_id`` is the event id or the merchant request id."""

    def test_event_and_request_ids(self) -> None:
        """Events dedupe by DR event id, requests by the caller's request id."""
        assert input_id(inp(accepted())) == "evt-acc"
        req = request("report_shipment", "rq-9", ORDER, [(ITEM, 1)])
        assert input_id(inp(req)) == "rq-9"


class TestOrderIdentity:
    """``decide`` works on one order: an input naming another order is refused."""

    @pytest.mark.parametrize(
        "doc",
        [
            order_event("evt-other", "accepted", T1, order_id="999999999999"),
            fulfillment_order(
                "evt-other",
                "fulfillment_order.pending",
                FO,
                "999999999999",
                [fo_line(LINE, ITEM, 2)],
            ),
        ],
        ids=["order-event", "fulfillment-order-event"],
    )
    def test_input_for_another_order_refused(self, doc: Json) -> None:
        """An event whose order id is not the state's order raises ``ConflictingInput``."""
        base = fresh()
        with pytest.raises(ConflictingInput) as info:
            decide(base, inp(doc))
        assert info.value.input_id == "evt-other"


class TestWaitingOrderEventCharges:
    """A waiting closing order event's charges wait with it (and notify when it applies)."""

    def test_failed_capture_in_a_waiting_event_notifies_when_it_applies(self) -> None:
        """``order.fulfilled`` waits for the shipment; its failed capture is notified once."""
        fulfilled = order_event(
            "evt-ful",
            "fulfilled",
            T2,
            items=((ITEM, 2, None),),
            transitions=("accepted", "fulfilled"),
        )
        fulfilled["data"]["object"]["payment"]["charges"] = [
            charge(
                "chg-1",
                ORDER,
                "27.01",
                "capturable",
                captures=[operation("cap-1", "27.01", "failed")],
            )
        ]
        waiting = run(fresh(), accepted(), fo_pending(), fulfilled)
        assert waiting.outcome == "waiting"
        assert "chg-1" not in {c.id for c in waiting.state.charges}
        released = decide(waiting.state, inp(ship("evt-s1", "S1", 2)))
        assert released.released == ("evt-ful",)
        failures = [c for c in released.commands if isinstance(c, HandleCaptureFailure)]
        assert [c.key for c in failures] == ["capture-failed:cap-1"]
        again = decide(released.state, inp({**fulfilled, "id": "evt-ful-again"}))
        assert not [c for c in again.commands if isinstance(c, HandleCaptureFailure)]
