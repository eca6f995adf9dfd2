"""How each input changes the known facts of one order (no emission of API calls here).

Each handler takes the current :class:`OrderState` and one input and returns the state
with the input's facts merged, plus any customer notifications the input itself causes.
A handler raises :class:`Wait` when the input depends on something not yet known (it is
then kept, not dropped) and :class:`InputRefused` when the input is impossible.
Merging is commutative and idempotent, which is what makes any delivery order converge.
"""

from __future__ import annotations

from drfulfillment.domain.commands import (
    Command,
    NotifyCustomerOfBackorder,
    NotifyCustomerOfShipment,
)
from drfulfillment.domain.errors import (
    ConflictingInput,
    IllegalTransition,
    LedgerViolation,
    MalformedInput,
    QuantityExceeded,
    UnknownReference,
)
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import (
    BackorderObserved,
    CancellationObserved,
    FulfillmentOrderObserved,
    RequestedUnits,
    ShipmentObserved,
)
from drfulfillment.domain.ledger import line_ledger
from drfulfillment.domain.lifecycles import (
    FULFILLMENT_CANCELLATION,
    CancellationStatus,
)
from drfulfillment.domain.state import (
    Cancellation,
    CancellationLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    OrderState,
    Shipment,
    ShipmentLine,
)
from drfulfillment.domain.waiting import Wait

__all__ = [
    "on_backorder",
    "on_cancellation",
    "on_fulfillment_order",
    "on_shipment",
]

Effects = tuple[OrderState, tuple[Command, ...]]


def on_fulfillment_order(state: OrderState, inp: FulfillmentOrderObserved) -> Effects:
    """Register the fulfillment order or merge a newer snapshot of its buckets."""
    fo = inp.fulfillment_order
    existing = state.fulfillment_order(fo.id)
    lines = {ln.id: ln for ln in existing.lines} if existing else {}
    for i, item in enumerate(fo.items):
        where = f"data.object.items[{i}]"
        buckets = (
            item.pending,
            item.backordered,
            item.shipped,
            item.cancelled,
            item.returned,
        )
        if any(b is not None for b in buckets):
            total = sum(b or 0 for b in buckets)
            if total != item.quantity:
                raise LedgerViolation(
                    inp.meta.id,
                    where,
                    f"buckets (pending {item.pending or 0}, backordered {item.backordered or 0}, "
                    f"shipped {item.shipped or 0}, cancelled {item.cancelled or 0}, returned "
                    f"{item.returned or 0}) add up to {total}, not its quantity {item.quantity}",
                )
        if item.upstream_id is None:
            raise MalformedInput(
                inp.meta.id, f"{where}.upstreamId", "the order line id is missing"
            )
        shown = {
            k: max(v, 0)
            for k, v in (
                ("seen_shipped", (item.shipped or 0) + (item.returned or 0)),
                ("seen_returned", item.returned or 0),
                ("seen_cancelled", item.cancelled or 0),
                ("seen_backordered", item.backordered or 0),
            )
        }
        old = lines.get(item.id)
        if old is None:
            lines[item.id] = FulfillmentOrderLine(
                id=item.id,
                upstream_id=item.upstream_id,
                inventory_item_id=item.inventory_item_id,
                quantity=item.quantity,
                **shown,
            )
            continue
        if old.quantity != item.quantity or old.upstream_id != item.upstream_id:
            raise ConflictingInput(
                inp.meta.id, where, f"line {item.id} changed its quantity or order line"
            )
        # Each bucket keeps the most any snapshot showed; an unchanged line stays itself.
        grown = {k: v for k, v in shown.items() if v > getattr(old, k)}
        if grown:
            lines[item.id] = evolve(old, **grown)
    record = FulfillmentOrder(
        id=fo.id,
        order_id=state.order_id,
        lines=tuple(sorted(lines.values(), key=lambda ln: ln.id)),
    )
    others = [f for f in state.fulfillment_orders if f.id != fo.id]
    return (
        evolve(
            state,
            fulfillment_orders=tuple(sorted([*others, record], key=lambda f: f.id)),
            fulfillment_order_requested=True,
        ),
        (),
    )


def _find_fo(state: OrderState, fo_id: str | None) -> FulfillmentOrder | None:
    if fo_id is not None:
        return state.fulfillment_order(fo_id)
    return state.fulfillment_orders[0] if len(state.fulfillment_orders) == 1 else None


def _replace_fo(state: OrderState, fo: FulfillmentOrder) -> OrderState:
    return evolve(
        state,
        fulfillment_orders=tuple(
            fo if f.id == fo.id else f for f in state.fulfillment_orders
        ),
    )


