"""The floor: a deliberately minimal hand-written handler for the same mix.

What the least a Python integration can do per event looks like: a dict transition
table for the order, per-line counters on frozen ``attrs`` records changed through
``attrs.evolve``, a set of seen event ids, and a tuple per DR call. It validates
nothing beyond the transition table and the line quantity, keeps no history, waits
for nothing: it is the baseline the engine's cost is measured against, not an
alternative to it.
"""

from __future__ import annotations

from typing import Any

import attrs

from drfulfillment.domain.inputs import (
    BackorderObserved,
    CancellationObserved,
    FulfillmentOrderObserved,
    Input,
    OrderObserved,
    RequestCancellation,
    ShipmentObserved,
)

#: ``(state, event) -> state``: the order lifecycle the mix walks through.
TRANSITIONS = {
    (None, "accepted"): "accepted",
    ("accepted", "accepted"): "accepted",
    ("accepted", "fulfilled"): "fulfilled",
    ("fulfilled", "complete"): "complete",
}


@attrs.frozen
class Line:
    """One order line's counters."""

    quantity: int
    shipped: int = 0
    cancelled: int = 0


@attrs.frozen
class Order:
    """One order: its state, lines, FO line -> order line map, seen ids."""

    status: str | None = None
    lines: dict[str, Line] = attrs.field(factory=dict)
    fo_lines: dict[str, str] = attrs.field(factory=dict)
    seen: frozenset[str] = frozenset()


class Floor:
    """Orders in a dict; ``handle`` returns the calls as tuples."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def handle(self, inp: Input) -> list[tuple[Any, ...]]:
        """Apply one decoded input; the DR calls it causes."""
        match inp:
            case OrderObserved():
                oid, iid = inp.order.id, inp.meta.id
            case FulfillmentOrderObserved():
                oid, iid = inp.fulfillment_order.upstream_id or "", inp.meta.id
            case ShipmentObserved():
                oid, iid = inp.shipment.fulfillment_order_upstream_id or "", inp.meta.id
            case CancellationObserved():
                oid, iid = inp.cancellation.upstream_id or "", inp.meta.id
            case BackorderObserved():
                oid, iid = inp.upstream_id or "", inp.meta.id
            case RequestCancellation():
                oid, iid = inp.order_id, inp.request_id
            case _:
                return []
        order = self.orders.get(oid) or Order()
        if iid in order.seen:
            return []
        calls: list[tuple[Any, ...]] = []
        match inp:
            case OrderObserved():
                state = inp.order.state.value if inp.order.state else ""
                status = TRANSITIONS[(order.status, state)]
                lines = order.lines or {i.id: Line(i.quantity) for i in inp.order.items}
                if order.status is None:
                    calls.append(("POST", "/fulfillment-orders", oid))
                order = attrs.evolve(order, status=status, lines=lines)
            case FulfillmentOrderObserved():
                fo_lines = {
                    ln.id: ln.upstream_id or "" for ln in inp.fulfillment_order.items
                }
                order = attrs.evolve(order, fo_lines={**order.fo_lines, **fo_lines})
            case ShipmentObserved():
                lines = dict(order.lines)
                items = []
                for item in inp.shipment.items:
                    line_id = order.fo_lines[item.fulfillment_order_item_id]
                    line = lines[line_id]
                    if line.shipped + line.cancelled + item.quantity > line.quantity:
                        raise ValueError("over-shipped")
                    lines[line_id] = attrs.evolve(
                        line, shipped=line.shipped + item.quantity
                    )
                    items.append((line_id, item.quantity))
                calls.append(("POST", "/fulfillments", oid, tuple(items)))
                order = attrs.evolve(order, lines=lines)
            case CancellationObserved():
                lines = dict(order.lines)
                items = []
                for ci in inp.cancellation.items:
                    line_id = order.fo_lines[ci.fulfillment_order_item_id]
                    line = lines[line_id]
                    accepted = ci.quantity_accepted or 0
                    lines[line_id] = attrs.evolve(
                        line, cancelled=line.cancelled + accepted
                    )
                    items.append((line_id, accepted))
                calls.append(("POST", "/fulfillments", oid, tuple(items)))
                order = attrs.evolve(order, lines=lines)
            case RequestCancellation():
                calls.append(("POST", "/fulfillment-cancellations", oid))
            case _:
                pass
        self.orders[oid] = attrs.evolve(order, seen=order.seen | {iid})
        return calls
