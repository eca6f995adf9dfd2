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
from drfulfillment.domain.sums import Facts, facts_of, held_facts

__all__ = [
    "LineLedger",
    "cancelled_by_item",
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


def _status(ledger: LineLedger) -> LineItemStatus:
    """The line state a ledger's buckets imply."""
    if ledger.quantity > 0 and ledger.cancelled == ledger.quantity:
        return LineItemStatus.CANCELLED
    if ledger.shipped + ledger.returned > 0:
        return LineItemStatus.SHIPPED
    if ledger.backordered > 0:
        return LineItemStatus.BACKORDERED
    return LineItemStatus.PENDING


@attrs.frozen
class LineLedger:
    """The five buckets of one fulfillment-order line."""

    quantity: int
    pending: int
    backordered: int
    shipped: int
    cancelled: int
    returned: int
    #: The line state these buckets imply (see ``lifecycles.line_item``); derived from
    #: the buckets when the ledger is made, as every check reads it.
    status: LineItemStatus = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(_status, takes_self=True),
    )

    @property
    def cancellable(self) -> int:
        """Units that may still be cancelled: pending and backordered only."""
        return self.pending + self.backordered


def ever_shipped(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> int:
    """Units of the FO line that ever shipped (returned ones included)."""
    return max(facts_of(state).shipped.get((fo.id, line.id), 0), line.seen_shipped)


def returned_units(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> int:
    """Units of the FO line back at the warehouse: the most DR showed or accepted."""
    return max(line.seen_returned, facts_of(state).fr_returned.get((fo.id, line.id), 0))


def line_ledger(
    state: OrderState,
    fo: FulfillmentOrder,
    line: FulfillmentOrderLine,
    *,
    input_id: str | None = None,
) -> LineLedger:
    """Derive the buckets of ``line``; refuse facts that overflow its quantity."""
    try:
        facts = held_facts(state)
    except AttributeError:
        facts = facts_of(state)
    key = (fo.id, line.id)
    known = facts.ledgers.get(key)
    if known is not None and known[0] is line:
        return known[1]
    ledger = _derive(facts, fo, line, input_id)
    facts.ledgers[key] = (line, ledger)
    return ledger


def _derive(
    facts: Facts,
    fo: FulfillmentOrder,
    line: FulfillmentOrderLine,
    input_id: str | None,
) -> LineLedger:
    # Each "the larger of" below is written out rather than ``max()``: this runs for
    # every line of every input, and the calls were half its time.
    key = (fo.id, line.id)
    shipped_ever = facts.shipped.get(key, 0)
    if line.seen_shipped > shipped_ever:
        shipped_ever = line.seen_shipped
    cancelled = facts.accepted.get(key, 0)
    if line.seen_cancelled > cancelled:
        cancelled = line.seen_cancelled
    returned = facts.fr_returned.get(key, 0)
    if line.seen_returned > returned:
        returned = line.seen_returned
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
    backordered = line.total_backordered
    if line.seen_backordered > backordered:
        backordered = line.seen_backordered
    if open_units < backordered:
        backordered = open_units
    # quantity, pending, backordered, shipped, cancelled, returned
    return LineLedger(
        line.quantity,
        open_units - backordered,
        backordered,
        shipped_ever - returned,
        cancelled,
        returned,
    )


def _moved(state: OrderState) -> dict[str, tuple[int, int]]:
    """Per order line, over its fulfillment-order lines: ``(ever shipped, returned)``."""
    facts = facts_of(state)
    if facts.moved is not None:
        return facts.moved
    moved: dict[str, tuple[int, int]] = {}
    for fo in state.fulfillment_orders:
        for ln in fo.lines:
            key = (fo.id, ln.id)
            s, r = moved.get(ln.upstream_id, (0, 0))
            moved[ln.upstream_id] = (
                s + max(facts.shipped.get(key, 0), ln.seen_shipped),
                r + max(ln.seen_returned, facts.fr_returned.get(key, 0)),
            )
    facts.moved = moved
    return moved


def cancelled_by_item(state: OrderState) -> dict[str, int]:
    """Per order line: units cancelled over its fulfillment-order lines' ledgers
    (the mapping is shared: do not change it)."""
    facts = facts_of(state)
    if facts.cancelled is not None:
        return facts.cancelled
    cancelled: dict[str, int] = {}
    for fo in state.fulfillment_orders:
        for ln in fo.lines:
            units = line_ledger(state, fo, ln).cancelled
            cancelled[ln.upstream_id] = cancelled.get(ln.upstream_id, 0) + units
    facts.cancelled = cancelled
    return cancelled


def fulfillment_order_status(
    state: OrderState, fo: FulfillmentOrder
) -> FulfillmentOrderStatus:
    """The FO state derived from its lines' buckets."""
    return derive_fulfillment_order_status(
        line_ledger(state, fo, ln).status for ln in fo.lines
    )


def known_cancelled(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` known cancelled by the fulfiller (all FOs)."""
    return cancelled_by_item(state).get(item_id, 0)


def known_fulfilled(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` known shipped: by DR shipments and merchant reports."""
    facts = facts_of(state)
    return facts.item_shipped.get(item_id, 0) + facts.merchant_shipped.get(item_id, 0)


def reported_by_merchant(state: OrderState, item_id: str, kind: ReportKind) -> int:
    """Units of order line ``item_id`` in the merchant's reports of ``kind``."""
    facts = facts_of(state)
    by_item = (
        facts.merchant_shipped
        if kind is ReportKind.SHIPMENT
        else facts.merchant_cancelled
    )
    return by_item.get(item_id, 0)


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
    facts = facts_of(state)
    lines = facts.lines
    # One pass over the fulfillment-order lines: each line's ledger (which refuses an
    # overflowing line), and per order line the units held, moved and cancelled.
    per_item: dict[str, int] = {}
    moved: dict[str, tuple[int, int]] = {}
    cancelled: dict[str, int] = {}
    stranger: tuple[FulfillmentOrder, FulfillmentOrderLine] | None = None
    for fo in state.fulfillment_orders:
        for ln in fo.lines:
            ledger = line_ledger(state, fo, ln, input_id=input_id)
            item = ln.upstream_id
            if stranger is None and item not in lines:
                stranger = (fo, ln)
            per_item[item] = per_item.get(item, 0) + ln.quantity
            ever, back = moved.get(item, (0, 0))
            moved[item] = (
                ever + ledger.shipped + ledger.returned,
                back + ledger.returned,
            )
            cancelled[item] = cancelled.get(item, 0) + ledger.cancelled
    # The same sums as ``_moved`` and ``cancelled_by_item`` take, kept for them.
    if facts.moved is None:
        facts.moved = moved
    if facts.cancelled is None:
        facts.cancelled = cancelled
    if not state.lines:
        return
    if stranger is not None:
        fo, ln = stranger
        raise ConflictingInput(
            input_id,
            None,
            f"fulfillment order {fo.id} line {ln.id} names order line "
            f"{ln.upstream_id}, which order {state.order_id} does not have",
        )
    for item_id, fo_units in per_item.items():
        order_line = lines[item_id]
        if fo_units > order_line.quantity:
            raise ConflictingInput(
                input_id,
                None,
                f"fulfillment orders hold {fo_units} units of order line {item_id}, "
                f"which has {order_line.quantity}",
            )
    for s in state.shipments:
        for sl in s.lines:
            if sl.item_id not in lines:
                raise ConflictingInput(
                    input_id,
                    None,
                    f"shipment {s.id} names order line {sl.item_id}, which order "
                    f"{state.order_id} does not have",
                )
    for order_line in state.lines:
        item = order_line.item_id
        merchant_shipped = facts.merchant_shipped.get(item, 0)
        fulfilled = facts.item_shipped.get(item, 0) + merchant_shipped
        gone = cancelled.get(item, 0) + facts.merchant_cancelled.get(item, 0)
        if fulfilled + gone > order_line.quantity:
            raise QuantityExceeded(
                input_id,
                None,
                f"order line {item}: {fulfilled} fulfilled + {gone} "
                f"cancelled exceed its quantity {order_line.quantity}",
            )
        ever, back = moved.get(item, (0, 0))
        returned = back + facts.item_returned.get(item, 0)
        shipped_ever = ever + merchant_shipped
        if returned > shipped_ever:
            raise LedgerViolation(
                input_id,
                None,
                f"order line {item}: {returned} returned but only "
                f"{shipped_ever} fulfilled",
            )
        if order_line.fulfilled > fulfilled or order_line.cancelled > gone:
            raise LedgerViolation(
                input_id,
                None,
                f"order line {item}: more reported to DR than is known",
            )


def ever_fulfilled(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` that ever shipped: per FO line the most any
    shipment or snapshot showed, plus what the merchant reported shipped."""
    by_fulfiller = _moved(state).get(item_id, (0, 0))[0]
    return by_fulfiller + facts_of(state).merchant_shipped.get(item_id, 0)


def known_returned(state: OrderState, item_id: str) -> int:
    """Units of order line ``item_id`` accepted back, by any kind of return."""
    by_fulfiller = _moved(state).get(item_id, (0, 0))[1]
    return by_fulfiller + facts_of(state).item_returned.get(item_id, 0)


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