def on_backorder(state: OrderState, inp: BackorderObserved) -> Effects:
    """Record DR's backorder total per line; notify the customer of each increase once."""
    fo = _find_fo(state, inp.fulfillment_order_id)
    if fo is None:
        raise Wait(
            f"fulfillment order {inp.fulfillment_order_id or 'of order ' + state.order_id}"
        )
    lines = list(fo.lines)
    notes: list[Command] = []
    for i, item in enumerate(inp.items):
        where = f"data.object.items[{i}]"
        idx = next(
            (
                k
                for k, ln in enumerate(lines)
                if (item.id is not None and ln.id == item.id)
                or (
                    item.id is None
                    and item.upstream_id is not None
                    and ln.upstream_id == item.upstream_id
                )
            ),
            None,
        )
        if idx is None:
            raise UnknownReference(
                inp.meta.id,
                f"{where}.id",
                f"fulfillment order {fo.id} has no line {item.id or item.upstream_id}",
            )
        line = lines[idx]
        if item.total_backordered > line.quantity:
            raise QuantityExceeded(
                inp.meta.id,
                f"{where}.totalBackordered",
                f"{item.total_backordered} backordered exceeds line quantity {line.quantity}",
            )
        if item.total_backordered > line.total_backordered:
            # Units that shipped or were cancelled meanwhile are no news to the customer.
            still_open = line_ledger(state, fo, line).cancellable
            news = min(item.total_backordered - line.total_backordered, still_open)
            if news > 0:
                notes.append(
                    NotifyCustomerOfBackorder(
                        key=f"notify:backorder:{fo.id}:{line.id}:{item.total_backordered}",
                        order_id=state.order_id,
                        item_id=line.upstream_id,
                        quantity=news,
                        total_backordered=item.total_backordered,
                        available_time=item.available_time,
                    )
                )
            lines[idx] = evolve(line, total_backordered=item.total_backordered)
    return _replace_fo(state, evolve(fo, lines=tuple(lines))), tuple(notes)


def on_shipment(state: OrderState, inp: ShipmentObserved) -> Effects:
    """Record a shipment once per shipment id; notify the customer of it."""
    s = inp.shipment
    fo = state.fulfillment_order(s.fulfillment_order_id)
    if fo is None:
        raise Wait(f"fulfillment order {s.fulfillment_order_id}")
    by_id = {ln.id: ln for ln in fo.lines}
    lines = []
    for i, item in enumerate(s.items):
        where = f"data.object.items[{i}]"
        fo_line = by_id.get(item.fulfillment_order_item_id)
        if fo_line is None:
            raise UnknownReference(
                inp.meta.id,
                f"{where}.fulfillmentOrderItemId",
                f"fulfillment order {fo.id} has no line {item.fulfillment_order_item_id}",
            )
        upstream = item.fulfillment_order_item_upstream_id
        if upstream is not None and upstream != fo_line.upstream_id:
            raise ConflictingInput(
                inp.meta.id,
                f"{where}.fulfillmentOrderItemUpstreamId",
                f"line {fo_line.id} belongs to order line {fo_line.upstream_id}, not {upstream}",
            )
        if item.quantity:
            lines.append(
                ShipmentLine(
                    id=item.id,
                    fulfillment_order_item_id=fo_line.id,
                    item_id=fo_line.upstream_id,
                    quantity=item.quantity,
                )
            )
    record = Shipment(
        id=s.id,
        fulfillment_order_id=fo.id,
        lines=tuple(sorted(lines, key=lambda ln: ln.id)),
        tracking=s.tracking,
    )
    known = next((x for x in state.shipments if x.id == s.id), None)
    if known is not None:
        if known.lines != record.lines:
            raise ConflictingInput(
                inp.meta.id,
                "data.object.items",
                f"shipment {s.id} was seen with other lines",
            )
        return state, ()
    note = NotifyCustomerOfShipment(
        key=f"notify:shipment:{s.id}",
        order_id=state.order_id,
        shipment_id=s.id,
        items=tuple(RequestedUnits(ln.item_id, ln.quantity) for ln in record.lines),
        tracking=s.tracking,
    )
    shipments = tuple(sorted([*state.shipments, record], key=lambda x: x.id))
    return evolve(state, shipments=shipments), (note,)


def on_cancellation(state: OrderState, inp: CancellationObserved) -> Effects:
    """Follow a fulfillment cancellation through its lifecycle; stale events change nothing."""
    c = inp.cancellation
    fo = state.fulfillment_order(c.fulfillment_order_id)
    if fo is None:
        raise Wait(f"fulfillment order {c.fulfillment_order_id}")
    fo_lines = {ln.id for ln in fo.lines}
    for i, item in enumerate(c.items):
        where = f"data.object.items[{i}]"
        if item.fulfillment_order_item_id not in fo_lines:
            raise UnknownReference(
                inp.meta.id,
                f"{where}.fulfillmentOrderItemId",
                f"fulfillment order {fo.id} has no line {item.fulfillment_order_item_id}",
            )
        if (
            item.quantity_accepted is not None
            and item.quantity_accepted > item.quantity
        ):
            raise QuantityExceeded(
                inp.meta.id,
                f"{where}.quantityAccepted",
                f"{item.quantity_accepted} accepted of {item.quantity} requested",
            )
    status = c.state or CancellationStatus.PENDING
    record = Cancellation(
        id=c.id,
        fulfillment_order_id=fo.id,
        status=status,
        lines=tuple(
            CancellationLine(
                fulfillment_order_item_id=it.fulfillment_order_item_id,
                quantity=it.quantity,
                accepted=it.quantity_accepted,
            )
            for it in c.items
        ),
    )
    known = next((x for x in state.cancellations if x.id == c.id), None)
    if known is not None:
        if (
            FULFILLMENT_CANCELLATION.can_reach(status, known.status)
            and status is not known.status
        ):
            return state, ()
        if not FULFILLMENT_CANCELLATION.can_reach(known.status, status):
            raise IllegalTransition(
                inp.meta.id,
                "data.object.state",
                f"fulfillment cancellation {c.id} is {known.status.value}; it cannot become {status.value}",
            )
        # A later event without lines does not erase what an earlier one said.
        record = evolve(record, lines=record.lines or known.lines)
    others = [x for x in state.cancellations if x.id != c.id]
    return evolve(
        state, cancellations=tuple(sorted([*others, record], key=lambda x: x.id))
    ), ()
