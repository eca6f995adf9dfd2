"""The quantity ledger: buckets per fulfillment-order line, and the order-line invariants.

Invariants (each refused input leaves state untouched; see :func:`check_invariants`):

* per fulfillment-order line: ``pending + backordered + shipped + cancelled + returned
  == quantity``, none negative. Buckets are *derived* from merged facts:

  - ``shipped + returned`` = the larger of the units in known shipments and the most
    any DR snapshot showed as ``shipped + returned``;
  - ``cancelled`` = the larger of the most any snapshot showed and the units accepted
    by known fulfillment cancellations (the two reveal the same units, so the larger
    is the truth so far; adding them would double-count);
  - ``returned`` = the most any snapshot showed;
  - ``backordered`` = DR's ``totalBackordered`` (or a snapshot's bucket), capped by the
    open units. DR sends no restock event, so the pending/backordered split is an
    estimate; their sum, what may still be cancelled, is exact.

* per DR order line: units shipped (or reported shipped) + units cancelled (or
  reported cancelled) <= quantity; units *reported* to DR never exceed what is known.
"""

from __future__ import annotations

import attrs

from drfulfillment.domain.errors import (
    ConflictingInput,
    LedgerViolation,
    QuantityExceeded,
)
from drfulfillment.domain.lifecycles import (
    FulfillmentOrderStatus,
    LineItemStatus,
    derive_fulfillment_order_status,
)
from drfulfillment.domain.state import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    OrderState,
    ReportKind,
)

__all__ = [
    "LineLedger",
    "check_invariants",
    "ever_fulfilled",
    "ever_shipped",
    "fulfillment_order_status",
    "known_cancelled",
    "known_fulfilled",
    "known_returned",
    "line_ledger",
    "outstanding_requested",
    "remaining",
    "reported_by_merchant",
    "returned_units",
]


@attrs.frozen
class LineLedger:
    """The five buckets of one fulfillment-order line."""

    quantity: int
    pending: int
    backordered: int
    shipped: int
    cancelled: int
    returned: int

    @property
    def cancellable(self) -> int:
        """Units that may still be cancelled: pending and backordered only."""
        return self.pending + self.backordered

    @property
    def status(self) -> LineItemStatus:
        """The line state these buckets imply (see ``lifecycles.line_item``)."""
        if self.quantity > 0 and self.cancelled == self.quantity:
            return LineItemStatus.CANCELLED
        if self.shipped + self.returned > 0:
            return LineItemStatus.SHIPPED
        if self.backordered > 0:
            return LineItemStatus.BACKORDERED
        return LineItemStatus.PENDING


