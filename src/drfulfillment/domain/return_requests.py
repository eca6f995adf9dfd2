"""Merchant return requests, validated against the ledger, and the calls they become.

* :class:`RequestReturn`: units of a line that sits in a fulfillment order go back
  through DR's fulfiller (``POST /fulfillment-returns``, one per fulfillment order); other
  lines (third-party model, digital lines) through the Returns API (``POST /returns``).
  Only units shipped and not yet returned, nor on their way back, nor already asked for,
  may be returned.
* :class:`AcceptReturn`: accept a known third-party return, whole or per item
  (``POST /returns/{id}``); DR then refunds it itself.

The calls are emitted by :func:`owed_returns`, as is the ``POST /refunds`` an accepted
fulfillment return is owed (once), whenever the order allows returns (never while in
``dispute``: DR refuses them then, so they are held and sent after resolution).
"""

from __future__ import annotations

from drfulfillment.domain.commands import (
    Command,
    CreateFulfillmentReturn,
    CreateRefund,
    CreateReturn,
    ReturnItem,
    UpdateReturn,
)
from drfulfillment.domain.errors import (
    IllegalTransition,
    QuantityExceeded,
    UnknownReference,
)
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import AcceptReturn, RequestedUnits, RequestReturn
from drfulfillment.domain.ledger import ever_fulfilled, known_returned, line_ledger
from drfulfillment.domain.lifecycles import RETURNS_ALLOWED, OrderStatus, ReturnStatus
from drfulfillment.domain.records import Return, ReturnRequest, ReturnRequestKind
from drfulfillment.domain.requests import requested_lines
from drfulfillment.domain.state import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    IntegrationModel,
    OrderState,
)

__all__ = ["on_accept_return", "on_request_return", "owed_returns"]

Effects = tuple[OrderState, tuple[Command, ...]]


def _asked(state: OrderState, kind: ReturnRequestKind, line_id: str) -> int:
    return sum(
        q
        for r in state.return_requests
        if r.kind is kind
        for (lid, q) in r.units
        if lid == line_id
    )


def _returnable_fo(
    state: OrderState, fo: FulfillmentOrder, line: FulfillmentOrderLine
) -> tuple[int, int, int]:
    """``(may return, shipped, on their way or asked)`` for one FO line.

    Requests and DR's returns cannot be matched one to one (the return id comes back
    in a response the engine does not see): every unit asked for counts until as many
    units appear in DR's fulfillment returns on the line.
    """
    shipped = line_ledger(state, fo, line).shipped
    in_returns = [
        r for r in state.fulfillment_returns if r.fulfillment_order_id == fo.id
    ]
    seen = sum(
        ln.quantity for r in in_returns for ln in r.lines if ln.line_id == line.id
    )
    open_units = sum(r.open_units(line.id) for r in in_returns)
    asked = _asked(state, ReturnRequestKind.FULFILLMENT_RETURN, line.id)
    busy = open_units + max(0, asked - seen)
    return max(0, shipped - busy), shipped, busy


def _returnable_item(state: OrderState, item_id: str) -> tuple[int, int, int]:
    """``(may return, fulfilled and not returned, on their way or asked)``."""
    held = ever_fulfilled(state, item_id) - known_returned(state, item_id)
    seen = sum(
        ln.quantity for r in state.returns for ln in r.lines if ln.line_id == item_id
    )
    open_units = sum(r.open_units(item_id) for r in state.returns)
    asked = _asked(state, ReturnRequestKind.RETURN, item_id)
    busy = open_units + max(0, asked - seen)
    return max(0, held - busy), held, busy


def _refuse_if_closed(state: OrderState, request_id: str) -> None:
    """A blocked or cancelled order never ships: DR takes no return for it."""
    if state.status in (OrderStatus.BLOCKED, OrderStatus.CANCELLED):
        raise IllegalTransition(
            request_id,
            "orderId",
            f"order {state.order_id} is {state.status.value}: it takes no return",
        )


