"""``decide(state, input) -> Decision``: the one pure entry point for one order.

Theory of operation:

1. An input already applied (same event or request id) or already waiting changes
   nothing: DR delivers at least once.
2. The input's facts are merged (:mod:`.handlers`, :mod:`.requests`). If it depends on
   something not yet known it is kept in ``state.waiting`` with the reason.
3. The whole new state is checked (:func:`.ledger.check_invariants`), and every derived
   line and fulfillment-order state change is checked against the declared lifecycle.
   Any failure refuses the input: the caller keeps the old state, which is unchanged.
4. Customer notifications follow from what changed; API commands follow from what DR is
   owed (:mod:`.reconcile`).
5. Waiting inputs whose dependency is now met are applied in the same way, in id order,
   until none is.

No I/O, no clock, no randomness: ``decide`` is a function of its arguments.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

import attrs

from drfulfillment.domain.commands import (
    Command,
    NotifyCustomerOfCancellation,
    NotifyCustomerOfRejectedCancellation,
)
from drfulfillment.domain.errors import ConflictingInput, InputRefused
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.handlers import (
    on_backorder,
    on_cancellation,
    on_fulfillment_order,
    on_shipment,
)
from drfulfillment.domain.inputs import (
    AcceptReturn,
    BackorderObserved,
    CancellationObserved,
    ChargeObserved,
    FulfillmentObserved,
    FulfillmentOrderObserved,
    FulfillmentReturnObserved,
    Input,
    OrderObserved,
    RefundObserved,
    ReportCancellation,
    ReportShipment,
    RequestCancellation,
    RequestReturn,
    ReturnObserved,
    ShipmentObserved,
    UnknownEvent,
)
from drfulfillment.domain.ledger import (
    check_invariants,
    line_ledger,
)
from drfulfillment.domain.lifecycles import (
    FULFILLMENT_ORDER,
    LINE_ITEM,
    CancellationStatus,
    derive_fulfillment_order_status,
)
from drfulfillment.domain.money import check_money
from drfulfillment.domain.order_facts import on_order
from drfulfillment.domain.payments import (
    capture_failures,
    on_charge,
    on_fulfillment_created,
    on_refund,
)
from drfulfillment.domain.reconcile import reconcile
from drfulfillment.domain.requests import on_report, on_request_cancellation
from drfulfillment.domain.return_requests import on_accept_return, on_request_return
from drfulfillment.domain.returns import on_fulfillment_return, on_return
from drfulfillment.domain.state import OrderState, Waiting
from drfulfillment.domain.sums import carry
from drfulfillment.domain.waiting import Wait

__all__ = [
    "Decision",
    "decide",
    "decide_routed",
    "input_id",
    "is_skipped",
    "named_order",
]


@attrs.frozen
class Decision:
    """The outcome of one input: the new state and the commands to carry out, in order.

    ``outcome`` is ``"applied"``, ``"duplicate"``, ``"waiting"``, ``"skipped"`` (an
    event type the engine does not act on) or ``"refused"`` (it waited, then proved
    impossible at once; see ``dropped``). ``released`` lists waiting inputs applied
    along with this one; ``dropped`` the waiting inputs that proved impossible once their
    dependency arrived (they are kept out of the state, and reported here).
    """

    state: OrderState
    commands: tuple[Command, ...] = ()
    outcome: str = "applied"
    released: tuple[str, ...] = ()
    dropped: tuple[InputRefused, ...] = ()


def input_id(inp: Input) -> str:
    """The id an input is deduplicated by: DR's event id or the merchant's request id."""
    if isinstance(inp, _REQUESTS):
        return inp.request_id
    return inp.meta.id


_REQUESTS = (
    RequestCancellation,
    ReportShipment,
    ReportCancellation,
    RequestReturn,
    AcceptReturn,
)


def is_skipped(inp: Input) -> bool:
    """An input no order acts on: an unknown event type, or a fulfillment that names
    no order (it cannot be reconciled with one)."""
    return isinstance(inp, UnknownEvent) or (
        isinstance(inp, FulfillmentObserved) and inp.fulfillment.order_id is None
    )


def named_order(inp: Input) -> tuple[str, str] | None:
    """``(order id, field)`` the input names itself, if it names one."""
    match inp:
        case OrderObserved():
            return inp.order.id, "data.object.id"
        case FulfillmentOrderObserved():
            named = inp.fulfillment_order.upstream_id
            return (named, "data.object.upstreamId") if named else None
        case BackorderObserved():
            return (
                (inp.upstream_id, "data.object.upstreamId") if inp.upstream_id else None
            )
        case ShipmentObserved():
            named = inp.shipment.fulfillment_order_upstream_id
            return (named, "data.object.fulfillmentOrderUpstreamId") if named else None
        case CancellationObserved():
            named = inp.cancellation.upstream_id
            return (named, "data.object.upstreamId") if named else None
        case (
            RequestCancellation()
            | ReportShipment()
            | ReportCancellation()
            | RequestReturn()
            | AcceptReturn()
        ):
            return inp.order_id, "orderId"
        case FulfillmentObserved():
            named = inp.fulfillment.order_id
            return (named, "data.object.orderId") if named else None
        case ChargeObserved():
            named = inp.charge.order_id
            return (named, "data.object.orderId") if named else None
        case RefundObserved():
            named = inp.refund.order_id
            return (named, "data.object.orderId") if named else None
        case ReturnObserved():
            return inp.ret.order_id, "data.object.orderId"
        case FulfillmentReturnObserved():
            named = inp.fulfillment_return.upstream_id
            return (named, "data.object.upstreamId") if named else None
        case UnknownEvent():
            return None


def _merge(
    state: OrderState, inp: Input, catalog: Mapping[str, bool]
) -> tuple[OrderState, tuple[Command, ...]]:
    match inp:
        case OrderObserved():
            return on_order(state, inp, catalog)
        case FulfillmentOrderObserved():
            return on_fulfillment_order(state, inp)
        case BackorderObserved():
            return on_backorder(state, inp)
        case ShipmentObserved():
            return on_shipment(state, inp)
        case CancellationObserved():
            return on_cancellation(state, inp)
        case RequestCancellation():
            return on_request_cancellation(state, inp)
        case ReportShipment() | ReportCancellation():
            return on_report(state, inp)
        case FulfillmentReturnObserved():
            return on_fulfillment_return(state, inp)
        case ReturnObserved():
            return on_return(state, inp)
        case RequestReturn():
            return on_request_return(state, inp)
        case AcceptReturn():
            return on_accept_return(state, inp)
        case ChargeObserved():
            return on_charge(state, inp)
        case RefundObserved():
            return on_refund(state, inp)
        case FulfillmentObserved():
            return on_fulfillment_created(state, inp)
        case UnknownEvent():  # pragma: no cover - filtered by decide
            return state, ()


def _same_units(old: OrderState, new: OrderState) -> bool:
    """Whether every fact the quantity ledgers derive from is unchanged."""
    return (
        old.lines == new.lines
        and old.fulfillment_orders == new.fulfillment_orders
        and old.shipments == new.shipments
        and old.cancellations == new.cancellations
        and old.reports == new.reports
        and old.fulfillment_returns == new.fulfillment_returns
        and old.returns == new.returns
    )


def _check_and_notify(
    old: OrderState, new: OrderState, iid: str
) -> tuple[Command, ...]:
    """Check derived state changes against the lifecycles; notify what changed."""
    if new.charges is not old.charges:
        check_money(new, iid)
    if _same_units(old, new):
        # Nothing the ledgers derive from changed: the old state passed these checks.
        return capture_failures(old, new)
    check_invariants(new, iid)
    before_fos = {fo.id: fo for fo in old.fulfillment_orders}
    cancelled: list[tuple[tuple[str, str], str, int, int]] = []
    for fo in new.fulfillment_orders:
        now = [line_ledger(new, fo, ln) for ln in fo.lines]
        before = before_fos.get(fo.id)
        then = (
            {ln.id: line_ledger(old, before, ln) for ln in before.lines}
            if before is not None
            else {}
        )
        if before is not None:
            fo_was = derive_fulfillment_order_status(b.status for b in then.values())
            fo_now = derive_fulfillment_order_status(b.status for b in now)
            if fo_was is not fo_now:  # staying put is always allowed
                FULFILLMENT_ORDER.check(fo_was, fo_now, subject=fo.id, input_id=iid)
        for ln, ledger in zip(fo.lines, now, strict=True):
            was = then.get(ln.id)
            earlier = 0
            if was is not None:
                earlier = was.cancelled
                line_was, line_now = was.status, ledger.status
                if line_was is not line_now:
                    LINE_ITEM.check(
                        line_was, line_now, subject=f"{fo.id}/{ln.id}", input_id=iid
                    )
            if ledger.cancelled > earlier:
                key = (fo.id, ln.id)
                cancelled.append((key, ln.upstream_id, earlier, ledger.cancelled))
    notes: list[Command] = [
        NotifyCustomerOfCancellation(
            key=f"notify:cancellation:{fo_id}:{line_id}:{now_units}",
            order_id=new.order_id,
            item_id=item_id,
            quantity=now_units - then_units,
        )
        for ((fo_id, line_id), item_id, then_units, now_units) in sorted(cancelled)
    ]
    rejected_before = {
        c.id for c in old.cancellations if c.status is CancellationStatus.REJECTED
    }
    for c in new.cancellations:
        if c.status is CancellationStatus.REJECTED and c.id not in rejected_before:
            notes.append(
                NotifyCustomerOfRejectedCancellation(
                    key=f"notify:cancellation-rejected:{c.id}",
                    order_id=new.order_id,
                    cancellation_id=c.id,
                )
            )
    return tuple(notes) + capture_failures(old, new)


def _with_seen(seen: tuple[str, ...], iid: str) -> tuple[str, ...]:
    """``seen`` with ``iid`` added, kept sorted."""
    at = bisect.bisect_left(seen, iid)
    if at < len(seen) and seen[at] == iid:
        return seen
    return (*seen[:at], iid, *seen[at:])


def _apply(
    state: OrderState, inp: Input, catalog: Mapping[str, bool]
) -> tuple[OrderState, tuple[Command, ...]]:
    """Apply one input; raises ``Wait`` or ``InputRefused``."""
    iid = input_id(inp)
    merged, own = _merge(state, inp, catalog)
    carry(state, merged)
    notes = _check_and_notify(state, merged, iid)
    final, api = reconcile(merged, iid)
    new = evolve(final, seen=_with_seen(final.seen, iid))
    carry(merged, new)  # the next input for the order reads them as its old state's
    return new, own + notes + api


def decide(
    state: OrderState, inp: Input, *, catalog: Mapping[str, bool] | None = None
) -> Decision:
    """Apply ``inp`` to one order's ``state``; raise :class:`InputRefused` if impossible.

    ``catalog`` maps SKU ids to "is physical" for orders whose events do not say
    (``productDetails.physical``); with neither, an item counts as physical.
    """
    if is_skipped(inp):
        return Decision(state, outcome="skipped")
    iid = input_id(inp)
    if _is_duplicate(state, iid):
        return Decision(state, outcome="duplicate")
    named = named_order(inp)
    if named is not None and named[0] != state.order_id:
        raise ConflictingInput(
            iid, named[1], f"belongs to order {named[0]}, not to order {state.order_id}"
        )
    return _decide_new(state, inp, iid, catalog or {})


def decide_routed(
    state: OrderState, inp: Input, catalog: Mapping[str, bool]
) -> Decision:
    """:func:`decide` for an input already known to act on ``state``'s order: not
    skipped (:func:`is_skipped`), and naming no other order (:func:`named_order`).
    The :class:`~drfulfillment.domain.engine.Engine` routes each input so, and calls
    this to spare the same look twice."""
    iid = input_id(inp)
    if _is_duplicate(state, iid):
        return Decision(state, outcome="duplicate")
    return _decide_new(state, inp, iid, catalog)


def _is_duplicate(state: OrderState, iid: str) -> bool:
    """Whether the input ``iid`` was applied to ``state`` or waits in it."""
    return iid in state.seen or bool(
        state.waiting and any(w.input_id == iid for w in state.waiting)
    )


def _decide_new(
    state: OrderState, inp: Input, iid: str, catalog: Mapping[str, bool]
) -> Decision:
    """:func:`decide` for an input the order has not seen."""
    try:
        new, commands = _apply(state, inp, catalog)
    except Wait as wait:
        kept = _keep_details(state, inp, catalog)
        waiting = tuple(
            sorted(
                [*kept.waiting, Waiting(iid, inp, wait.reason)],
                key=lambda w: w.input_id,
            )
        )
        # A waiting closing event can itself let the engine report what it owes
        # (``waiting.catching_up``), which in turn can release it.
        parked, owed = reconcile(evolve(kept, waiting=waiting), iid)
        parked, more, released, dropped = _release(parked, catalog)
        if any(w.input_id == iid for w in parked.waiting):
            outcome = "waiting"
        elif any(d.input_id == iid for d in dropped):
            outcome = "refused"
        else:
            outcome = "applied"
        return Decision(parked, owed + more, outcome, released, dropped)
    new, more, released, dropped = _release(new, catalog)
    return Decision(new, commands + more, "applied", released, dropped)


def _keep_details(
    state: OrderState, inp: Input, catalog: Mapping[str, bool]
) -> OrderState:
    """A waiting order event still teaches the order's lines and details."""
    if not isinstance(inp, OrderObserved):
        return state
    # Its charges wait with it, so that what they reveal (a failed capture) is
    # noticed, and notified, when the event applies.
    stripped = evolve(inp, order=evolve(inp.order, state=None, charges=()))
    try:
        merged, _ = on_order(state, stripped, catalog)
        check_invariants(merged, input_id(inp))
    except InputRefused:
        return state
    return merged


