"""Each lifecycle, step by step, against a deliberately simple reference model (issue 3).

Three hypothesis ``RuleBasedStateMachine``s drive ``decide`` on one ``OrderState``:

* :class:`OrderLifecycle` delivers ``order.*`` events in any DR state, with any
  ``createdTime`` earlier or later than the last, and duplicates; the reference is the
  newest ``(createdTime, id)`` status among accepted events, a refusal when the declared
  lifecycle cannot reach the newer state (or the older cannot precede it), closing
  events kept waiting until every unit is reported, and captures only while the order
  is ``accepted`` (or a newer closing event that can follow its status waits). From
  every reached state, newer valid events still finish the order.
* :class:`LineLedgerMachine` ships, redelivers, backorders and cancels (fulfiller
  snapshots, accepted cancellations, merchant requests) the lines of one fulfillment
  order; the reference is plain integer counters per line.
* :class:`CancellationLifecycle` delivers ``fulfillment_cancellation.*`` events in any
  order for a few cancellation ids; terminal states absorb, stale events are ignored,
  a contradiction (``accepted`` then ``rejected``) is refused.

Every refused input raises an ``InputRefused`` subclass and leaves the state ``==``.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable

import attrs
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

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
from drfulfillment import (
    CancellationItem,
    CancellationStatus,
    Command,
    ConflictingInput,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentOrder,
    Decision,
    FulfillmentItem,
    IllegalTransition,
    InputRefused,
    IntegrationModel,
    NotifyCustomerOfRejectedCancellation,
    OrderState,
    OrderStatus,
    QuantityExceeded,
    Tracking,
    decide,
    line_ledger,
)
from drfulfillment.codecs import parse_input
from drfulfillment.codecs.events import normalise_time
from drfulfillment.domain.ledger import outstanding_requested
from drfulfillment.domain.lifecycles import LIFECYCLES, ORDER, Rulebook

ORDER_ID = "204440790336"
FO = "fo-1"
TRACKING = Tracking(company="Fedex", number="Z1", url="http://fedex.example/Z1")

#: Scaled with the profile: ``ci`` keeps the whole file well under a minute.
_EXAMPLES = max(10, settings().max_examples // 8)


def stamp(n: int) -> str:
    """Minute ``n`` of November 2021 as DR writes ``createdTime``."""
    return f"2021-11-{1 + n // 1440:02d}T{(n // 60) % 24:02d}:{n % 60:02d}:00Z"


def item_of(k: int) -> str:
    """The DR order line id of line ``k``."""
    return f"{ORDER_ID}{k}"


def line_of(k: int) -> str:
    """The fulfillment-order line id of line ``k``."""
    return f"fol-{k}"


def order_doc(
    event_id: str,
    status: OrderStatus,
    n: int,
    quantities: list[int],
    *,
    via_accepted: bool = False,
) -> Json:
    """``order.<status>`` at minute ``n``; ``via_accepted`` puts ``accepted`` in its history."""
    transitions = ("accepted", status.value) if via_accepted else (status.value,)
    return order_event(
        event_id,
        status.value,
        stamp(n),
        order_id=ORDER_ID,
        items=[(item_of(k), q, True) for k, q in enumerate(quantities)],
        transitions=transitions,
        event_type="order.refunded" if status is OrderStatus.RETURNED else None,
    )


def fo_pending_doc(event_id: str, quantities: list[int]) -> Json:
    """``fulfillment_order.pending`` of the one fulfillment order, every unit pending."""
    return fulfillment_order(
        event_id,
        "fulfillment_order.pending",
        FO,
        ORDER_ID,
        [fo_line(line_of(k), item_of(k), q) for k, q in enumerate(quantities)],
    )


def ship_doc(event_id: str, shipment_id: str, k: int, units: int) -> Json:
    """``fulfillment_order.shipped`` of ``units`` units of line ``k``."""
    return shipped(
        event_id,
        shipment_id,
        FO,
        ORDER_ID,
        [(f"{shipment_id}-i", line_of(k), item_of(k), units)],
    )


def capture(shipment_id: str, k: int, units: int) -> CreateFulfillment:
    """The ``POST /fulfillments`` capturing one single-line shipment."""
    return CreateFulfillment(
        key=f"fulfillment:shipment:{shipment_id}",
        order_id=ORDER_ID,
        items=(
            FulfillmentItem(
                item_id=item_of(k),
                quantity=units,
                shipment_item_id=f"{shipment_id}-i",
            ),
        ),
        shipment_id=shipment_id,
        tracking=TRACKING,
    )


def check_keys(seen: dict[str, Command], commands: tuple[Command, ...]) -> None:
    """No idempotency key is ever used by two different commands."""
    for c in commands:
        first = seen.setdefault(c.key, c)
        assert first == c, f"key {c.key} names {first} and {c}"


def refused(
    state: OrderState, doc: Json, error: type[InputRefused], field: str | None
) -> None:
    """``decide`` refuses ``doc`` with ``error`` at ``field``; nothing is changed."""
    before = copy.deepcopy(state)
    inp = parse_input(doc)
    with pytest.raises(error) as info:
        decide(state, inp)
    assert type(info.value) is error
    assert info.value.input_id == doc["id"]
    assert info.value.field == field
    assert state == before


def api(commands: tuple[Command, ...]) -> list[Command]:
    """The DR API commands among ``commands`` (customer notifications left out)."""
    kinds = (CreateFulfillment, CreateFulfillmentOrder, CreateFulfillmentCancellation)
    return [c for c in commands if isinstance(c, kinds)]


# --- every declared lifecycle can always finish --------------------------------------


def _reachable(book: Rulebook[enum.Enum], start: enum.Enum) -> set[enum.Enum]:
    return {s for s in book.states if book.can_reach(start, s)}


#: How the order machine finishes an order: one declared step towards a final state.
FINISH_ROUTE: dict[OrderStatus | None, OrderStatus] = {
    None: OrderStatus.PENDING_PAYMENT,
    OrderStatus.PENDING_PAYMENT: OrderStatus.BLOCKED,
    OrderStatus.IN_REVIEW: OrderStatus.BLOCKED,
    OrderStatus.ACCEPTED: OrderStatus.CANCELLED,
    OrderStatus.FULFILLED: OrderStatus.RETURNED,
    OrderStatus.COMPLETE: OrderStatus.RETURNED,
    OrderStatus.DISPUTE: OrderStatus.ACCEPTED,
}


class TestRulebookFinals:
    """Every declared lifecycle can always still reach a final state."""

    @pytest.mark.parametrize("name", sorted(LIFECYCLES))
    def test_every_reachable_state_can_reach_a_final_one(self, name: str) -> None:
        """Each state reachable from the initial one reaches some final state."""
        book: Rulebook[enum.Enum] = LIFECYCLES[name]
        reachable = _reachable(book, book.initial)
        assert book.initial in reachable
        assert book.finals <= reachable
        stuck = {
            s for s in reachable if not any(book.can_reach(s, f) for f in book.finals)
        }
        assert stuck == set()

    def test_finish_route_is_declared_steps(self) -> None:
        """The route the order machine finishes by takes declared single steps only."""
        for source, dest in FINISH_ROUTE.items():
            if source is None:
                assert dest is ORDER.initial
                continue
            steps = [
                t
                for t in ORDER.transitions
                if t["dest"] == dest.value
                and source.value
                in ([t["source"]] if isinstance(t["source"], str) else t["source"])
            ]
            assert steps, f"{source} -> {dest} is not declared"
        non_final = {s for s in OrderStatus if s not in ORDER.finals}
        assert set(FINISH_ROUTE) - {None} == non_final
        assert OrderStatus.BLOCKED in ORDER.finals
        assert OrderStatus.RETURNED in ORDER.finals
        assert OrderStatus.CANCELLED in ORDER.finals


# --- order lifecycle -------------------------------------------------------------------


def _run(*docs: Json) -> list[Decision]:
    """Every decision of ``docs`` applied in order to a fresh distributed order."""
    state = OrderState(order_id=ORDER_ID, model=IntegrationModel.DISTRIBUTED)
    out = []
    for doc in docs:
        decision = decide(state, parse_input(doc))
        out.append(decision)
        state = decision.state
    return out


class TestCatchingUp:
    """Replays of :class:`OrderLifecycle` examples: held captures and closing events."""

    def test_no_capture_on_a_blocked_order(self) -> None:
        """A newer closing event that cannot follow ``blocked`` must not make it capture."""
        # The minimal example OrderLifecycle found: the shipment is held while the
        # order has no status, DR blocks the order, then order.cancelled (after
        # acceptance) arrives, newer but impossible after blocked.
        *_, blocked, closing = _run(
            fo_pending_doc("evt-fo", [1]),
            ship_doc("evt-ship", "shp-1", 0, 1),
            order_doc("evt-0-blocked", OrderStatus.BLOCKED, 100, [1]),
            order_doc(
                "evt-1-cancelled", OrderStatus.CANCELLED, 100, [1], via_accepted=True
            ),
        )
        assert blocked.state.status is OrderStatus.BLOCKED
        assert api(closing.commands) == []
        assert closing.state.status is OrderStatus.BLOCKED
        assert closing.state.lines[0].fulfilled == 0

    def test_dispute_catches_up_with_a_newer_fulfilled(self) -> None:
        """A newer ``order.fulfilled`` during a dispute lets the held shipment be captured."""
        *_, dispute, fulfilled = _run(
            order_doc("evt-acc", OrderStatus.ACCEPTED, 100, [1]),
            fo_pending_doc("evt-fo", [1]),
            order_doc("evt-dispute", OrderStatus.DISPUTE, 101, [1]),
            ship_doc("evt-ship", "shp-1", 0, 1),
            order_doc("evt-fulfilled", OrderStatus.FULFILLED, 102, [1]),
        )
        assert api(dispute.commands) == []
        assert dispute.state.status is OrderStatus.DISPUTE
        assert api(fulfilled.commands) == [capture("shp-1", 0, 1)]
        assert fulfilled.released == ("evt-fulfilled",)
        assert fulfilled.state.status is OrderStatus.FULFILLED


@attrs.frozen
class OrderEv:
    """An ``order.*`` event as the reference sees it."""

    id: str
    n: int
    status: OrderStatus
    closing: bool


@attrs.frozen
class ShipEv:
    """A shipment of ``units`` units (the order machine has one line)."""

    id: str
    shipment_id: str
    units: int


@attrs.frozen
class FoEv:
    """The fulfillment order becoming known."""

    id: str


RefEvent = OrderEv | ShipEv | FoEv
_CLOSING = {OrderStatus.FULFILLED, OrderStatus.COMPLETE, OrderStatus.RETURNED}


@attrs.define
class OrderRef:
    """The reference order: newest status, waiting events, and plain counters."""

    quantity: int
    status: OrderStatus | None = None
    stamp: tuple[int, str] | None = None
    seen: set[str] = attrs.Factory(set)
    waiting: dict[str, RefEvent] = attrs.Factory(dict)
    fo_known: bool = False
    fo_requested: bool = False
    shipped: int = 0
    captured: int = 0
    held: list[tuple[str, int]] = attrs.Factory(list)
    cfo: int = 0

    def allowed(self) -> bool:
        """May ``POST /fulfillments`` go out? Only while accepted, or catching up.

        Catching up: a closing event newer than the status waits, and the lifecycle
        can take the order from its status to that closing state (DR is ahead of us).
        A closing event that cannot follow the status (``fulfilled`` after ``blocked``)
        is impossible; it must not make the engine capture.
        """
        if self.status is OrderStatus.ACCEPTED:
            return True
        return any(
            isinstance(w, OrderEv)
            and w.closing
            and (self.stamp is None or (w.n, w.id) > self.stamp)
            and (self.status is None or ORDER.can_reach(self.status, w.status))
            for w in self.waiting.values()
        )

    def _apply(self, ev: RefEvent) -> str:
        """``ok``, ``wait`` or ``refuse``; mutates only on ``ok``."""
        if isinstance(ev, FoEv):
            self.fo_known = self.fo_requested = True
            return "ok"
        if isinstance(ev, ShipEv):
            self.shipped += ev.units
            self.held.append((ev.shipment_id, ev.units))
            return "ok"
        key = (ev.n, ev.id)
        if self.stamp is not None and key <= self.stamp:
            assert self.status is not None
            return "ok" if ORDER.can_reach(ev.status, self.status) else "refuse older"
        if ev.closing and self.captured < self.quantity:
            return "wait"
        if self.status is not None and not ORDER.can_reach(self.status, ev.status):
            return "refuse newer"
        self.status, self.stamp = ev.status, key
        return "ok"

    def _reconcile(self, out: list[CreateFulfillment]) -> None:
        if self.status is OrderStatus.ACCEPTED and not self.fo_requested:
            self.fo_requested = True
            self.cfo += 1
        if self.allowed():
            for sid, units in sorted(self.held):
                out.append(capture(sid, 0, units))
                self.captured += units
            self.held = []

    def step(
        self, ev: RefEvent
    ) -> tuple[str, list[CreateFulfillment], list[str], list[str]]:
        """Outcome, expected captures, released and dropped input ids.

        An input that waits is kept, and the order is still reconciled: a waiting
        closing event lets the engine report what it owes, which may release it.
        """
        if ev.id in self.seen or ev.id in self.waiting:
            return "duplicate", [], [], []
        verdict = self._apply(ev)
        if verdict.startswith("refuse"):
            return verdict, [], [], []
        if verdict == "wait":
            self.waiting[ev.id] = ev
        else:
            self.seen.add(ev.id)
        out: list[CreateFulfillment] = []
        self._reconcile(out)
        released: list[str] = []
        dropped: list[str] = []
        progress = True
        while progress and self.waiting:
            progress = False
            for wid in sorted(self.waiting):
                w = self.waiting.pop(wid)
                verdict = self._apply(w)
                if verdict == "wait":
                    self.waiting[wid] = w
                    continue
                self.seen.add(wid)
                if verdict.startswith("refuse"):
                    dropped.append(wid)
                else:
                    released.append(wid)
                    self._reconcile(out)
                progress = True
                break
        outcome = "waiting" if ev.id in self.waiting else "applied"
        return outcome, out, released, dropped


def _shipped_units(state: OrderState) -> int:
    return sum(sl.quantity for s in state.shipments for sl in s.lines)


def finish(state: OrderState, quantity: int) -> OrderState:
    """Deliver newer valid events until the order is final; fail if it cannot be."""
    n = 20000
    for i in range(12):
        if state.status in ORDER.finals:
            return state
        if state.status is OrderStatus.ACCEPTED:
            if state.fulfillment_order(FO) is None:
                state = decide(
                    state, parse_input(fo_pending_doc(f"fin-fo-{i}", [quantity]))
                ).state
            left = quantity - _shipped_units(state)
            if left:
                doc = ship_doc(f"fin-ship-{i}", f"fin-shp-{i}", 0, left)
                state = decide(state, parse_input(doc)).state
                continue
        target = FINISH_ROUTE[state.status]
        doc = order_doc(f"fin-{i}", target, n + i, [quantity], via_accepted=True)
        decision = decide(state, parse_input(doc))
        assert decision.outcome == "applied", (state.status, target, decision.outcome)
        state = decision.state
    raise AssertionError(f"order not finished: {state.status}")


#: Every DR order state, the main line (accepted, dispute, closing) more often.
STATUS_MIX = [
    *OrderStatus,
    *[OrderStatus.ACCEPTED] * 4,
    OrderStatus.DISPUTE,
    OrderStatus.FULFILLED,
    OrderStatus.COMPLETE,
]


class OrderLifecycle(RuleBasedStateMachine):
    """``order.*`` events in any state, time and repetition, against :class:`OrderRef`."""

    def __init__(self) -> None:
        super().__init__()
        self.quantity = 1
        self.state = OrderState(order_id=ORDER_ID, model=IntegrationModel.DISTRIBUTED)
        self.ref = OrderRef(quantity=1)
        self.clock = 100
        self.count = 0
        self.delivered: list[tuple[Json, RefEvent]] = []
        self.keys: dict[str, Command] = {}

    @initialize(
        quantity=st.integers(1, 3),
        first=st.sampled_from(
            [None, OrderStatus.PENDING_PAYMENT, OrderStatus.ACCEPTED]
        ),
        fo_first=st.booleans(),
    )
    def setup(self, quantity: int, first: OrderStatus | None, fo_first: bool) -> None:
        """One physical line of ``quantity`` units; maybe a first order event, the FO."""
        self.quantity = quantity
        self.ref = OrderRef(quantity=quantity)
        if fo_first:
            self.fulfillment_order_known()
        if first is not None:
            self.order_event(first, 0, 0, via_accepted=False)

    def _next_id(self, prefix: str, tie: int = 0) -> str:
        self.count += 1
        return f"{prefix}-{tie}-{self.count:03d}"

    def deliver(self, doc: Json, ev: RefEvent) -> None:
        """Run one input through ``decide`` and the reference; compare everything."""
        self.delivered.append((doc, ev))
        ref = copy.deepcopy(self.ref)
        outcome, captures, released, dropped = ref.step(ev)
        before = self.state
        event(f"order machine: {outcome}")
        if captures:
            event("order machine: captured")
        if captures and ref.status is not OrderStatus.ACCEPTED:
            event("order machine: captured, then left accepted or caught up")
        if outcome.startswith("refuse"):
            # An older event that cannot precede the status names the field; a newer
            # one the lifecycle cannot reach is refused by the rulebook, with none.
            field = "data.object.state"
            refused(before, doc, IllegalTransition, field)
            return
        decision = decide(before, parse_input(doc))
        assert decision.outcome == outcome
        if outcome == "duplicate":
            assert decision == Decision(before, (), "duplicate")
        assert list(decision.released) == released
        assert [e.input_id for e in decision.dropped] == dropped
        assert all(type(e) is IllegalTransition for e in decision.dropped)
        got = api(decision.commands)
        cfos = [c for c in got if isinstance(c, CreateFulfillmentOrder)]
        assert len(cfos) == ref.cfo - self.ref.cfo
        assert [c for c in got if isinstance(c, CreateFulfillment)] == captures
        assert len(got) == len(cfos) + len(captures)
        check_keys(self.keys, decision.commands)
        self.state, self.ref = decision.state, ref

    @rule(
        status=st.sampled_from(STATUS_MIX),
        delta=st.integers(-6, 6),
        tie=st.integers(0, 3),
        via_accepted=st.booleans(),
    )
    def order_event(
        self, status: OrderStatus, delta: int, tie: int, via_accepted: bool
    ) -> None:
        """``order.<status>`` at a time before, at or after the last one."""
        self.clock = max(0, self.clock + delta)
        event_id = self._next_id("evt", tie)
        doc = order_doc(
            event_id, status, self.clock, [self.quantity], via_accepted=via_accepted
        )
        closing = status in _CLOSING or (
            status is OrderStatus.CANCELLED and via_accepted
        )
        self.deliver(doc, OrderEv(event_id, self.clock, status, closing))

    @rule()
    def fulfillment_order_known(self) -> None:
        """``fulfillment_order.pending`` (again, under a new event id, if known)."""
        event_id = self._next_id("evt-fo")
        self.deliver(fo_pending_doc(event_id, [self.quantity]), FoEv(event_id))

    @precondition(lambda self: self.ref.fo_known and self.ref.shipped < self.quantity)
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        """Ship some of the units not shipped yet, under a new shipment id."""
        units = data.draw(st.integers(1, self.quantity - self.ref.shipped), "units")
        event_id = self._next_id("evt-ship")
        sid = f"shp-{self.count:03d}"
        self.deliver(ship_doc(event_id, sid, 0, units), ShipEv(event_id, sid, units))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """An event delivered before, again (DR delivers at least once)."""
        doc, ev = data.draw(st.sampled_from(self.delivered), "earlier")
        self.deliver(doc, ev)

    @invariant()
    def matches_reference(self) -> None:
        """Status, stamp, waiting and counters equal the reference's."""
        ref = self.ref
        assert self.state.status is ref.status
        want = (
            None
            if ref.stamp is None
            else (normalise_time(stamp(ref.stamp[0])), ref.stamp[1])
        )
        assert self.state.status_stamp == want
        assert [w.input_id for w in self.state.waiting] == sorted(ref.waiting)
        assert self.state.fulfillment_order_requested is ref.fo_requested
        assert _shipped_units(self.state) == ref.shipped
        if self.state.lines:
            (line,) = self.state.lines
            assert line.fulfilled == ref.captured <= ref.shipped
            assert line.cancelled == 0
        assert ref.cfo <= 1

    @invariant()
    def can_still_finish(self) -> None:
        """Newer valid events take the reached order to a final state."""
        if self.state.lines:
            done = finish(self.state, self.quantity)
            assert done.status in ORDER.finals