def on_request_return(state: OrderState, req: RequestReturn) -> Effects:
    """Validate a return request and record the DR calls it becomes."""
    _refuse_if_closed(state, req.request_id)
    per_fo: dict[str, list[tuple[str, int]]] = {}
    direct: list[tuple[str, int]] = []
    for where, order_line, quantity in requested_lines(state, req):
        item_id = order_line.item_id
        candidates = [
            (fo, ln)
            for fo in state.fulfillment_orders
            for ln in fo.lines
            if ln.upstream_id == item_id
        ]
        if state.model is IntegrationModel.THIRD_PARTY or not candidates:
            may, held, busy = _returnable_item(state, item_id)
            if quantity > may:
                raise QuantityExceeded(
                    req.request_id,
                    f"{where}.quantity",
                    f"line {item_id}: {quantity} to return but only {may} may be "
                    f"({held} fulfilled and not returned, {busy} already being returned)",
                )
            direct.append((item_id, quantity))
            continue
        left, total_may, total_held, total_busy = quantity, 0, 0, 0
        for fo, ln in candidates:
            may, held, busy = _returnable_fo(state, fo, ln)
            total_may, total_held, total_busy = (
                total_may + may,
                total_held + held,
                total_busy + busy,
            )
            take = min(left, may)
            if take:
                per_fo.setdefault(fo.id, []).append((ln.id, take))
                left -= take
        if left:
            raise QuantityExceeded(
                req.request_id,
                f"{where}.quantity",
                f"line {item_id}: {quantity} to return but only {total_may} may be "
                f"({total_held} shipped and not returned, {total_busy} already being "
                "returned)",
            )
    records = [
        ReturnRequest(
            request_id=req.request_id,
            kind=ReturnRequestKind.FULFILLMENT_RETURN,
            units=tuple(rows),
            fulfillment_order_id=fo_id,
            reason=req.reason,
        )
        for fo_id, rows in sorted(per_fo.items())
    ]
    if direct:
        records.append(
            ReturnRequest(
                request_id=req.request_id,
                kind=ReturnRequestKind.RETURN,
                units=tuple(sorted(direct)),
                reason=req.reason,
            )
        )
    return _with_requests(state, records), ()


def on_accept_return(state: OrderState, req: AcceptReturn) -> Effects:
    """Validate the acceptance of a third-party return (whole, or some of its items)."""
    _refuse_if_closed(state, req.request_id)
    if not state.lines:
        raise UnknownReference(
            req.request_id, "orderId", f"order {state.order_id} is not known yet"
        )
    ret = next((r for r in state.returns if r.id == req.return_id), None)
    if ret is None:
        raise UnknownReference(
            req.request_id,
            "returnId",
            f"return {req.return_id} of order {state.order_id} is not known yet "
            "(no return.* event seen)",
        )
    if ret.status is ReturnStatus.ACCEPTED:
        raise IllegalTransition(
            req.request_id, "returnId", f"return {ret.id} is already accepted"
        )
    free = {ln.line_id: _acceptable(state, ret, ln.line_id) for ln in ret.lines}
    wanted = req.items or tuple(RequestedUnits(i, q) for i, q in free.items() if q)
    if not wanted:
        raise IllegalTransition(
            req.request_id,
            "returnId",
            f"return {ret.id} has no unit left to accept (all accepted or being so)",
        )
    rows: dict[str, int] = {}
    for i, u in enumerate(wanted):
        if u.item_id not in free:
            raise UnknownReference(
                req.request_id,
                f"items[{i}].itemId",
                f"return {ret.id} has no line {u.item_id}",
            )
        rows[u.item_id] = rows.get(u.item_id, 0) + u.quantity
        if rows[u.item_id] > free[u.item_id]:
            raise QuantityExceeded(
                req.request_id,
                f"items[{i}].quantity",
                f"return {ret.id} line {u.item_id}: {rows[u.item_id]} to accept but "
                f"only {free[u.item_id]} are neither accepted nor being so",
            )
    record = ReturnRequest(
        request_id=req.request_id,
        kind=ReturnRequestKind.ACCEPT,
        units=tuple(sorted(rows.items())),
        return_id=ret.id,
        whole=not req.items,
    )
    return _with_requests(state, [record]), ()


