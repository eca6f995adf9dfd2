"""Level-triggered emission: what DR is owed, given what is known and what was reported.

After every input the engine compares the known facts with what it already told DR and
emits the difference, if the order allows it now. Nothing is emitted per *event*; a
duplicate or reordered event therefore cannot emit twice, and units held back (order
not yet ``accepted``, or in ``dispute``) are emitted as soon as the order allows.

* Distributed model, order ``accepted``: one ``POST /fulfillment-orders`` if none was
  emitted or is known and the order has physical lines; one ``POST /fulfillments`` per
  unreported shipment (capture); one ``POST /fulfillments`` with ``cancelQuantity`` for
  each line's cancelled units not yet reported (the delta, never the cumulative figure
  again, whichever event revealed them: DR reference §1 UNCONFIRMED, §2 CONFLICT).
* Third-party model (and digital lines in the distributed one): one ``POST /fulfillments``
  per merchant report.
* Orchestrated model: never ``POST /fulfillment-orders`` nor ``POST /fulfillments``.
"""

from __future__ import annotations

from drfulfillment.domain.commands import (
    Command,
    CreateFulfillment,
    CreateFulfillmentOrder,
    FulfillmentItem,
    FulfillmentOrderItem,
)
from drfulfillment.domain.errors import LedgerViolation, MalformedInput
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import Party
from drfulfillment.domain.ledger import cancelled_by_item, known_cancelled
from drfulfillment.domain.lifecycles import POST_FULFILLMENTS_ALLOWED
from drfulfillment.domain.return_requests import owed_returns
from drfulfillment.domain.state import (
    IntegrationModel,
    OrderLine,
    OrderState,
    ReportKind,
    Shipment,
)
from drfulfillment.domain.waiting import catching_up

__all__ = ["reconcile"]

Effects = tuple[OrderState, tuple[Command, ...]]


def _pick(field: str, *parties: Party | None) -> str | None:
    for p in parties:
        value = getattr(p, field) if p is not None else None
        if value:
            return str(value)
    return None


def _create_fulfillment_order(state: OrderState, input_id: str | None) -> Effects:
    d = state.details
    if (
        state.fulfillment_order_requested
        or state.model is not IntegrationModel.DISTRIBUTED
        or state.status not in POST_FULFILLMENTS_ALLOWED
        or d is None
    ):
        return state, ()
    physical = [ln for ln in state.lines if ln.physical and ln.quantity > 0]
    if not physical:
        return state, ()
    missing = [
        name
        for name, value in (
            ("currency", d.currency),
            ("createdTime", d.created_time),
            ("shipTo", d.ship_to),
            (
                "shipTo.address.country",
                d.ship_to.address.country if d.ship_to and d.ship_to.address else None,
            ),
            ("shippingChoice.serviceLevel", d.service_level),
        )
        if value is None
    ] + [f"items[{ln.item_id}].skuId" for ln in physical if ln.sku_id is None]
    if missing:
        raise MalformedInput(
            input_id,
            f"data.object.{missing[0]}",
            "a fulfillment order cannot be created without " + ", ".join(missing),
        )
    assert d.currency is not None
    assert d.created_time is not None
    assert d.ship_to is not None
    assert d.service_level is not None
    command = CreateFulfillmentOrder(
        key=f"fulfillment-order:{state.order_id}",
        order_id=state.order_id,
        currency=d.currency,
        upstream_order_time=d.created_time,
        ship_to=d.ship_to,
        shipping_choice_id=d.service_level,
        items=tuple(
            FulfillmentOrderItem(
                upstream_id=ln.item_id,
                inventory_item_id=ln.sku_id or "",
                quantity=ln.quantity,
                total=ln.amount,
                tax_amount=ln.tax_amount,
            )
            for ln in physical
        ),
        locale=d.locale,
        reservation_id=d.checkout_id,
        name=_pick("name", d.ship_to, d.bill_to),
        email=_pick("email", d.ship_to, d.bill_to) or d.email,
        phone=_pick("phone", d.ship_to, d.bill_to),
    )
    return evolve(state, fulfillment_order_requested=True), (command,)


def _add(
    lines: dict[str, OrderLine],
    item_id: str,
    input_id: str | None,
    *,
    fulfilled: int = 0,
    cancelled: int = 0,
) -> None:
    """Count units as reported to DR; never more than the line has unreported."""
    line = lines[item_id]
    if fulfilled + cancelled > line.unreported:
        raise LedgerViolation(
            input_id,
            None,
            f"order line {item_id}: reporting more than its unreported units",
        )
    lines[item_id] = evolve(
        line, fulfilled=line.fulfilled + fulfilled, cancelled=line.cancelled + cancelled
    )


