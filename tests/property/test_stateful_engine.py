"""The whole engine, step by step, against plain counters per (order, line) (issue 3).

One :class:`~drfulfillment.Engine` keeps two orders. Rules deliver every event kind
(order events in any state and time, fulfillment orders, backorders, shipments and
their redeliveries, cumulative cancellation snapshots, fulfillment cancellations with
or without the order id) and every merchant request, including duplicates,
out-of-order deliveries and impossible inputs. The reference keeps, per (order, line),
the units the engine accepted as shipped, cancelled by the fulfiller, requested and
reported by the merchant, and says in advance which inputs must be refused (with the
exact error and field), which must wait, and which must apply.

Invariants after every step, for the distributed, orchestrated and third-party models:
units conserved per fulfillment-order line; captured <= shipped (or reported shipped);
cancelled <= cancelled by the fulfiller (or reported by the merchant); reported
fulfilled + cancelled <= ordered; no idempotency key for two different commands; no
shipment captured twice, no second fulfillment order; orchestrated never emits
``POST /fulfillment-orders`` nor ``POST /fulfillments``; a refused input leaves every
order state ``==`` what it was; and an accepted order with nothing waiting has told DR
exactly what is known.
"""

from __future__ import annotations

import attrs
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
    envelope,
    fo_line,
    fulfillment_order,
    order_event,
    request,
    shipped,
)
from drfulfillment import (
    CancellationStatus,
    Command,
    ConflictingInput,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentOrder,
    Engine,
    IllegalTransition,
    InputRefused,
    IntegrationModel,
    OrderState,
    OrderStatus,
    Outcome,
    QuantityExceeded,
    UnknownReference,
    UnsupportedInModel,
    line_ledger,
)
from drfulfillment.codecs import parse_input
from drfulfillment.domain.inputs import OrderObserved
from drfulfillment.domain.lifecycles import ORDER