def _acceptable(state: OrderState, ret: Return, item_id: str) -> int:
    """Units of the return's line neither accepted by DR nor asked to be by us.

    DR's ``quantityAccepted`` already includes what our earlier acceptances asked
    for once DR applied them: the larger of the two is what is taken.
    """
    quantity = sum(ln.quantity for ln in ret.lines if ln.line_id == item_id)
    accepted = sum(ln.accepted or 0 for ln in ret.lines if ln.line_id == item_id)
    asked = sum(
        q
        for r in state.return_requests
        if r.kind is ReturnRequestKind.ACCEPT and r.return_id == ret.id
        for (lid, q) in r.units
        if lid == item_id
    )
    return max(0, quantity - max(accepted, asked))


def _with_requests(state: OrderState, records: list[ReturnRequest]) -> OrderState:
    requests = sorted(
        [*state.return_requests, *records],
        key=lambda r: (r.request_id, r.fulfillment_order_id or "", r.kind.value),
    )
    return evolve(state, return_requests=tuple(requests))


def _command(state: OrderState, r: ReturnRequest) -> Command:
    units = tuple(RequestedUnits(i, q) for i, q in r.units)
    match r.kind:
        case ReturnRequestKind.FULFILLMENT_RETURN:
            assert r.fulfillment_order_id is not None
            return CreateFulfillmentReturn(
                key=f"fulfillment-return:{r.request_id}:{r.fulfillment_order_id}",
                fulfillment_order_id=r.fulfillment_order_id,
                order_id=state.order_id,
                items=tuple(
                    ReturnItem(fulfillment_order_item_id=i, quantity=q)
                    for i, q in r.units
                ),
                reason=r.reason,
            )
        case ReturnRequestKind.RETURN:
            return CreateReturn(
                key=f"return:{r.request_id}",
                order_id=state.order_id,
                items=units,
                reason=r.reason,
            )
        case ReturnRequestKind.ACCEPT:
            assert r.return_id is not None
            return UpdateReturn(
                key=f"return-accept:{r.request_id}",
                order_id=state.order_id,
                return_id=r.return_id,
                items=() if r.whole else units,
            )


def owed_returns(state: OrderState) -> Effects:
    """Emit the return calls and refunds owed, if the order allows them now."""
    if state.status not in RETURNS_ALLOWED:
        return state, ()
    commands: list[Command] = []
    requests = list(state.return_requests)
    for k, r in enumerate(requests):
        if not r.sent:
            commands.append(_command(state, r))
            requests[k] = evolve(r, sent=True)
    currency = state.details.currency if state.details else None
    returns = list(state.fulfillment_returns)
    for k, fr in enumerate(returns):
        fo = state.fulfillment_order(fr.fulfillment_order_id)
        if fo is None or currency is None:
            continue
        owed = {
            ln.id: fr.returned_units(ln.id) - fr.refunded_units(ln.id)
            for ln in fo.lines
        }
        owed = {line_id: n for line_id, n in owed.items() if n > 0}
        if not owed:
            continue
        upstream = {ln.id: ln.upstream_id for ln in fo.lines}
        units: dict[str, int] = {}
        for line_id, n in owed.items():
            units[upstream[line_id]] = units.get(upstream[line_id], 0) + n
        refunded = {lid: fr.refunded_units(lid) + owed.get(lid, 0) for lid in upstream}
        total = sum(refunded.values())
        # The first refund of a return is keyed by the return; a later one (DR's
        # acceptance grew after it) by the units it brings the total to.
        key = f"refund:fulfillment-return:{fr.id}"
        commands.append(
            CreateRefund(
                key=key if not fr.refund_requested else f"{key}:{total}",
                order_id=state.order_id,
                currency=currency,
                items=tuple(RequestedUnits(i, q) for i, q in sorted(units.items())),
                reason=fr.reason,
            )
        )
        returns[k] = evolve(
            fr,
            refund_requested=True,
            refunded=tuple(sorted((lid, n) for lid, n in refunded.items() if n)),
        )
    if not commands:
        return state, ()
    return evolve(
        state, return_requests=tuple(requests), fulfillment_returns=tuple(returns)
    ), tuple(commands)