def _release_one(
    state: OrderState, catalog: Mapping[str, bool]
) -> tuple[OrderState, tuple[Command, ...], str, InputRefused | None] | None:
    """The first waiting input that applies or proves impossible, or ``None``."""
    for w in state.waiting:
        rest = evolve(state, waiting=tuple(x for x in state.waiting if x is not w))
        try:
            applied, more = _apply(rest, w.input, catalog)
        except Wait:
            continue
        except InputRefused as exc:
            return (
                evolve(rest, seen=_with_seen(rest.seen, w.input_id)),
                (),
                w.input_id,
                exc,
            )
        return applied, more, w.input_id, None
    return None


def _release(
    state: OrderState, catalog: Mapping[str, bool]
) -> tuple[OrderState, tuple[Command, ...], tuple[str, ...], tuple[InputRefused, ...]]:
    """Apply waiting inputs that now can be, in id order, until none can.

    Each pass applies (or drops) one waiting input or stops, so there are at most as
    many passes as inputs waiting: the loop ends by construction.
    """
    if not state.waiting:
        return state, (), (), ()
    commands: tuple[Command, ...] = ()
    released: list[str] = []
    dropped: list[InputRefused] = []
    for _ in range(len(state.waiting)):
        found = _release_one(state, catalog)
        if found is None:
            break
        state, more, done, refusal = found
        if refusal is None:
            commands += more
            released.append(done)
        else:
            dropped.append(refusal)
    return state, commands, tuple(released), tuple(dropped)