def _unrecorded(state: OrderState, s: Shipment) -> tuple[FulfillmentItem, ...]:
    """The shipment's units DR holds no fulfillment for yet.

    DR may already hold a fulfillment for this shipment (sent before the state was
    lost, or by another system): capturing those units again would charge twice, so
    only the units it does not show are captured. The reconciliation report shows
    DR's record.
    """
    recorded: dict[str, int] = {}
    for f in state.fulfillments:
        if f.shipment_id == s.id:
            for ln in f.lines:
                recorded[ln.item_id] = recorded.get(ln.item_id, 0) + ln.quantity
    items = []
    for sl in s.lines:
        known = min(sl.quantity, recorded.get(sl.item_id, 0))
        recorded[sl.item_id] = recorded.get(sl.item_id, 0) - known
        if sl.quantity > known:
            items.append(
                FulfillmentItem(
                    item_id=sl.item_id,
                    quantity=sl.quantity - known,
                    shipment_item_id=sl.id,
                )
            )
    return tuple(items)


def _owes_reports(state: OrderState) -> bool:
    """Whether :func:`_report` would find anything to report (a quick look first)."""
    if any(not r.reported for r in state.reports):
        return True
    if state.model is not IntegrationModel.DISTRIBUTED:
        return False
    if any(not s.reported and s.lines for s in state.shipments):
        return True
    cancelled = cancelled_by_item(state)
    return any(cancelled.get(ln.item_id, 0) > ln.cancelled for ln in state.lines)


def _report(state: OrderState, input_id: str | None) -> Effects:
    if not _owes_reports(state):
        return state, ()
    lines = {ln.item_id: ln for ln in state.lines}
    commands: list[Command] = []
    shipments = list(state.shipments)
    if state.model is IntegrationModel.DISTRIBUTED:
        for k, s in enumerate(shipments):
            if s.reported or not s.lines:
                continue
            for sl in s.lines:
                _add(lines, sl.item_id, input_id, fulfilled=sl.quantity)
            shipments[k] = evolve(s, reported=True)
            items = _unrecorded(state, s)
            if not items:
                continue
            commands.append(
                CreateFulfillment(
                    key=f"fulfillment:shipment:{s.id}",
                    order_id=state.order_id,
                    shipment_id=s.id,
                    items=items,
                    tracking=s.tracking,
                )
            )
        owed = []
        for item_id in sorted(
            {ln.upstream_id for fo in state.fulfillment_orders for ln in fo.lines}
        ):
            before = lines[item_id].cancelled
            delta = known_cancelled(state, item_id) - before
            if delta > 0:
                _add(lines, item_id, input_id, cancelled=delta)
                owed.append((item_id, before, delta))
        if owed:
            span = ",".join(f"{i}:{b}+{d}" for (i, b, d) in owed)
            commands.append(
                CreateFulfillment(
                    key=f"fulfillment:cancel:{state.order_id}:{span}",
                    order_id=state.order_id,
                    items=tuple(
                        FulfillmentItem(item_id=i, cancel_quantity=d)
                        for (i, _, d) in owed
                    ),
                )
            )
    reports = list(state.reports)
    for k, r in enumerate(reports):
        if r.reported:
            continue
        shipped = r.kind is ReportKind.SHIPMENT
        for u in r.items:
            _add(
                lines,
                u.item_id,
                input_id,
                fulfilled=u.quantity if shipped else 0,
                cancelled=0 if shipped else u.quantity,
            )
        commands.append(
            CreateFulfillment(
                key=f"fulfillment:request:{r.request_id}",
                order_id=state.order_id,
                items=tuple(
                    FulfillmentItem(item_id=u.item_id, quantity=u.quantity)
                    if shipped
                    else FulfillmentItem(item_id=u.item_id, cancel_quantity=u.quantity)
                    for u in r.items
                ),
                tracking=r.tracking,
            )
        )
        reports[k] = evolve(r, reported=True)
    if not commands and shipments == list(state.shipments):
        return state, ()
    new = evolve(
        state,
        lines=tuple(lines[ln.item_id] for ln in state.lines),
        shipments=tuple(shipments),
        reports=tuple(reports),
    )
    return new, tuple(commands)


def reconcile(state: OrderState, input_id: str | None) -> Effects:
    """Emit every API command the order is owed and allowed now; record them as reported."""
    state, created = _create_fulfillment_order(state, input_id)
    allowed = state.status in POST_FULFILLMENTS_ALLOWED or catching_up(state)
    reported: tuple[Command, ...] = ()
    if state.model is not IntegrationModel.ORCHESTRATED and allowed:
        state, reported = _report(state, input_id)
    state, returned = owed_returns(state)
    return state, created + reported + returned
