"""How ``order.*`` events change one order: its lines, its details and its status.

The order's lines and the details a fulfillment order needs are learned from the first
order event that carries them (later ones must agree on quantities). The status is the
newest event's (by ``createdTime``, then event id); a newer status must be reachable
in the declared order lifecycle from the current one, and an older one must be able to
precede it, else the event is refused. Closing events wait (:mod:`.waiting`).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import attrs

from drfulfillment.domain.commands import Command
from drfulfillment.domain.errors import ConflictingInput, IllegalTransition
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import OrderObserved
from drfulfillment.domain.lifecycles import ORDER
from drfulfillment.domain.payments import merged_charges
from drfulfillment.domain.state import (
    IntegrationModel,
    OrderDetails,
    OrderLine,
    OrderState,
)
from drfulfillment.domain.waiting import Wait, is_closing

__all__ = ["on_order"]

Effects = tuple[OrderState, tuple[Command, ...]]


_DETAIL_FIELDS = tuple(f.name for f in attrs.fields(OrderDetails))
_details_of = operator.attrgetter(*_DETAIL_FIELDS)
_NO_DETAILS = OrderDetails()


def _merge_details(old: OrderDetails | None, snap: OrderObserved) -> OrderDetails:
    """The details known, with the fields they lack filled from the event."""
    o = snap.order
    shown = (  # in the order of OrderDetails' fields
        o.created_time,
        o.currency,
        o.locale,
        o.checkout_id,
        o.email,
        o.ship_to,
        o.bill_to,
        o.shipping_choice.service_level if o.shipping_choice else None,
    )
    known = old if old is not None else _NO_DETAILS
    changes = {
        name: value
        for name, was, value in zip(
            _DETAIL_FIELDS, _details_of(known), shown, strict=True
        )
        if was is None and value is not None
    }
    return evolve(known, **changes) if changes else known


def _merge_lines(
    state: OrderState, inp: OrderObserved, catalog: Mapping[str, bool]
) -> tuple[OrderLine, ...]:
    items = inp.order.items
    if not state.lines:
        lines = []
        for item in items:
            physical = item.physical
            if physical is None:
                physical = catalog.get(item.sku_id, True) if item.sku_id else True
            lines.append(
                OrderLine(
                    item_id=item.id,
                    sku_id=item.sku_id,
                    quantity=item.quantity,
                    physical=physical,
                    physical_stated=item.physical is not None,
                    amount=item.amount,
                    tax_amount=item.tax_amount,
                )
            )
        return tuple(sorted(lines, key=lambda ln: ln.item_id))
    merged = {ln.item_id: ln for ln in state.lines}
    for i, item in enumerate(items):
        known = merged.get(item.id)
        where = f"data.object.items[{i}]"
        if known is None:
            raise ConflictingInput(
                inp.meta.id,
                f"{where}.id",
                f"order line {item.id} is new to order {state.order_id}",
            )
        if known.quantity != item.quantity:
            raise ConflictingInput(
                inp.meta.id,
                f"{where}.quantity",
                f"order line {item.id} had quantity {known.quantity}, now {item.quantity}",
            )
        if item.physical is None:
            continue
        if known.physical_stated:
            if known.physical != item.physical:
                raise ConflictingInput(
                    inp.meta.id,
                    f"{where}.productDetails.physical",
                    f"order line {item.id} was physical={known.physical}, "
                    f"now {item.physical}",
                )
            continue
        # What DR states beats the catalog's or the default's guess, whenever it comes.
        merged[item.id] = evolve(known, physical=item.physical, physical_stated=True)
    merged_lines = tuple(merged[ln.item_id] for ln in state.lines)
    # Unchanged lines keep their tuple, so comparing states stays an identity check.
    return state.lines if merged_lines == state.lines else merged_lines


def _fully_reported(order_id: str, lines: tuple[OrderLine, ...]) -> str | None:
    """Why the order is not yet fully reported to DR, or ``None`` when it is."""
    for ln in lines:
        if ln.unreported:
            return f"order {order_id} fully reported (line {ln.item_id}: {ln.unreported} of {ln.quantity} units not yet reported)"
    return None


def on_order(
    state: OrderState, inp: OrderObserved, catalog: Mapping[str, bool]
) -> Effects:
    """Merge the order's lines, details and charges; move to its newer status."""
    changes: dict[str, Any] = {}
    lines = _merge_lines(state, inp, catalog)
    if lines is not state.lines:
        changes["lines"] = lines
    details = _merge_details(state.details, inp)
    if details is not state.details:
        changes["details"] = details
    if inp.order.charges:
        changes["charges"] = merged_charges(
            state.charges, inp.order.charges, inp.meta, "data.object.payment.charges"
        )
    new = inp.order.state
    stamp = (inp.meta.created_time, inp.meta.id)
    if new is not None and (state.status_stamp is None or stamp > state.status_stamp):
        closing = is_closing(inp)
        if closing and state.model is not IntegrationModel.ORCHESTRATED:
            why = _fully_reported(state.order_id, lines)
            if why is not None:
                raise Wait(why)
        if state.status is not None:
            ORDER.check(
                state.status,
                new,
                subject=state.order_id,
                input_id=inp.meta.id,
                field="data.object.state",
            )
        changes["status"] = new
        changes["status_stamp"] = stamp
    elif (
        new is not None
        and state.status is not None
        and not ORDER.can_reach(new, state.status)
    ):
        # An older event: its state must be able to precede the current one.
        raise IllegalTransition(
            inp.meta.id,
            "data.object.state",
            f"order {state.order_id} is {state.status.value} since a newer event; "
            f"this older event's {new.value!r} cannot precede it",
        )
    return (evolve(state, **changes) if changes else state), ()
