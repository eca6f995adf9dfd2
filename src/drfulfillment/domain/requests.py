"""Merchant requests: validated against the ledger before anything is emitted.

* :class:`RequestCancellation` (DR-coordinated models): ask the fulfiller to cancel
  units; only pending and backordered units may be cancelled (DR reference §2), less
  those already asked for and not yet answered. Emits ``POST
  /fulfillment-cancellations`` at once, one per fulfillment order.
* :class:`ReportShipment` / :class:`ReportCancellation` (third-party model, and digital
  lines in the distributed model): facts the merchant's own fulfiller established,
  validated against what remains of the DR order line. Their ``POST /fulfillments`` is
  emitted by :mod:`drfulfillment.domain.reconcile` once the order allows it.
"""

from __future__ import annotations

from collections.abc import Iterator

from drfulfillment.domain.commands import (
    CancellationItem,
    Command,
    CreateFulfillmentCancellation,
)
from drfulfillment.domain.errors import (
    QuantityExceeded,
    UnknownReference,
    UnsupportedInModel,
)
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import (
    ReportCancellation,
    ReportShipment,
    RequestCancellation,
    RequestedUnits,
    RequestReturn,
    Tracking,
)
from drfulfillment.domain.ledger import line_ledger, outstanding_requested, remaining
from drfulfillment.domain.state import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    IntegrationModel,
    MerchantReport,
    OrderLine,
    OrderState,
    PendingCancellationRequest,
    ReportKind,
)

__all__ = ["on_report", "on_request_cancellation", "requested_lines"]

Effects = tuple[OrderState, tuple[Command, ...]]


def _totals(items: tuple[RequestedUnits, ...]) -> dict[str, tuple[int, int]]:
    """``item_id -> (first index, total units)``; a line named twice is summed."""
    out: dict[str, tuple[int, int]] = {}
    for i, u in enumerate(items):
        first, total = out.get(u.item_id, (i, 0))
        out[u.item_id] = (first, total + u.quantity)
    return out


def _require_order(state: OrderState, request_id: str) -> None:
    if not state.lines:
        raise UnknownReference(
            request_id,
            "orderId",
            f"order {state.order_id} is not known yet (no order event seen)",
        )


def requested_lines(
    state: OrderState,
    req: RequestCancellation | ReportShipment | ReportCancellation | RequestReturn,
) -> Iterator[tuple[str, OrderLine, int]]:
    """``(where, order line, total units)`` per line a request names; unknown ones refused."""
    _require_order(state, req.request_id)
    for item_id, (i, quantity) in _totals(req.items).items():
        where = f"items[{i}]"
        line = state.line(item_id)
        if line is None:
            raise UnknownReference(
                req.request_id,
                f"{where}.itemId",
                f"order {state.order_id} has no line {item_id}",
            )
        yield where, line, quantity


def on_request_cancellation(state: OrderState, req: RequestCancellation) -> Effects:
    """Validate a cancellation request and emit ``POST /fulfillment-cancellations``."""
    if state.model is IntegrationModel.THIRD_PARTY:
        raise UnsupportedInModel(
            req.request_id,
            None,
            "the third-party model has no fulfillment orders; use report_cancellation",
        )
    per_fo: dict[str, list[tuple[FulfillmentOrder, FulfillmentOrderLine, int]]] = {}
    for where, order_line, quantity in requested_lines(state, req):
        item_id = order_line.item_id
        candidates = [
            (fo, ln)
            for fo in state.fulfillment_orders
            for ln in fo.lines
            if ln.upstream_id == item_id
        ]
        if not candidates:
            why = (
                "it is not physical, so it is in no fulfillment order; use report_cancellation"
                if not order_line.physical
                else "no fulfillment order holding it is known yet"
            )
            raise UnknownReference(
                req.request_id, f"{where}.itemId", f"line {item_id}: {why}"
            )
        # A line may be split over several fulfillment orders: take units from each in
        # id order, as many as each can still cancel.
        left = quantity
        pending_units = backordered_units = asked_units = 0
        for fo, fo_line in candidates:
            ledger = line_ledger(state, fo, fo_line)
            asked = outstanding_requested(state, fo, fo_line)
            pending_units += ledger.pending
            backordered_units += ledger.backordered
            asked_units += asked
            take = min(left, max(ledger.cancellable - asked, 0))
            if take:
                per_fo.setdefault(fo.id, []).append((fo, fo_line, take))
                left -= take
        if left:
            available = quantity - left
            raise QuantityExceeded(
                req.request_id,
                f"{where}.quantity",
                f"line {item_id}: {quantity} to cancel but only {available} may be "
                f"(pending {pending_units}, backordered {backordered_units}, already "
                f"requested {asked_units}; shipped units can only be returned)",
            )
    commands: list[Command] = []
    pending = list(state.cancellation_requests)
    for fo_id in sorted(per_fo):
        rows = per_fo[fo_id]
        commands.append(
            CreateFulfillmentCancellation(
                key=f"fulfillment-cancellation:{req.request_id}:{fo_id}",
                fulfillment_order_id=fo_id,
                order_id=state.order_id,
                items=tuple(
                    CancellationItem(
                        fulfillment_order_item_id=ln.id,
                        fulfillment_order_item_upstream_id=ln.upstream_id,
                        quantity=q,
                    )
                    for (_, ln, q) in rows
                ),
                reason=req.reason,
            )
        )
        pending.append(
            PendingCancellationRequest(
                request_id=req.request_id,
                fulfillment_order_id=fo_id,
                units=tuple((ln.id, q) for (_, ln, q) in rows),
            )
        )
    pending.sort(key=lambda r: (r.request_id, r.fulfillment_order_id))
    return evolve(state, cancellation_requests=tuple(pending)), tuple(commands)


def on_report(state: OrderState, req: ReportShipment | ReportCancellation) -> Effects:
    """Record a merchant-reported shipment or cancellation after validating it."""
    kind = (
        ReportKind.SHIPMENT
        if isinstance(req, ReportShipment)
        else ReportKind.CANCELLATION
    )
    if state.model is IntegrationModel.ORCHESTRATED:
        raise UnsupportedInModel(
            req.request_id,
            None,
            "in the orchestrated model DR captures and cancels itself; nothing is reported",
        )
    for where, line, quantity in requested_lines(state, req):
        item_id = line.item_id
        if state.model is IntegrationModel.DISTRIBUTED and line.physical:
            raise UnsupportedInModel(
                req.request_id,
                f"{where}.itemId",
                f"line {item_id} is physical: in the distributed model its fulfillment order's "
                "events drive POST /fulfillments (use request_cancellation to cancel it)",
            )
        left = remaining(state, item_id)
        if quantity > left:
            raise QuantityExceeded(
                req.request_id,
                f"{where}.quantity",
                f"line {item_id}: {quantity} to report {kind.value} but only {left} of "
                f"{line.quantity} units are neither fulfilled nor cancelled",
            )
    record = MerchantReport(
        request_id=req.request_id,
        kind=kind,
        items=tuple(
            RequestedUnits(i, q) for i, (_, q) in sorted(_totals(req.items).items())
        ),
        tracking=req.tracking if isinstance(req, ReportShipment) else Tracking(),
    )
    reports = tuple(sorted([*state.reports, record], key=lambda r: r.request_id))
    return evolve(state, reports=reports), ()
