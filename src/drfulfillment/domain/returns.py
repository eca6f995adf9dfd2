"""How return events change one order: DR-coordinated and third-party returns.

* ``fulfillment_return.*`` (DR-coordinated, DR reference §4.1): lines name
  fulfillment-order lines; units move from ``shipped`` to ``returned`` when the return
  is ``accepted`` (received at the warehouse). A return that would take back more units
  than are known shipped waits for the shipments (they may simply be late).
* ``return.*`` (third-party, §4.2): lines name order lines; an item's
  ``quantityAccepted`` counts as returned. More than the units known fulfilled waits.

Both follow their declared lifecycle through :meth:`Rulebook.merge`: stale events change
nothing, contradicting ones are refused.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from drfulfillment.domain.commands import Command
from drfulfillment.domain.errors import QuantityExceeded, UnknownReference
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import FulfillmentReturnObserved, ReturnObserved
from drfulfillment.domain.ledger import (
    ever_fulfilled,
    ever_shipped,
    known_returned,
    returned_units,
)
from drfulfillment.domain.lifecycles import (
    FULFILLMENT_RETURN,
    RETURN,
    FulfillmentReturnStatus,
    ReturnStatus,
    Rulebook,
)
from drfulfillment.domain.records import FulfillmentReturn, Return, ReturnLine
from drfulfillment.domain.state import OrderState
from drfulfillment.domain.waiting import Wait

__all__ = ["on_fulfillment_return", "on_return"]

Effects = tuple[OrderState, tuple[Command, ...]]


def _check_lines(
    iid: str,
    lines: tuple[tuple[str, int, int | None], ...],
    known: set[str],
    field: str,
    owner: str,
) -> None:
    for i, (line_id, quantity, accepted) in enumerate(lines):
        where = f"data.object.items[{i}]"
        if line_id not in known:
            raise UnknownReference(
                iid, f"{where}.{field}", f"{owner} has no line {line_id}"
            )
        if accepted is not None and accepted > quantity:
            raise QuantityExceeded(
                iid,
                f"{where}.quantityAccepted",
                f"{accepted} accepted of {quantity} returned",
            )


R = TypeVar("R", FulfillmentReturn, Return)


def _merge(
    book: Rulebook[Any],
    known: R,
    status: enum.Enum,
    lines: tuple[ReturnLine, ...],
    input_id: str,
) -> R | None:
    """``known`` after a report of ``status`` and ``lines``; ``None`` when it is stale.

    Items are accepted one by one and acceptance only grows: whichever report arrives
    last, each line keeps its highest acceptance.
    """
    merged = book.merge(
        known.status,
        status,
        newer=True,
        subject=known.id,
        input_id=input_id,
        field="data.object.state",
    )
    if merged is known.status and status is not known.status:
        return None
    kept = _max_accepted(known.lines, lines) if lines else known.lines
    return evolve(known, status=merged, lines=kept)


def on_fulfillment_return(state: OrderState, inp: FulfillmentReturnObserved) -> Effects:
    """Follow a fulfillment return; accepted units leave ``shipped`` for ``returned``."""
    r = inp.fulfillment_return
    iid = inp.meta.id
    fo = state.fulfillment_order(r.fulfillment_order_id)
    if fo is None:
        raise Wait(f"fulfillment order {r.fulfillment_order_id}")
    rows = tuple(
        (it.fulfillment_order_item_id, it.quantity, it.quantity_accepted)
        for it in r.items
    )
    _check_lines(
        iid,
        rows,
        {ln.id for ln in fo.lines},
        "fulfillmentOrderItemId",
        f"fulfillment order {fo.id}",
    )
    status = r.state or FulfillmentReturnStatus.CREATED
    lines = tuple(ReturnLine(line_id=a, quantity=b, accepted=c) for a, b, c in rows)
    known = next((x for x in state.fulfillment_returns if x.id == r.id), None)
    if known is None:
        record = FulfillmentReturn(
            id=r.id,
            fulfillment_order_id=fo.id,
            status=status,
            lines=lines,
            reason=r.reason,
        )
    else:
        merged = _merge(FULFILLMENT_RETURN, known, status, lines, iid)
        if merged is None:
            return state, ()  # stale
        record = merged
    others = [x for x in state.fulfillment_returns if x.id != r.id]
    new = evolve(
        state,
        fulfillment_returns=tuple(sorted([*others, record], key=lambda x: x.id)),
    )
    for ln in fo.lines:
        back, out = returned_units(new, fo, ln), ever_shipped(new, fo, ln)
        if back > out:
            raise Wait(
                f"shipments of fulfillment order {fo.id} line {ln.id} "
                f"({back} units returned, {out} known shipped)"
            )
    return new, ()


def on_return(state: OrderState, inp: ReturnObserved) -> Effects:
    """Follow a third-party return; accepted units count as returned."""
    r = inp.ret
    iid = inp.meta.id
    if not state.lines:
        raise Wait(f"order {state.order_id}")
    rows = tuple((it.item_id, it.quantity, it.quantity_accepted) for it in r.items)
    _check_lines(
        iid,
        rows,
        {ln.item_id for ln in state.lines},
        "itemId",
        f"order {state.order_id}",
    )
    status = r.state or ReturnStatus.CREATED
    lines = tuple(ReturnLine(line_id=a, quantity=b, accepted=c) for a, b, c in rows)
    known = next((x for x in state.returns if x.id == r.id), None)
    if known is None:
        record = Return(id=r.id, status=status, lines=lines, reason=r.reason)
    else:
        merged = _merge(RETURN, known, status, lines, iid)
        if merged is None:
            return state, ()  # stale
        record = merged
    others = [x for x in state.returns if x.id != r.id]
    new = evolve(state, returns=tuple(sorted([*others, record], key=lambda x: x.id)))
    for ln in state.lines:
        back, out = known_returned(new, ln.item_id), ever_fulfilled(new, ln.item_id)
        if back > out:
            raise Wait(
                f"fulfilment of order line {ln.item_id} ({back} units returned, "
                f"{out} known fulfilled)"
            )
    return new, ()


def _max_accepted(
    old: tuple[ReturnLine, ...], new: tuple[ReturnLine, ...]
) -> tuple[ReturnLine, ...]:
    before = {ln.line_id: ln.accepted for ln in old}
    return tuple(
        evolve(ln, accepted=max(ln.accepted or 0, before.get(ln.line_id) or 0))
        if ln.accepted is not None or before.get(ln.line_id) is not None
        else ln
        for ln in new
    )