#: Scaled with the profile: ``ci`` keeps the whole file well under a minute.
_EXAMPLES = max(10, settings().max_examples // 8)

DISTRIBUTED = IntegrationModel.DISTRIBUTED
ORCHESTRATED = IntegrationModel.ORCHESTRATED
THIRD_PARTY = IntegrationModel.THIRD_PARTY

#: Every DR order state, the main line (accepted, dispute, closing) more often.
STATUS_MIX = [
    *OrderStatus,
    *[OrderStatus.ACCEPTED] * 5,
    OrderStatus.DISPUTE,
    OrderStatus.FULFILLED,
    OrderStatus.COMPLETE,
]
#: How an order starts: unknown until some event arrives, or already known.
FIRST_STATUS = [None, OrderStatus.PENDING_PAYMENT, OrderStatus.ACCEPTED]
CANCELLATION_KINDS = {
    "created": CancellationStatus.PENDING,
    "accepted": CancellationStatus.ACCEPTED,
    "rejected": CancellationStatus.REJECTED,
}
_TERMINAL = {CancellationStatus.ACCEPTED, CancellationStatus.REJECTED}


def stamp(n: int) -> str:
    """Minute ``n`` of November 2021 as DR writes ``createdTime``."""
    return f"2021-11-{1 + n // 1440:02d}T{(n // 60) % 24:02d}:{n % 60:02d}:00Z"


@attrs.define
class LineRef:
    """Plain counters of one order line, as far as the engine accepted the inputs."""

    item: str
    quantity: int
    physical: bool
    fo_line: str
    shipped: int = 0
    seen_cancelled: int = 0
    accepted: int = 0
    requested: int = 0
    reported_shipped: int = 0
    reported_cancelled: int = 0

    @property
    def cancelled(self) -> int:
        """Units the fulfiller cancelled: the larger of snapshot and accepted units."""
        return max(self.seen_cancelled, self.accepted)

    @property
    def open(self) -> int:
        """Units neither shipped nor cancelled by the fulfiller."""
        return self.quantity - self.shipped - self.cancelled

    @property
    def remaining(self) -> int:
        """Units neither fulfilled nor cancelled, by anyone."""
        return self.open - self.reported_shipped - self.reported_cancelled


@attrs.define
class OrderRef:
    """One order: its lines, whether its lines and FO are known, what was accepted."""

    order_id: str
    fo_id: str
    lines: list[LineRef]
    #: ``cid -> ((line index, quantity, quantity accepted), ...)``, fixed per cid.
    payloads: dict[str, tuple[tuple[int, int, int], ...]]
    lines_known: bool = False
    fo_known: bool = False
    shipments: dict[str, tuple[int, int]] = attrs.Factory(dict)
    cancellations: dict[str, CancellationStatus] = attrs.Factory(dict)

    def refused_units(self, k: int) -> int:
        """Units of line ``k`` the fulfiller will not cancel (rejected or not accepted)."""
        out = 0
        for cid, status in self.cancellations.items():
            for line, q, a in self.payloads[cid]:
                if line == k and status is CancellationStatus.REJECTED:
                    out += q
                elif line == k and status is CancellationStatus.ACCEPTED:
                    out += q - a
        return out

    def outstanding(self, k: int) -> int:
        """Units asked for by our requests, neither cancelled nor refused yet."""
        ln = self.lines[k]
        return max(0, ln.requested - ln.cancelled - self.refused_units(k))

    def accepted_units(self) -> list[int]:
        """Units per line of the accepted fulfillment cancellations."""
        out = [0] * len(self.lines)
        for cid, status in self.cancellations.items():
            if status is CancellationStatus.ACCEPTED:
                for k, _, a in self.payloads[cid]:
                    out[k] += a
        return out


#: What the reference expects of one input: ``("ok" | "wait" | "any", None, None)`` or
#: ``("refuse", error, field)``.
Verdict = tuple[str, type[InputRefused] | None, str | None]
OK: Verdict = ("ok", None, None)
WAIT: Verdict = ("wait", None, None)


def catching_up(state: OrderState) -> bool:
    """A closing event waits that is newer than the status and can follow it.

    Closing: ``fulfilled``, ``complete``, or ``cancelled`` after acceptance (DR reaches
    them only once every line was reported). While one waits the engine may report
    what it owes, even though the status it applied would hold it.
    """
    for w in state.waiting:
        inp = w.input
        if not isinstance(inp, OrderObserved) or inp.order.state is None:
            continue
        new = inp.order.state
        closing = new in (
            OrderStatus.FULFILLED,
            OrderStatus.COMPLETE,
            OrderStatus.RETURNED,
        ) or (
            new is OrderStatus.CANCELLED and "accepted" in inp.order.state_transitions
        )
        newer = state.status_stamp is None or (
            (inp.meta.created_time, inp.meta.id) > state.status_stamp
        )
        if (
            closing
            and newer
            and (state.status is None or ORDER.can_reach(state.status, new))
        ):
            return True
    return False


def refuse(error: type[InputRefused], field: str | None = None) -> Verdict:
    """The input must be refused with ``error`` at ``field``."""
    return ("refuse", error, field)


class EngineMachine(RuleBasedStateMachine):
    """Two orders in one engine; every event kind and request, against :class:`OrderRef`."""

    MODEL = DISTRIBUTED

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(self.MODEL)
        self.orders: list[OrderRef] = []
        self.docs: dict[str, Json] = {}
        self.kind: dict[str, str] = {}
        self.owner: dict[str, int] = {}
        self.learned: set[str] = set()
        self.delivered: list[Json] = []
        self.shipments: list[tuple[int, str]] = []
        self.keys: dict[str, Command] = {}
        self.commands: list[Command] = []
        self.clock = [100, 100]
        self.count = 0

    # --- set-up and documents --------------------------------------------------------

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        """Two orders of 1-2 physical lines, maybe a digital one, 1-3 units each."""
        for o in range(2):
            order_id = f"30000{o}0336"
            fo_id = f"fo-{o}"
            physical = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
            digital = data.draw(st.lists(st.integers(1, 2), max_size=1))
            lines = [
                LineRef(f"{order_id}{k}", q, k < len(physical), f"{fo_id}-l{k}")
                for k, q in enumerate([*physical, *digital])
            ]
            payloads: dict[str, tuple[tuple[int, int, int], ...]] = {}
            for name in ("a", "b"):
                k = data.draw(st.integers(0, len(physical) - 1), f"ret-{o}-{name} line")
                q = data.draw(st.integers(1, lines[k].quantity), f"ret-{o}-{name} qty")
                a = data.draw(st.integers(0, q), f"ret-{o}-{name} accepted")
                payloads[f"ret-{o}-{name}"] = ((k, q, a),)
            self.orders.append(OrderRef(order_id, fo_id, lines, payloads))
        for o in range(2):
            first = data.draw(st.sampled_from(FIRST_STATUS), f"order {o} starts")
            if first is not None:
                self.order_event(o, first, 0, 0, via_accepted=False)

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count:03d}"

    def _items(self, ref: OrderRef) -> list[tuple[str, int, bool | None]]:
        return [(ln.item, ln.quantity, ln.physical) for ln in ref.lines]

    def _physical(self, ref: OrderRef) -> list[int]:
        return [k for k, ln in enumerate(ref.lines) if ln.physical]

    # --- the reference: verdicts ------------------------------------------------------

    def verdict(self, doc: Json) -> Verdict:
        """What the reference expects of a new (not duplicate) input."""
        kind = self.kind[doc["id"]]
        ref = self.orders[self.owner[doc["id"]]]
        if kind == "order":
            return ("any", IllegalTransition, None)
        if kind == "request_cancellation":
            return self._request_verdict(ref, doc)
        if kind in ("report_shipment", "report_cancellation"):
            return self._report_verdict(ref, doc)
        if kind in ("fo_pending", "fo_cancelled"):
            obj = doc["data"]["object"]
            for ln, it in zip(ref.lines, obj["items"], strict=False):
                if max(ln.cancelled, it["cancelled"]) + ln.shipped > ln.quantity:
                    return refuse(QuantityExceeded)
            return OK
        if not ref.fo_known:
            return WAIT
        if kind == "backorder":
            item = doc["data"]["object"]["items"][0]
            k = self._line_index(ref, item["id"])
            if item["totalBackordered"] > ref.lines[k].quantity:
                return refuse(QuantityExceeded, "data.object.items[0].totalBackordered")
            return OK
        if kind == "shipment":
            return self._shipment_verdict(ref, doc)
        return self._cancellation_verdict(ref, doc)

    def _line_index(self, ref: OrderRef, fo_line_id: str) -> int:
        return next(k for k, ln in enumerate(ref.lines) if ln.fo_line == fo_line_id)

    def _shipment_verdict(self, ref: OrderRef, doc: Json) -> Verdict:
        obj = doc["data"]["object"]
        (item,) = obj["items"]
        if item["fulfillmentOrderItemId"] not in {ln.fo_line for ln in ref.lines}:
            return refuse(
                UnknownReference, "data.object.items[0].fulfillmentOrderItemId"
            )
        k = self._line_index(ref, item["fulfillmentOrderItemId"])
        known = ref.shipments.get(obj["id"])
        if known is not None:
            same = known == (k, item["quantity"])
            return OK if same else refuse(ConflictingInput, "data.object.items")
        ln = ref.lines[k]
        if ln.shipped + ln.cancelled + item["quantity"] > ln.quantity:
            return refuse(QuantityExceeded)
        return OK

    def _cancellation_verdict(self, ref: OrderRef, doc: Json) -> Verdict:
        cid = doc["data"]["object"]["id"]
        new = CANCELLATION_KINDS[doc["type"].removeprefix("fulfillment_cancellation.")]
        old = ref.cancellations.get(cid)
        if old in _TERMINAL and new in _TERMINAL and new is not old:
            return refuse(IllegalTransition, "data.object.state")
        if new is CancellationStatus.ACCEPTED and old is not new:
            accepted = ref.accepted_units()
            for k, _, a in ref.payloads[cid]:
                ln = ref.lines[k]
                if max(ln.seen_cancelled, accepted[k] + a) + ln.shipped > ln.quantity:
                    return refuse(QuantityExceeded)
        return OK

    def _request_verdict(self, ref: OrderRef, doc: Json) -> Verdict:
        if self.MODEL is THIRD_PARTY:
            return refuse(UnsupportedInModel)
        if not ref.lines_known:
            return refuse(UnknownReference, "orderId")
        (item,) = doc["items"]
        k = next(k for k, ln in enumerate(ref.lines) if ln.item == item["itemId"])
        ln = ref.lines[k]
        if not ln.physical or not ref.fo_known:
            return refuse(UnknownReference, "items[0].itemId")
        if item["quantity"] > max(ln.open - ref.outstanding(k), 0):
            return refuse(QuantityExceeded, "items[0].quantity")
        return OK

    def _report_verdict(self, ref: OrderRef, doc: Json) -> Verdict:
        if self.MODEL is ORCHESTRATED:
            return refuse(UnsupportedInModel)
        if not ref.lines_known:
            return refuse(UnknownReference, "orderId")
        (item,) = doc["items"]
        ln = next(ln for ln in ref.lines if ln.item == item["itemId"])
        if self.MODEL is DISTRIBUTED and ln.physical:
            return refuse(UnsupportedInModel, "items[0].itemId")
        if item["quantity"] > ln.remaining:
            return refuse(QuantityExceeded, "items[0].quantity")
        return OK

    # --- the reference: learning what the engine applied -----------------------------

    def learn(self, input_id: str) -> None:
        """The engine applied ``input_id``: move the counters, once."""
        if input_id in self.learned:
            return
        self.learned.add(input_id)
        doc = self.docs[input_id]
        kind = self.kind[input_id]
        ref = self.orders[self.owner[input_id]]
        if kind == "order":
            ref.lines_known = True
        elif kind in ("fo_pending", "fo_cancelled"):
            ref.fo_known = True
            for ln, it in zip(ref.lines, doc["data"]["object"]["items"], strict=False):
                ln.seen_cancelled = max(ln.seen_cancelled, it["cancelled"])
        elif kind == "shipment":
            obj = doc["data"]["object"]
            (item,) = obj["items"]
            k = self._line_index(ref, item["fulfillmentOrderItemId"])
            if obj["id"] not in ref.shipments:
                ref.shipments[obj["id"]] = (k, item["quantity"])
                ref.lines[k].shipped += item["quantity"]
        elif kind == "cancellation":
            cid = doc["data"]["object"]["id"]
            new = CANCELLATION_KINDS[
                doc["type"].removeprefix("fulfillment_cancellation.")
            ]
            old = ref.cancellations.get(cid)
            if not (old in _TERMINAL and new is CancellationStatus.PENDING):
                ref.cancellations[cid] = new
            accepted = ref.accepted_units()
            for k, ln in enumerate(ref.lines):
                ln.accepted = accepted[k]
        elif kind == "request_cancellation":
            (item,) = doc["items"]
            ln = next(ln for ln in ref.lines if ln.item == item["itemId"])
            ln.requested += item["quantity"]
        elif kind == "report_shipment":
            (item,) = doc["items"]
            ln = next(ln for ln in ref.lines if ln.item == item["itemId"])
            ln.reported_shipped += item["quantity"]
        elif kind == "report_cancellation":
            (item,) = doc["items"]
            ln = next(ln for ln in ref.lines if ln.item == item["itemId"])
            ln.reported_cancelled += item["quantity"]

    # --- one step --------------------------------------------------------------------

    def _waiting_ids(self) -> set[str]:
        return {w.input_id for w in self.engine.waiting()}

    def _seen(self, doc: Json) -> bool:
        state = self.engine.orders.get(self.orders[self.owner[doc["id"]]].order_id)
        seen = state is not None and doc["id"] in state.seen
        return seen or doc["id"] in self._waiting_ids()

    def deliver(self, doc: Json, kind: str, o: int) -> None:
        """Hand ``doc`` to the engine; compare with the reference's verdict."""
        iid = doc["id"]
        self.docs.setdefault(iid, doc)
        self.kind.setdefault(iid, kind)
        self.owner.setdefault(iid, o)
        self.delivered.append(doc)
        duplicate = self._seen(doc)
        verdict, error, field = ("dup", None, None) if duplicate else self.verdict(doc)
        event(f"{kind}: {verdict} {error.__name__ if error else ''}".strip())
        before = dict(self.engine.orders)
        waiting_before = self.engine.waiting()
        refusal: InputRefused | None = None
        try:
            outcome = self.engine.handle(parse_input(doc))
        except InputRefused as exc:
            refusal = exc
        if refusal is not None:
            assert verdict in ("refuse", "any"), (verdict, refusal)
            assert type(refusal) is error, refusal
            if verdict == "refuse":
                assert refusal.field == field, refusal
            assert refusal.input_id == iid
            assert self.engine.orders == before
            assert self.engine.waiting() == waiting_before
            return
        assert verdict != "refuse", (error, field, doc)
        if verdict == "dup":
            assert outcome.outcome == "duplicate"
            assert outcome.commands == ()
            assert self.engine.orders == before
        elif verdict == "ok":
            assert outcome.outcome == "applied"
        elif verdict == "wait":
            assert outcome.outcome == "waiting"
        else:
            assert outcome.outcome in ("applied", "waiting")
        if outcome.outcome == "applied" or kind == "order":
            self.learn(iid)
        for rid in outcome.released:
            self.learn(rid)
        check_keys(self.keys, outcome.commands)
        if any(isinstance(c, CreateFulfillment) for c in outcome.commands):
            assert outcome.order_id is not None
            self._check_capture_allowed(before.get(outcome.order_id), outcome)
        self.commands += outcome.commands
        for dropped in outcome.dropped:
            self._check_dropped(dropped)

    def _check_capture_allowed(self, old: OrderState | None, outcome: Outcome) -> None:
        """``POST /fulfillments`` only while accepted, or catching up with a closing event."""
        assert outcome.order_id is not None
        new = self.engine.orders[outcome.order_id]
        closing_released = any(self.kind[r] == "order" for r in outcome.released)
        assert (
            new.status is OrderStatus.ACCEPTED
            or closing_released
            or (old is not None and catching_up(old))
            or catching_up(new)
        ), (old and old.status, new.status, outcome)

    def _check_dropped(self, exc: InputRefused) -> None:
        """A waiting input dropped on release must be impossible now as well.

        Only *that* it is impossible: what makes it so may have changed since (an
        accepted cancellation dropped for its units is, once the same cancellation
        was rejected, also a contradiction).
        """
        assert exc.input_id is not None
        doc = self.docs[exc.input_id]
        verdict, error, _ = self.verdict(doc)
        assert verdict in ("refuse", "any"), (doc, exc)
        if verdict == "any":
            assert type(exc) is error, (exc, error)

    # --- rules -----------------------------------------------------------------------

    @rule(
        o=st.integers(0, 1),
        status=st.sampled_from(STATUS_MIX),
        delta=st.integers(-5, 8),
        tie=st.integers(0, 3),
        via_accepted=st.booleans(),
    )
    def order_event(
        self, o: int, status: OrderStatus, delta: int, tie: int, via_accepted: bool
    ) -> None:
        """``order.<status>`` at a time before, at or after the order's last one."""
        ref = self.orders[o]
        self.clock[o] = max(0, self.clock[o] + delta)
        transitions = ("accepted", status.value) if via_accepted else (status.value,)
        doc = order_event(
            self._id(f"evt-{tie}"),
            status.value,
            stamp(self.clock[o]),
            order_id=ref.order_id,
            items=self._items(ref),
            transitions=transitions,
            event_type="order.refunded" if status is OrderStatus.RETURNED else None,
        )
        self.deliver(doc, "order", o)

    @precondition(lambda self: self.MODEL is not THIRD_PARTY)
    @rule(o=st.integers(0, 1))
    def fulfillment_order_pending(self, o: int) -> None:
        """``fulfillment_order.pending``: the order's fulfillment order, all units pending."""
        ref = self.orders[o]
        lines = [
            fo_line(ref.lines[k].fo_line, ref.lines[k].item, ref.lines[k].quantity)
            for k in self._physical(ref)
        ]
        doc = fulfillment_order(
            self._id("evt-fo"),
            "fulfillment_order.pending",
            ref.fo_id,
            ref.order_id,
            lines,
        )
        self.deliver(doc, "fo_pending", o)

    @precondition(lambda self: self.MODEL is not THIRD_PARTY)
    @rule(o=st.integers(0, 1), data=st.data())
    def fulfiller_cancels(self, o: int, data: st.DataObject) -> None:
        """A cumulative ``fulfillment_order.cancelled`` snapshot (maybe over-cancelling)."""
        ref = self.orders[o]
        lines = []
        for k in self._physical(ref):
            ln = ref.lines[k]
            c = data.draw(st.integers(0, ln.quantity), f"cancelled[{k}]")
            s = data.draw(
                st.integers(0, min(ln.shipped, ln.quantity - c)), f"shipped[{k}]"
            )
            b = data.draw(st.integers(0, ln.quantity - c - s), f"backordered[{k}]")
            lines.append(
                fo_line(
                    ln.fo_line,
                    ln.item,
                    ln.quantity,
                    shipped=s,
                    cancelled=c,
                    backordered=b,
                )
            )
        doc = fulfillment_order(
            self._id("evt-foc"),
            "fulfillment_order.cancelled",
            ref.fo_id,
            ref.order_id,
            lines,
        )
        self.deliver(doc, "fo_cancelled", o)

    @precondition(lambda self: self.MODEL is not THIRD_PARTY)
    @rule(o=st.integers(0, 1), data=st.data())
    def backorder(self, o: int, data: st.DataObject) -> None:
        """``fulfillment_order.backordered``: a rising or falling total, maybe too high."""
        ref = self.orders[o]
        k = data.draw(st.sampled_from(self._physical(ref)), "line")
        ln = ref.lines[k]
        total = data.draw(st.integers(0, ln.quantity + 1), "totalBackordered")
        doc = backordered(
            self._id("evt-bo"),
            ref.fo_id,
            ref.order_id,
            [(ln.fo_line, ln.item, 1, total)],
        )
        self.deliver(doc, "backorder", o)

    @precondition(lambda self: self.MODEL is not THIRD_PARTY)
    @rule(
        o=st.integers(0, 1),
        data=st.data(),
        variant=st.sampled_from(["fits", "fits", "fits", "too many", "no such line"]),
    )
    def ship(self, o: int, data: st.DataObject, variant: str) -> None:
        """``fulfillment_order.shipped`` of units of a line: fitting, too many, or no line."""
        ref = self.orders[o]
        k = data.draw(st.sampled_from(self._physical(ref)), "line")
        ln = ref.lines[k]
        units = data.draw(st.integers(1, max(1, ln.open)), "units")
        if variant == "too many":
            units = ln.quantity - ln.shipped + 1
        sid = self._id(f"shp-{o}")
        fo_line_id = f"{ref.fo_id}-nope" if variant == "no such line" else ln.fo_line
        doc = shipped(
            f"evt-{sid}",
            sid,
            ref.fo_id,
            ref.order_id,
            [(f"{sid}-i", fo_line_id, ln.item, units)],
        )
        self.shipments.append((o, sid))
        self.deliver(doc, "shipment", o)

    @precondition(lambda self: self.shipments)
    @rule(data=st.data(), other_units=st.booleans())
    def reship(self, data: st.DataObject, other_units: bool) -> None:
        """A shipment again under a new event id, the same units or other ones."""
        o, sid = data.draw(st.sampled_from(self.shipments), "shipment")
        first = self.docs[f"evt-{sid}"]
        obj = first["data"]["object"]
        (item,) = obj["items"]
        units = item["quantity"] + other_units
        doc = shipped(
            self._id(f"evt-{sid}-again"),
            sid,
            obj["fulfillmentOrderId"],
            obj["fulfillmentOrderUpstreamId"],
            [
                (
                    item["id"],
                    item["fulfillmentOrderItemId"],
                    item["fulfillmentOrderItemUpstreamId"],
                    units,
                )
            ],
        )
        self.deliver(doc, "shipment", o)

    @precondition(lambda self: self.MODEL is not THIRD_PARTY)
    @rule(
        o=st.integers(0, 1),
        name=st.sampled_from(["a", "b"]),
        kind=st.sampled_from(sorted(CANCELLATION_KINDS)),
        with_order=st.booleans(),
    )
    def fulfillment_cancellation(
        self, o: int, name: str, kind: str, with_order: bool
    ) -> None:
        """``fulfillment_cancellation.<kind>``, naming the order or only its FO."""
        ref = self.orders[o]
        cid = f"ret-{o}-{name}"
        rows = [
            (ref.lines[k].fo_line, q, a if kind == "accepted" else None)
            for k, q, a in ref.payloads[cid]
        ]
        doc = cancellation(
            self._id(f"evt-{cid}-{kind}"),
            kind,
            cid,
            ref.fo_id,
            ref.order_id if with_order else None,
            rows,
        )
        self.deliver(doc, "cancellation", o)

    @rule(o=st.integers(0, 1), data=st.data())
    def request_cancellation(self, o: int, data: st.DataObject) -> None:
        """The merchant asks to cancel units of any line (legal or not)."""
        ref = self.orders[o]
        ln = ref.lines[data.draw(st.integers(0, len(ref.lines) - 1), "line")]
        units = data.draw(st.integers(1, ln.quantity + 1), "units")
        doc = request(
            "request_cancellation", self._id("rq"), ref.order_id, [(ln.item, units)]
        )
        self.deliver(doc, "request_cancellation", o)

    @rule(
        o=st.integers(0, 1),
        data=st.data(),
        what=st.sampled_from(["shipment", "cancellation"]),
    )
    def report(self, o: int, data: st.DataObject, what: str) -> None:
        """The merchant reports units shipped or cancelled by its own fulfiller."""
        ref = self.orders[o]
        ln = ref.lines[data.draw(st.integers(0, len(ref.lines) - 1), "line")]
        units = data.draw(st.integers(1, ln.quantity + 1), "units")
        doc = request(
            f"report_{what}", self._id("rp"), ref.order_id, [(ln.item, units)]
        )
        self.deliver(doc, f"report_{what}", o)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """An input delivered before, again, exactly as it was."""
        doc = data.draw(st.sampled_from(self.delivered), "earlier")
        self.deliver(doc, self.kind[doc["id"]], self.owner[doc["id"]])

    @rule()
    def unknown_event(self) -> None:
        """An event type the engine does not act on is skipped and changes nothing."""
        before = dict(self.engine.orders)
        doc = envelope(self._id("evt-inv"), "order.invoice.created", {"id": "inv-1"})
        outcome = self.engine.handle(parse_input(doc))
        assert (outcome.outcome, outcome.commands) == ("skipped", ())
        assert self.engine.orders == before

    # --- invariants ------------------------------------------------------------------

    def _sums(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for c in self.commands:
            if isinstance(c, CreateFulfillment):
                for it in c.items:
                    got, cancelled = out.get(it.item_id, (0, 0))
                    out[it.item_id] = (
                        got + (it.quantity or 0),
                        cancelled + (it.cancel_quantity or 0),
                    )
        return out

    @invariant()
    def conserved_and_safe(self) -> None:
        """Conservation, captured <= shipped, cancelled <= cancelled, reported <= ordered."""
        for kept in self.engine.orders.values():
            for fo in kept.fulfillment_orders:
                for fo_ln in fo.lines:
                    led = line_ledger(kept, fo, fo_ln)
                    buckets = (
                        led.pending,
                        led.backordered,
                        led.shipped,
                        led.cancelled,
                        led.returned,
                    )
                    assert all(b >= 0 for b in buckets)
                    assert sum(buckets) == fo_ln.quantity
        sums = self._sums()
        for ref in self.orders:
            state = self.engine.orders.get(ref.order_id)
            for ln in ref.lines:
                captured, cancelled = sums.get(ln.item, (0, 0))
                shipped_truth = ln.reported_shipped + (ln.shipped if ln.physical else 0)
                cancelled_truth = ln.reported_cancelled + (
                    ln.cancelled if ln.physical else 0
                )
                assert captured <= shipped_truth
                assert cancelled <= cancelled_truth
                assert captured + cancelled <= ln.quantity
                if state is not None and state.lines:
                    order_line = state.line(ln.item)
                    assert order_line is not None
                    assert (order_line.fulfilled, order_line.cancelled) == (
                        captured,
                        cancelled,
                    )
            requested = sum(
                it.quantity
                for c in self.commands
                if isinstance(c, CreateFulfillmentCancellation)
                and c.order_id == ref.order_id
                for it in c.items
            )
            assert requested == sum(ln.requested for ln in ref.lines)

    @invariant()
    def nothing_twice(self) -> None:
        """No shipment captured twice, no second fulfillment order per order."""
        shipments = [
            c.shipment_id
            for c in self.commands
            if isinstance(c, CreateFulfillment) and c.shipment_id
        ]
        assert len(shipments) == len(set(shipments))
        creates = [
            c.order_id for c in self.commands if isinstance(c, CreateFulfillmentOrder)
        ]
        assert len(creates) == len(set(creates))
        if self.MODEL is not DISTRIBUTED:
            assert creates == []
        if self.MODEL is ORCHESTRATED:
            assert not any(isinstance(c, CreateFulfillment) for c in self.commands)

    @invariant()
    def quiet_accepted_order_is_reported(self) -> None:
        """An accepted order with nothing waiting has told DR exactly what is known."""
        waiting = {w.input_id for w in self.engine.waiting()}
        sums = self._sums()
        for o, ref in enumerate(self.orders):
            state = self.engine.orders.get(ref.order_id)
            if state is None or state.status is not OrderStatus.ACCEPTED:
                continue
            if any(self.owner[i] == o for i in waiting):
                continue
            for ln in ref.lines:
                if self.MODEL is ORCHESTRATED:
                    want = (0, 0)
                elif ln.physical and self.MODEL is DISTRIBUTED:
                    want = (ln.shipped, ln.cancelled)
                else:
                    want = (ln.reported_shipped, ln.reported_cancelled)
                assert sums.get(ln.item, (0, 0)) == want
                if want != (0, 0):
                    event("accepted, quiet order with units told to DR: checked exact")
            if self.MODEL is DISTRIBUTED:
                assert state.fulfillment_order_requested


def check_keys(seen: dict[str, Command], commands: tuple[Command, ...]) -> None:
    """No idempotency key is ever used by two different commands."""
    for c in commands:
        first = seen.setdefault(c.key, c)
        assert first == c, f"key {c.key} names {first} and {c}"


class OrchestratedEngineMachine(EngineMachine):
    """The same, in the orchestrated model: DR captures and cancels itself."""

    MODEL = ORCHESTRATED


class ThirdPartyEngineMachine(EngineMachine):
    """The same, in the third-party model: the merchant reports; no fulfillment orders."""

    MODEL = THIRD_PARTY


_SETTINGS = settings(
    report_multiple_bugs=False, max_examples=_EXAMPLES * 8, stateful_step_count=40
)
EngineMachine.TestCase.settings = _SETTINGS
OrchestratedEngineMachine.TestCase.settings = _SETTINGS
ThirdPartyEngineMachine.TestCase.settings = _SETTINGS
TestDistributedEngine = EngineMachine.TestCase
TestOrchestratedEngine = OrchestratedEngineMachine.TestCase
TestThirdPartyEngine = ThirdPartyEngineMachine.TestCase


class TestThirdPartyCatchingUp:
    """A replay of the example :class:`ThirdPartyEngineMachine` found (at 1500 examples)."""

    def test_no_capture_on_a_blocked_order(self) -> None:
        """Reports on a blocked order stay held when an impossible ``order.fulfilled`` comes."""
        order_id, item = "300000", "3000000"
        engine = Engine(THIRD_PARTY)
        items: list[tuple[str, int, bool | None]] = [(item, 1, True)]
        docs = [
            order_event(
                "evt-blocked",
                "blocked",
                stamp(100),
                order_id=order_id,
                items=items,
                transitions=("blocked",),
            ),
            request("report_shipment", "rp-1", order_id, [(item, 1)]),
            order_event(
                "evt-fulfilled",
                "fulfilled",
                stamp(101),
                order_id=order_id,
                items=items,
                transitions=("accepted", "fulfilled"),
            ),
        ]
        outcomes = [engine.handle(parse_input(doc)) for doc in docs]
        assert [o.commands for o in outcomes[:2]] == [(), ()]
        assert outcomes[2].commands == ()
        assert engine.orders[order_id].status is OrderStatus.BLOCKED
        assert engine.orders[order_id].lines[0].fulfilled == 0