OrderLifecycle.TestCase.settings = settings(
    report_multiple_bugs=False, max_examples=_EXAMPLES * 8, stateful_step_count=40
)
TestOrderLifecycle = OrderLifecycle.TestCase


# --- fulfillment-order line ledger -----------------------------------------------------


@attrs.define
class LineRef:
    """Plain counters of one fulfillment-order line."""

    quantity: int
    shipped: int = 0
    seen_cancelled: int = 0
    accepted: int = 0
    refused: int = 0
    requested: int = 0
    total_backordered: int = 0
    seen_backordered: int = 0

    @property
    def cancelled(self) -> int:
        """Known cancelled: the larger of the snapshots' bucket and accepted units."""
        return max(self.seen_cancelled, self.accepted)

    @property
    def open(self) -> int:
        """Units neither shipped nor cancelled: pending + backordered."""
        return self.quantity - self.shipped - self.cancelled

    @property
    def backordered(self) -> int:
        """DR's backorder figure, capped by the open units."""
        return min(self.open, max(self.total_backordered, self.seen_backordered))

    @property
    def outstanding(self) -> int:
        """Units our requests asked for and DR has neither cancelled nor refused."""
        return max(0, self.requested - self.cancelled - self.refused)


class LineLedgerMachine(RuleBasedStateMachine):
    """One accepted order, one fulfillment order of 1-3 lines, plain counters per line."""

    def __init__(self) -> None:
        super().__init__()
        self.state = OrderState(order_id=ORDER_ID, model=IntegrationModel.DISTRIBUTED)
        self.lines: list[LineRef] = []
        self.shipments: dict[str, tuple[int, int]] = {}
        self.delivered: list[Json] = []
        self.refusals: dict[str, tuple[type[InputRefused], str | None]] = {}
        self.keys: dict[str, Command] = {}
        self.captured: dict[str, int] = {}
        self.cancelled: dict[str, int] = {}
        self.count = 0

    @initialize(quantities=st.lists(st.integers(1, 4), min_size=1, max_size=3))
    def setup(self, quantities: list[int]) -> None:
        """``order.accepted`` (emits the fulfillment order) then ``fulfillment_order.pending``."""
        self.lines = [LineRef(q) for q in quantities]
        first = decide(
            self.state,
            parse_input(order_doc("evt-acc", OrderStatus.ACCEPTED, 10, quantities)),
        )
        assert [type(c) for c in first.commands] == [CreateFulfillmentOrder]
        second = decide(first.state, parse_input(fo_pending_doc("evt-fo", quantities)))
        assert second.commands == ()
        self.record(first.commands + second.commands)
        self.state = second.state

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count:03d}"

    def record(self, commands: tuple[Command, ...]) -> None:
        """Check keys and add up units captured and cancelled per order line."""
        check_keys(self.keys, commands)
        for c in commands:
            if isinstance(c, CreateFulfillment):
                for it in c.items:
                    self.captured[it.item_id] = self.captured.get(it.item_id, 0) + (
                        it.quantity or 0
                    )
                    self.cancelled[it.item_id] = self.cancelled.get(it.item_id, 0) + (
                        it.cancel_quantity or 0
                    )

    def cancel_owed(self, before: list[int]) -> list[Command]:
        """The cancel ``POST /fulfillments`` the reference owes after ``before``."""
        owed = [
            (item_of(k), b, ln.cancelled - b)
            for k, (ln, b) in enumerate(zip(self.lines, before, strict=True))
            if ln.cancelled > b
        ]
        if not owed:
            return []
        span = ",".join(f"{i}:{b}+{d}" for (i, b, d) in owed)
        return [
            CreateFulfillment(
                key=f"fulfillment:cancel:{ORDER_ID}:{span}",
                order_id=ORDER_ID,
                items=tuple(
                    FulfillmentItem(item_id=i, cancel_quantity=d) for (i, _, d) in owed
                ),
            )
        ]

    def accept(
        self, doc: Json, expected: list[Command], outcome: str = "applied"
    ) -> None:
        """``doc`` is applied with exactly the ``expected`` API commands."""
        decision = decide(self.state, parse_input(doc))
        assert decision.outcome == outcome
        assert api(decision.commands) == expected
        if outcome == "duplicate":
            assert decision.state == self.state
        self.record(decision.commands)
        self.state = decision.state

    def attempt(
        self,
        doc: Json,
        legal: bool,
        update: Callable[[], list[Command]],
        error: type[InputRefused] = QuantityExceeded,
        field: str | None = None,
    ) -> None:
        """Apply a legal ``doc`` (``update`` moves the reference) or see it refused."""
        if doc["id"] in self.state.seen:
            event("ledger: duplicate")
            self.accept(doc, [], "duplicate")
            return
        if not legal:
            event(f"ledger: refused {error.__name__}")
            refused(self.state, doc, error, field)
            self.refusals[doc["id"]] = (error, field)
            return
        event("ledger: applied")
        before = [ln.cancelled for ln in self.lines]
        expected = update()
        self.accept(doc, expected + self.cancel_owed(before))

    def _shipment(self, doc: Json, sid: str, k: int, units: int) -> None:
        known = self.shipments.get(sid)
        if known is not None:
            same = known == (k, units)
            self.attempt(
                doc, same, list, ConflictingInput, None if same else "data.object.items"
            )
            return
        line = self.lines[k]

        def update() -> list[Command]:
            line.shipped += units
            self.shipments[sid] = (k, units)
            return [capture(sid, k, units)]

        self.attempt(
            doc, line.shipped + line.cancelled + units <= line.quantity, update
        )

    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        """Ship ``k`` units of a line under a new shipment id (maybe too many)."""
        k = data.draw(st.integers(0, len(self.lines) - 1), "line")
        units = data.draw(st.integers(1, self.lines[k].quantity + 1), "units")
        sid = self._id("shp")
        doc = ship_doc(f"evt-{sid}", sid, k, units)
        self.delivered.append(doc)
        self._shipment(doc, sid, k, units)

    @precondition(lambda self: self.shipments)
    @rule(
        data=st.data(),
        again=st.sampled_from(["same event", "new event id", "other units"]),
    )
    def redeliver_shipment(self, data: st.DataObject, again: str) -> None:
        """An applied shipment again: same event, a new event id, or other units."""
        sid = data.draw(st.sampled_from(sorted(self.shipments)), "shipment")
        k, units = self.shipments[sid]
        event_id = (
            f"evt-{sid}" if again == "same event" else self._id(f"evt-{sid}-again")
        )
        units += again == "other units"
        self._shipment(ship_doc(event_id, sid, k, units), sid, k, units)

    @rule(data=st.data())
    def backorder(self, data: st.DataObject) -> None:
        """``fulfillment_order.backordered`` with a rising or falling total (maybe too high)."""
        k = data.draw(st.integers(0, len(self.lines) - 1), "line")
        line = self.lines[k]
        total = data.draw(st.integers(0, line.quantity + 1), "totalBackordered")
        doc = backordered(
            self._id("evt-bo"), FO, ORDER_ID, [(line_of(k), item_of(k), 1, total)]
        )

        def update() -> list[Command]:
            line.total_backordered = max(line.total_backordered, total)
            return []

        self.attempt(
            doc,
            total <= line.quantity,
            update,
            field="data.object.items[0].totalBackordered",
        )

    @rule(data=st.data())
    def fulfiller_cancels(self, data: st.DataObject) -> None:
        """A cumulative ``fulfillment_order.cancelled`` snapshot (maybe over-cancelling)."""
        rows = []
        legal = True
        for k, line in enumerate(self.lines):
            c = data.draw(st.integers(0, line.quantity), f"cancelled[{k}]")
            s = data.draw(
                st.integers(0, min(line.shipped, line.quantity - c)), f"shipped[{k}]"
            )
            b = data.draw(st.integers(0, line.quantity - c - s), f"backordered[{k}]")
            rows.append((c, s, b))
            legal &= max(line.cancelled, c) + line.shipped <= line.quantity
        lines = [
            fo_line(
                line_of(k),
                item_of(k),
                ln.quantity,
                shipped=s,
                cancelled=c,
                backordered=b,
            )
            for k, (ln, (c, s, b)) in enumerate(zip(self.lines, rows, strict=True))
        ]
        doc = fulfillment_order(
            self._id("evt-fo-cancelled"),
            "fulfillment_order.cancelled",
            FO,
            ORDER_ID,
            lines,
        )

        def update() -> list[Command]:
            for ln, (c, _, b) in zip(self.lines, rows, strict=True):
                ln.seen_cancelled = max(ln.seen_cancelled, c)
                ln.seen_backordered = max(ln.seen_backordered, b)
            return []

        self.delivered.append(doc)
        self.attempt(doc, legal, update)

    @rule(data=st.data())
    def cancellation_accepted(self, data: st.DataObject) -> None:
        """``fulfillment_cancellation.accepted`` of some units (maybe more than possible)."""
        k = data.draw(st.integers(0, len(self.lines) - 1), "line")
        line = self.lines[k]
        asked = data.draw(st.integers(1, line.quantity), "quantity")
        accepted = data.draw(st.none() | st.integers(0, asked + 1), "quantityAccepted")
        units = asked if accepted is None else accepted
        cid = self._id("ret")
        doc = cancellation(
            f"evt-{cid}", "accepted", cid, FO, ORDER_ID, [(line_of(k), asked, accepted)]
        )

        def update() -> list[Command]:
            line.accepted += units
            line.refused += asked - units
            return []

        self.delivered.append(doc)
        if accepted is not None and accepted > asked:
            self.attempt(
                doc, False, update, field="data.object.items[0].quantityAccepted"
            )
            return
        fits = (
            max(line.seen_cancelled, line.accepted + units) + line.shipped
            <= line.quantity
        )
        self.attempt(doc, fits, update)

    @rule(data=st.data())
    def request_cancellation(self, data: st.DataObject) -> None:
        """The merchant asks to cancel ``k`` units of a line (legal or not)."""
        k = data.draw(st.integers(0, len(self.lines) - 1), "line")
        line = self.lines[k]
        units = data.draw(st.integers(1, line.quantity + 1), "units")
        rid = self._id("rq")
        doc = request("request_cancellation", rid, ORDER_ID, [(item_of(k), units)])

        def update() -> list[Command]:
            line.requested += units
            return [
                CreateFulfillmentCancellation(
                    key=f"fulfillment-cancellation:{rid}:{FO}",
                    fulfillment_order_id=FO,
                    order_id=ORDER_ID,
                    items=(
                        CancellationItem(
                            fulfillment_order_item_id=line_of(k),
                            fulfillment_order_item_upstream_id=item_of(k),
                            quantity=units,
                        ),
                    ),
                )
            ]

        legal = units <= max(line.open - line.outstanding, 0)
        event(f"request_cancellation: {'applied' if legal else 'refused'}")
        if not legal:
            refused(self.state, doc, QuantityExceeded, "items[0].quantity")
            return
        self.accept(doc, update())

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """A shipment, snapshot or cancellation delivered before, again, as it was."""
        doc = data.draw(st.sampled_from(self.delivered), "earlier")
        before = self.state
        if doc["id"] in before.seen:
            self.accept(doc, [], "duplicate")
            assert self.state is before
            return
        # Refused before; facts only grow, so it is refused again, the same way.
        refused(before, doc, *self.refusals[doc["id"]])

    @invariant()
    def ledger_matches_reference(self) -> None:
        """Buckets conserve units and equal the counters; DR was told exactly them."""
        (fo,) = self.state.fulfillment_orders
        for k, (fo_ln, ref) in enumerate(zip(fo.lines, self.lines, strict=True)):
            led = line_ledger(self.state, fo, fo_ln)
            buckets = (
                led.pending,
                led.backordered,
                led.shipped,
                led.cancelled,
                led.returned,
            )
            assert all(b >= 0 for b in buckets)
            assert sum(buckets) == ref.quantity == led.quantity
            assert (led.shipped, led.cancelled, led.returned) == (
                ref.shipped,
                ref.cancelled,
                0,
            )
            assert led.backordered == ref.backordered
            assert led.pending + led.backordered == ref.open
            assert outstanding_requested(self.state, fo, fo_ln) == ref.outstanding
            item = item_of(k)
            assert self.captured.get(item, 0) == ref.shipped
            assert self.cancelled.get(item, 0) == ref.cancelled
            order_line = self.state.line(item)
            assert order_line is not None
            assert (order_line.fulfilled, order_line.cancelled) == (
                ref.shipped,
                ref.cancelled,
            )
            assert order_line.fulfilled + order_line.cancelled <= order_line.quantity


