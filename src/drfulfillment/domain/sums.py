"""The sums the quantity ledgers read, taken once per order state and memoised.

:class:`Facts` sums one state's facts in one pass: per fulfillment-order line, the units
in known shipments, accepted by fulfillment cancellations and accepted back by
fulfillment returns; per order line, the units shipped, reported by the merchant and
returned. :func:`facts_of` gives a state's facts, summing them only the first time
(:mod:`.ledger` derives every bucket and invariant from them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drfulfillment.domain.lifecycles import CancellationStatus
from drfulfillment.domain.state import OrderLine, OrderState, ReportKind

if TYPE_CHECKING:
    from drfulfillment.domain.ledger import LineLedger

__all__ = ["Facts", "facts_of"]


class Facts:
    """Sums of one state's facts, keyed for the ledgers: built in one pass per state.

    Per fulfillment-order line ``(fo id, line id)``: units in known shipments, units
    accepted by fulfillment cancellations, units accepted back by fulfillment returns.
    Per order line: units in known shipments, merchant reports by kind, units accepted
    back by third-party returns. ``ledgers`` holds the line ledgers already derived;
    ``moved`` and ``cancelled`` the per-order-line sums over fulfillment-order lines,
    once asked for.
    """

    __slots__ = (
        "accepted",
        "cancelled",
        "fr_returned",
        "item_returned",
        "item_shipped",
        "ledgers",
        "lines",
        "merchant_cancelled",
        "merchant_shipped",
        "moved",
        "shipped",
    )

    def __init__(self, state: OrderState) -> None:
        shipped: dict[tuple[str, str], int] = {}
        item_shipped: dict[str, int] = {}
        for s in state.shipments:
            fo_id = s.fulfillment_order_id
            for sl in s.lines:
                key = (fo_id, sl.fulfillment_order_item_id)
                shipped[key] = shipped.get(key, 0) + sl.quantity
                item_shipped[sl.item_id] = item_shipped.get(sl.item_id, 0) + sl.quantity
        # The units rules are the records' own (accepted_units, returned_units).
        accepted: dict[tuple[str, str], int] = {}
        for c in state.cancellations:
            if c.status is not CancellationStatus.ACCEPTED:
                continue  # accepted_units is 0 for every line of it
            for fo_item in {cl.fulfillment_order_item_id for cl in c.lines}:
                key = (c.fulfillment_order_id, fo_item)
                accepted[key] = accepted.get(key, 0) + c.accepted_units(fo_item)
        fr_returned: dict[tuple[str, str], int] = {}
        for r in state.fulfillment_returns:
            for line_id in {rl.line_id for rl in r.lines}:
                key = (r.fulfillment_order_id, line_id)
                fr_returned[key] = fr_returned.get(key, 0) + r.returned_units(line_id)
        merchant_shipped: dict[str, int] = {}
        merchant_cancelled: dict[str, int] = {}
        for m in state.reports:
            by_item = (
                merchant_shipped
                if m.kind is ReportKind.SHIPMENT
                else merchant_cancelled
            )
            for u in m.items:
                by_item[u.item_id] = by_item.get(u.item_id, 0) + u.quantity
        item_returned: dict[str, int] = {}
        for t in state.returns:
            for item_id in {rl.line_id for rl in t.lines}:
                item_returned[item_id] = item_returned.get(
                    item_id, 0
                ) + t.returned_units(item_id)
        lines: dict[str, OrderLine] = {}
        for ln in state.lines:
            lines.setdefault(ln.item_id, ln)
        self.shipped = shipped
        self.item_shipped = item_shipped
        self.accepted = accepted
        self.fr_returned = fr_returned
        self.merchant_shipped = merchant_shipped
        self.merchant_cancelled = merchant_cancelled
        self.item_returned = item_returned
        self.lines = lines
        self.ledgers: dict[tuple[str, str], tuple[object, LineLedger]] = {}
        self.moved: dict[str, tuple[int, int]] | None = None
        self.cancelled: dict[str, int] | None = None


#: ``id(state) -> (state, facts)``: sums already taken for a state. Deciding one input
#: derives the same ledgers many times (invariants, lifecycle checks, notifications,
#: what is owed) from a handful of frozen states; this memo sums each state's facts
#: once. Keyed by identity and checked against the state it holds (so an id is never
#: reused while its entry lives); bounded; only successful derivations are kept. It
#: changes no result: every function here is a pure function of its arguments.
_MEMO: dict[int, tuple[OrderState, Facts]] = {}
_MEMO_SIZE = 32


def facts_of(state: OrderState) -> Facts:
    """The facts of ``state``, summed the first time they are asked for."""
    hit = _MEMO.get(id(state))
    if hit is not None and hit[0] is state:
        return hit[1]
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    facts = Facts(state)
    _MEMO[id(state)] = (state, facts)
    return facts