def _shipped_units(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> int:
    return sum(
        sl.quantity
        for s in state.shipments
        if s.fulfillment_order_id == fo.id
        for sl in s.lines
        if sl.fulfillment_order_item_id == line.id
    )


def ever_shipped(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> int:
    """Units of the FO line that ever shipped (returned ones included)."""
    return max(_shipped_units(state, fo, line), line.seen_shipped)


def returned_units(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> int:
    """Units of the FO line back at the warehouse: the most DR showed or accepted."""
    accepted = sum(
        r.returned_units(line.id)
        for r in state.fulfillment_returns
        if r.fulfillment_order_id == fo.id
    )
    return max(line.seen_returned, accepted)


#: ``id(state) -> (state, {(fo id, line id): (line, ledger)})``: ledgers already derived
#: for a state. Deciding one input derives the same ledgers many times (invariants,
#: lifecycle checks, notifications, what is owed) from a handful of frozen states; this
#: memo derives each once. Keyed by identity and checked against the state it holds (so
#: an id is never reused while its entry lives); bounded; only successful derivations
#: are kept. It changes no result: ``line_ledger`` is a pure function of its arguments.
_MEMO: dict[
    int, tuple[OrderState, dict[tuple[str, str], tuple[object, LineLedger]]]
] = {}
_MEMO_SIZE = 32


def _memo(state: OrderState) -> dict[tuple[str, str], tuple[object, LineLedger]]:
    hit = _MEMO.get(id(state))
    if hit is not None and hit[0] is state:
        return hit[1]
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    table: dict[tuple[str, str], tuple[object, LineLedger]] = {}
    _MEMO[id(state)] = (state, table)
    return table


def line_ledger(
    state: OrderState,
    fo: FulfillmentOrder,
    line: FulfillmentOrderLine,
    *,
    input_id: str | None = None,
) -> LineLedger:
    """Derive the buckets of ``line``; refuse facts that overflow its quantity."""
    table = _memo(state)
    known = table.get((fo.id, line.id))
    if known is not None and known[0] is line:
        return known[1]
    ledger = _derive(state, fo, line, input_id)
    table[(fo.id, line.id)] = (line, ledger)
    return ledger


def _derive(
    state: OrderState,
    fo: FulfillmentOrder,
    line: FulfillmentOrderLine,
    input_id: str | None,
) -> LineLedger:
    shipped_ever = ever_shipped(state, fo, line)
    accepted = sum(
        c.accepted_units(line.id)
        for c in state.cancellations
        if c.fulfillment_order_id == fo.id
    )
    cancelled = max(line.seen_cancelled, accepted)
    returned = returned_units(state, fo, line)
    open_units = line.quantity - shipped_ever - cancelled
    if open_units < 0:
        raise QuantityExceeded(
            input_id,
            None,
            f"fulfillment order {fo.id} line {line.id}: {shipped_ever} shipped + "
            f"{cancelled} cancelled exceed its quantity {line.quantity}",
        )
    if returned > shipped_ever:
        raise LedgerViolation(
            input_id,
            None,
            f"fulfillment order {fo.id} line {line.id}: {returned} returned but only "
            f"{shipped_ever} shipped",
        )
    backordered = min(open_units, max(line.total_backordered, line.seen_backordered))
    return LineLedger(
        quantity=line.quantity,
        pending=open_units - backordered,
        backordered=backordered,
        shipped=shipped_ever - returned,
        cancelled=cancelled,
        returned=returned,
    )


def fulfillment_order_status(
    state: OrderState, fo: FulfillmentOrder
) -> FulfillmentOrderStatus:
    """The FO state derived from its lines' buckets."""
    return derive_fulfillment_order_status(
        line_ledger(state, fo, ln).status for ln in fo.lines
    )


def known_cancelled(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` known cancelled by the fulfiller (all FOs)."""
    return sum(
        line_ledger(state, fo, ln).cancelled
        for fo in state.fulfillment_orders
        for ln in fo.lines
        if ln.upstream_id == item_id
    )


def known_fulfilled(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` known shipped: by DR shipments and merchant reports."""
    shipped = sum(
        sl.quantity for s in state.shipments for sl in s.lines if sl.item_id == item_id
    )
    return shipped + reported_by_merchant(state, item_id, ReportKind.SHIPMENT)


def reported_by_merchant(state: OrderState, item_id: str, kind: ReportKind) -> int:
    return sum(
        u.quantity
        for r in state.reports
        if r.kind is kind
        for u in r.items
        if u.item_id == item_id
    )


def outstanding_requested(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> int:
    """Units asked to be cancelled by our requests and not yet cancelled or refused.

    Requests and DR's cancellations cannot be matched one to one (DR's cancellation id
    comes back in a response the engine does not see), so this is the safe estimate:
    everything requested, less everything DR cancelled or refused on the line.
    """
    requested = sum(
        q
        for r in state.cancellation_requests
        if r.fulfillment_order_id == fo.id
        for (fo_item, q) in r.units
        if fo_item == line.id
    )
    refused = sum(
        c.refused_units(line.id)
        for c in state.cancellations
        if c.fulfillment_order_id == fo.id
    )
    return max(0, requested - line_ledger(state, fo, line).cancelled - refused)


def check_invariants(state: OrderState, input_id: str | None) -> None:
    """Refuse (raise) if ``state`` breaks any quantity invariant."""
    for fo in state.fulfillment_orders:
        for ln in fo.lines:
            line_ledger(state, fo, ln, input_id=input_id)
    if not state.lines:
        return
    per_item: dict[str, int] = {}
    for fo in state.fulfillment_orders:
        for ln in fo.lines:
            order_line = state.line(ln.upstream_id)
            if order_line is None:
                raise ConflictingInput(
                    input_id,
                    None,
                    f"fulfillment order {fo.id} line {ln.id} names order line "
                    f"{ln.upstream_id}, which order {state.order_id} does not have",
                )
            per_item[ln.upstream_id] = per_item.get(ln.upstream_id, 0) + ln.quantity
    for item_id, fo_units in per_item.items():
        order_line = state.line(item_id)
        assert order_line is not None
        if fo_units > order_line.quantity:
            raise ConflictingInput(
                input_id,
                None,
                f"fulfillment orders hold {fo_units} units of order line {item_id}, "
                f"which has {order_line.quantity}",
            )
    for s in state.shipments:
        for sl in s.lines:
            if state.line(sl.item_id) is None:
                raise ConflictingInput(
                    input_id,
                    None,
                    f"shipment {s.id} names order line {sl.item_id}, which order "
                    f"{state.order_id} does not have",
                )
    for order_line in state.lines:
        fulfilled = known_fulfilled(state, order_line.item_id)
        cancelled = known_cancelled(state, order_line.item_id) + reported_by_merchant(
            state, order_line.item_id, ReportKind.CANCELLATION
        )
        if fulfilled + cancelled > order_line.quantity:
            raise QuantityExceeded(
                input_id,
                None,
                f"order line {order_line.item_id}: {fulfilled} fulfilled + {cancelled} "
                f"cancelled exceed its quantity {order_line.quantity}",
            )
        returned = known_returned(state, order_line.item_id)
        shipped_ever = ever_fulfilled(state, order_line.item_id)
        if returned > shipped_ever:
            raise LedgerViolation(
                input_id,
                None,
                f"order line {order_line.item_id}: {returned} returned but only "
                f"{shipped_ever} fulfilled",
            )
        if order_line.fulfilled > fulfilled or order_line.cancelled > cancelled:
            raise LedgerViolation(
                input_id,
                None,
                f"order line {order_line.item_id}: more reported to DR than is known",
            )


def ever_fulfilled(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` that ever shipped: per FO line the most any
    shipment or snapshot showed, plus what the merchant reported shipped."""
    by_fulfiller = sum(
        ever_shipped(state, fo, ln)
        for fo in state.fulfillment_orders
        for ln in fo.lines
        if ln.upstream_id == item_id
    )
    return by_fulfiller + reported_by_merchant(state, item_id, ReportKind.SHIPMENT)


def known_returned(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` accepted back, by any kind of return."""
    by_fulfiller = sum(
        returned_units(state, fo, ln)
        for fo in state.fulfillment_orders
        for ln in fo.lines
        if ln.upstream_id == item_id
    )
    return by_fulfiller + sum(r.returned_units(item_id) for r in state.returns)


def remaining(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` neither known fulfilled nor known cancelled."""
    line = state.line(item_id)
    if line is None:
        return 0
    return (
        line.quantity
        - known_fulfilled(state, item_id)
        - known_cancelled(state, item_id)
        - reported_by_merchant(state, item_id, ReportKind.CANCELLATION)
    )
