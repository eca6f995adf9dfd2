"""The sums the quantity ledgers read, taken once per order state and kept with it.

:class:`Facts` sums one state's facts in one pass: per fulfillment-order line, the units
in known shipments, accepted by fulfillment cancellations and accepted back by
fulfillment returns; per order line, the units shipped, reported by the merchant and
returned. :func:`facts_of` gives a state's facts, summing them only the first time
(:mod:`.ledger` derives every bucket and invariant from them). :func:`carry` lets a
state reuse another's facts where every sum is the same: ``decide`` carries them to
the state it returns, so the next input for the order reads its old state's ledgers
without summing them again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from drfulfillment.domain.lifecycles import CancellationStatus
from drfulfillment.domain.records import FulfillmentReturn, Return
from drfulfillment.domain.state import (
    Cancellation,
    FulfillmentOrder,
    MerchantReport,
    OrderLine,
    OrderState,
    ReportKind,
    Shipment,
)

if TYPE_CHECKING:
    from drfulfillment.domain.ledger import LineLedger

__all__ = ["Facts", "carry", "facts_of", "held_facts"]


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
        "by",
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
        self.by = _sources(state)
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
        self.shipped = shipped
        self.item_shipped = item_shipped
        self.accepted = accepted
        self.fr_returned = fr_returned
        self.merchant_shipped = merchant_shipped
        self.merchant_cancelled = merchant_cancelled
        self.item_returned = item_returned
        self.lines = _first_lines(state)
        self.ledgers: dict[tuple[str, str], tuple[object, LineLedger]] = {}
        self.moved: dict[str, tuple[int, int]] | None = None
        self.cancelled: dict[str, int] | None = None

    def for_state(self, state: OrderState, *, new_lines: bool, new_fos: bool) -> Facts:
        """These sums for ``state``, whose units are the same (see :func:`carry`):
        the rest shared, its own order lines where they are ``new_lines``, and where
        its fulfillment orders are ``new_fos``, none of what is summed over them."""
        twin = Facts.__new__(Facts)
        twin.accepted = self.accepted
        twin.by = _sources(state)
        twin.fr_returned = self.fr_returned
        twin.item_returned = self.item_returned
        twin.item_shipped = self.item_shipped
        twin.lines = _first_lines(state) if new_lines else self.lines
        twin.merchant_cancelled = self.merchant_cancelled
        twin.merchant_shipped = self.merchant_shipped
        twin.shipped = self.shipped
        if new_fos:
            # A ledger is kept with the very line it was derived from, so those of
            # the lines both states share still hold; a copy, so that neither state
            # evicts the other's.
            twin.ledgers = dict(self.ledgers)
            twin.moved = None
            twin.cancelled = None
        else:
            twin.ledgers = self.ledgers
            twin.moved = self.moved
            twin.cancelled = self.cancelled
        return twin


def _first_lines(state: OrderState) -> dict[str, OrderLine]:
    lines: dict[str, OrderLine] = {}
    for ln in state.lines:
        lines.setdefault(ln.item_id, ln)
    return lines


_facts_slot = OrderState._facts  # type: ignore[attr-defined]
_set_facts = _facts_slot.__set__
#: ``held_facts(state)``: the facts ``state`` holds; ``AttributeError`` if none yet (for
#: the hottest callers, which save the call to :func:`facts_of`).
held_facts: Callable[[OrderState], Facts] = _facts_slot.__get__


def facts_of(state: OrderState) -> Facts:
    """The facts of ``state``, summed the first time they are asked for.

    They are kept with the state (a slot that is not a field: never compared, copied,
    packed or stored). Deciding one input derives the same ledgers many times
    (invariants, lifecycle checks, notifications, what is owed); the next input for the
    order reads them again as the old state's.
    """
    try:
        return held_facts(state)
    except AttributeError:
        facts = Facts(state)
        _set_facts(state, facts)
        return facts


_Sources = tuple[
    tuple[FulfillmentOrder, ...],
    tuple[Cancellation, ...],
    tuple[FulfillmentReturn, ...],
    tuple[Return, ...],
    tuple[OrderLine, ...],
    tuple[Shipment, ...],
    tuple[MerchantReport, ...],
]


def _sources(state: OrderState) -> _Sources:
    """What a state's facts are summed from (see :func:`carry`)."""
    return (
        state.fulfillment_orders,
        state.cancellations,
        state.fulfillment_returns,
        state.returns,
        state.lines,
        state.shipments,
        state.reports,
    )


def carry(source: OrderState, target: OrderState) -> None:
    """Let ``target`` reuse the facts already summed for ``source``, where they hold.

    They hold where ``target`` has the very same cancellations, fulfillment returns and
    returns, and shipments and merchant reports of the very same units (their
    ``reported`` flags may differ): every sum is then the same. Order lines may differ
    in what was reported to DR (reconciling counts it); they are then taken from
    ``target``. Fulfillment orders may differ (a snapshot's buckets, a new one): no sum
    is taken over them, but the per-order-line totals over their lines are, so those
    are left for ``target`` to take, and only the ledgers of the very same lines are
    kept. Anything else, or facts not yet summed for ``source``: ``target`` sums its
    own when asked, as before. Nothing is compared by value, only by identity,
    so this costs a few pointer comparisons.
    """
    try:
        facts = held_facts(source)
    except AttributeError:
        return
    fos, cancellations, fulfillment_returns, returns, lines, shipments, reports = (
        facts.by
    )
    if (
        target.cancellations is not cancellations
        or target.fulfillment_returns is not fulfillment_returns
        or target.returns is not returns
    ):
        return
    new_fos = target.fulfillment_orders is not fos
    same = target.lines is lines and not new_fos
    if target.shipments is not shipments:
        if len(target.shipments) != len(shipments):
            return
        for a, b in zip(target.shipments, shipments, strict=True):
            if (
                a.lines is not b.lines
                or a.fulfillment_order_id != b.fulfillment_order_id
            ):
                return
        same = False
    if target.reports is not reports:
        if len(target.reports) != len(reports):
            return
        for m, n in zip(target.reports, reports, strict=True):
            if m.items is not n.items or m.kind is not n.kind:
                return
        same = False
    if not same:
        facts = facts.for_state(
            target, new_lines=target.lines is not lines, new_fos=new_fos
        )
    _set_facts(target, facts)
