"""The peers: the same mix handled the usual ways, with a state machine per record.

* :class:`TransitionsPeer`: one ``transitions.Machine`` per record (the order, each
  fulfillment-order line, each cancellation), as its documentation shows.
* :class:`StatemachinePeer`: one ``python-statemachine`` object per record.

Both keep the floor's counters (units shipped and cancelled per line, seen ids) and emit
the same DR calls as tuples; the lifecycles are the ones the mix walks through.
"""

from __future__ import annotations

from typing import Any

from drfulfillment.domain.decide import input_id
from drfulfillment.domain.inputs import (
    BackorderObserved,
    CancellationObserved,
    FulfillmentOrderObserved,
    Input,
    OrderObserved,
    RequestCancellation,
    ShipmentObserved,
)

ORDER_STATES = ["pending", "accepted", "fulfilled", "complete"]
ORDER_TRANSITIONS = [
    {"trigger": "accepted", "source": ["pending", "accepted"], "dest": "accepted"},
    {"trigger": "fulfilled", "source": "accepted", "dest": "fulfilled"},
    {"trigger": "complete", "source": "fulfilled", "dest": "complete"},
]
LINE_STATES = ["pending", "backordered", "shipped", "cancelled"]
LINE_TRANSITIONS = [
    {
        "trigger": "backorder",
        "source": ["pending", "backordered"],
        "dest": "backordered",
    },
    {
        "trigger": "ship",
        "source": ["pending", "backordered", "shipped"],
        "dest": "shipped",
    },
    {"trigger": "cancel", "source": ["pending", "backordered"], "dest": "cancelled"},
]
CANCELLATION_STATES = ["pending", "accepted", "rejected"]
CANCELLATION_TRANSITIONS = [
    {"trigger": "accept", "source": "pending", "dest": "accepted"},
    {"trigger": "reject", "source": "pending", "dest": "rejected"},
]


class Record:
    """A model object a state machine drives, with the floor's counters."""

    state: str

    def __init__(self, quantity: int = 0, upstream: str = "") -> None:
        self.quantity = quantity
        self.upstream = upstream
        self.shipped = 0
        self.cancelled = 0


class _Peer:
    """What both peers share: routing, counters, calls; subclasses make machines."""

    def __init__(self) -> None:
        self.orders: dict[str, Any] = {}
        self.lines: dict[str, Any] = {}
        self.cancellations: dict[str, Any] = {}
        self.seen: set[str] = set()

    def machine(self, kind: str, record: Record) -> Any:
        """A new state machine of ``kind`` driving ``record``."""
        raise NotImplementedError

    def fire(self, machine: Any, trigger: str) -> None:
        """Trigger ``trigger`` on ``machine``."""
        raise NotImplementedError

    def _new(self, kind: str, record: Record) -> tuple[Record, Any]:
        return record, self.machine(kind, record)

    def handle(self, inp: Input) -> list[tuple[Any, ...]]:
        """Apply one decoded input; the DR calls it causes."""
        iid = input_id(inp)
        if iid in self.seen:
            return []
        self.seen.add(iid)
        calls: list[tuple[Any, ...]] = []
        match inp:
            case OrderObserved():
                order = self.orders.get(inp.order.id)
                if order is None:
                    order = self.orders[inp.order.id] = self._new("order", Record())
                    calls.append(("POST", "/fulfillment-orders", inp.order.id))
                self.fire(order[1], inp.order.state.value if inp.order.state else "")
            case FulfillmentOrderObserved():
                for ln in inp.fulfillment_order.items:
                    if ln.id not in self.lines:
                        record = Record(ln.quantity, ln.upstream_id or "")
                        self.lines[ln.id] = self._new("line", record)
            case BackorderObserved():
                for bo in inp.items:
                    self.fire(self.lines[bo.id or ""][1], "backorder")
            case ShipmentObserved():
                items = []
                for item in inp.shipment.items:
                    line, machine = self.lines[item.fulfillment_order_item_id]
                    if line.shipped + line.cancelled + item.quantity > line.quantity:
                        raise ValueError("over-shipped")
                    line.shipped += item.quantity
                    self.fire(machine, "ship")
                    items.append((line.upstream, item.quantity))
                calls.append(("POST", "/fulfillments", tuple(items)))
            case CancellationObserved():
                c = self.cancellations.get(inp.cancellation.id)
                if c is None:
                    c = self._new("cancellation", Record())
                    self.cancellations[inp.cancellation.id] = c
                self.fire(c[1], "accept")
                items = []
                for ci in inp.cancellation.items:
                    line = self.lines[ci.fulfillment_order_item_id][0]
                    line.cancelled += ci.quantity_accepted or 0
                    items.append((line.upstream, ci.quantity_accepted or 0))
                calls.append(("POST", "/fulfillments", tuple(items)))
            case RequestCancellation():
                calls.append(("POST", "/fulfillment-cancellations", inp.order_id))
            case _:
                pass
        return calls


_TABLES: dict[str, tuple[list[str], list[Any]]] = {
    "order": (ORDER_STATES, ORDER_TRANSITIONS),
    "line": (LINE_STATES, LINE_TRANSITIONS),
    "cancellation": (CANCELLATION_STATES, CANCELLATION_TRANSITIONS),
}


class TransitionsPeer(_Peer):
    """A ``transitions.Machine`` per record (the record is its model)."""

    def __init__(self) -> None:
        super().__init__()
        from transitions import Machine

        self._machine = Machine

    def machine(self, kind: str, record: Record) -> Any:
        states, transitions = _TABLES[kind]
        self._machine(
            model=record, states=states, transitions=transitions, initial="pending"
        )
        return record

    def fire(self, machine: Any, trigger: str) -> None:
        machine.trigger(trigger)


def _statemachine_classes() -> dict[str, type[Any]]:
    from statemachine import State, StateMachine

    class OrderMachine(StateMachine):
        pending = State(initial=True)
        accepted = State()
        fulfilled = State()
        complete = State(final=True)
        accept = pending.to(accepted) | accepted.to.itself()  # type: ignore[no-untyped-call]
        fulfil = accepted.to(fulfilled)
        finish = fulfilled.to(complete)

    class LineMachine(StateMachine):
        pending = State(initial=True)
        backordered = State()
        shipped = State()
        cancelled = State()
        closed = State(final=True)
        backorder = pending.to(backordered) | backordered.to.itself()  # type: ignore[no-untyped-call]
        ship = pending.to(shipped) | backordered.to(shipped) | shipped.to.itself()  # type: ignore[no-untyped-call]
        cancel = pending.to(cancelled) | backordered.to(cancelled)
        close = shipped.to(closed) | cancelled.to(closed)

    class CancellationMachine(StateMachine):
        pending = State(initial=True)
        accepted = State(final=True)
        rejected = State(final=True)
        accept = pending.to(accepted)
        reject = pending.to(rejected)

    return {
        "order": OrderMachine,
        "line": LineMachine,
        "cancellation": CancellationMachine,
    }


#: DR's order states as this peer's event names.
_ORDER_EVENTS = {"accepted": "accept", "fulfilled": "fulfil", "complete": "finish"}


class StatemachinePeer(_Peer):
    """A ``python-statemachine`` object per record, the record as its model."""

    def __init__(self) -> None:
        super().__init__()
        self._classes = _statemachine_classes()

    def machine(self, kind: str, record: Record) -> Any:
        return self._classes[kind](record)

    def fire(self, machine: Any, trigger: str) -> None:
        machine.send(_ORDER_EVENTS.get(trigger, trigger))