LineLedgerMachine.TestCase.settings = settings(
    report_multiple_bugs=False, max_examples=_EXAMPLES * 8, stateful_step_count=30
)
TestLineLedger = LineLedgerMachine.TestCase


# --- fulfillment cancellation ----------------------------------------------------------

#: Each cancellation id always carries the same lines: ``(FO line k, quantity, accepted)``.
CANCELLATIONS: dict[str, tuple[tuple[int, int, int | None], ...]] = {
    "ret_a": ((0, 2, 1),),
    "ret_b": ((1, 1, None),),
    "ret_c": ((0, 1, 1), (1, 2, 0)),
}
_KIND_STATUS = {
    "created": CancellationStatus.PENDING,
    "accepted": CancellationStatus.ACCEPTED,
    "rejected": CancellationStatus.REJECTED,
}
_TERMINAL = {CancellationStatus.ACCEPTED, CancellationStatus.REJECTED}


class CancellationLifecycle(RuleBasedStateMachine):
    """``fulfillment_cancellation.*`` events in any order for a few cancellation ids."""

    def __init__(self) -> None:
        super().__init__()
        quantities = [6, 6]
        first = decide(
            OrderState(order_id=ORDER_ID, model=IntegrationModel.DISTRIBUTED),
            parse_input(order_doc("evt-acc", OrderStatus.ACCEPTED, 10, quantities)),
        )
        self.state = decide(
            first.state, parse_input(fo_pending_doc("evt-fo", quantities))
        ).state
        self.status: dict[str, CancellationStatus] = {}
        self.delivered: list[Json] = []
        self.keys: dict[str, Command] = {}
        self.cancel_reported = [0, 0]
        self.rejections: list[str] = []
        self.count = 0

    def _reference_cancelled(self) -> list[int]:
        out = [0, 0]
        for cid, status in self.status.items():
            if status is CancellationStatus.ACCEPTED:
                for k, q, acc in CANCELLATIONS[cid]:
                    out[k] += q if acc is None else acc
        return out

    def deliver(self, doc: Json) -> None:
        """Apply ``doc``; the reference says applied, stale, duplicate or refused."""
        cid = doc["data"]["object"]["id"]
        new = _KIND_STATUS[doc["type"].removeprefix("fulfillment_cancellation.")]
        old = self.status.get(cid)
        before = self.state
        if doc["id"] in before.seen:
            event("cancellation: duplicate")
            decision = decide(before, parse_input(doc))
            assert decision == Decision(before, (), "duplicate")
            return
        if old in _TERMINAL and new in _TERMINAL and new is not old:
            event("cancellation: contradiction refused")
            refused(before, doc, IllegalTransition, "data.object.state")
            return
        stale = old in _TERMINAL and new is CancellationStatus.PENDING
        event(f"cancellation: {'stale' if stale else 'applied'}")
        was = self._reference_cancelled()
        if not stale:
            self.status[cid] = new
        now = self._reference_cancelled()
        decision = decide(before, parse_input(doc))
        assert decision.outcome == "applied"
        assert decision.state.seen == tuple(sorted({*before.seen, doc["id"]}))
        if stale or old is new:
            assert attrs.evolve(decision.state, seen=before.seen) == before
        owed = [(k, was[k], now[k] - was[k]) for k in range(2) if now[k] > was[k]]
        expected: list[Command] = []
        if owed:
            span = ",".join(f"{item_of(k)}:{b}+{d}" for (k, b, d) in owed)
            expected.append(
                CreateFulfillment(
                    key=f"fulfillment:cancel:{ORDER_ID}:{span}",
                    order_id=ORDER_ID,
                    items=tuple(
                        FulfillmentItem(item_id=item_of(k), cancel_quantity=d)
                        for (k, _, d) in owed
                    ),
                )
            )
        assert api(decision.commands) == expected
        notes = [
            c
            for c in decision.commands
            if isinstance(c, NotifyCustomerOfRejectedCancellation)
        ]
        became_rejected = new is CancellationStatus.REJECTED and old is not new
        assert [n.cancellation_id for n in notes] == ([cid] if became_rejected else [])
        self.rejections += [n.cancellation_id for n in notes]
        check_keys(self.keys, decision.commands)
        for k, _, d in owed:
            self.cancel_reported[k] += d
        self.state = decision.state

    @rule(
        cid=st.sampled_from(sorted(CANCELLATIONS)),
        kind=st.sampled_from(sorted(_KIND_STATUS)),
    )
    def event(self, cid: str, kind: str) -> None:
        """``fulfillment_cancellation.<kind>`` for ``cid`` under a new event id."""
        self.count += 1
        rows = [
            (line_of(k), q, acc if kind == "accepted" else None)
            for k, q, acc in CANCELLATIONS[cid]
        ]
        doc = cancellation(
            f"evt-{cid}-{kind}-{self.count}", kind, cid, FO, ORDER_ID, rows
        )
        self.delivered.append(doc)
        self.deliver(doc)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """An earlier event again, as it was."""
        self.deliver(data.draw(st.sampled_from(self.delivered), "earlier"))

    @invariant()
    def matches_reference(self) -> None:
        """Statuses and cancelled units equal the reference; each rejection told once."""
        got = {c.id: c.status for c in self.state.cancellations}
        assert got == self.status
        (fo,) = self.state.fulfillment_orders
        cancelled = [line_ledger(self.state, fo, ln).cancelled for ln in fo.lines]
        assert cancelled == self._reference_cancelled() == self.cancel_reported
        assert sorted(self.rejections) == sorted(
            cid for cid, s in self.status.items() if s is CancellationStatus.REJECTED
        )


CancellationLifecycle.TestCase.settings = settings(
    report_multiple_bugs=False, max_examples=_EXAMPLES * 4, stateful_step_count=20
)
TestFulfillmentCancellation = CancellationLifecycle.TestCase
