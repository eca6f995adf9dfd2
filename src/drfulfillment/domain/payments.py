"""How payment events change one order: charges and their operations, refunds, DR fulfillments.

* ``order.charge.*`` carry the whole charge; so does every order's ``payment.charges[]``.
  Charges are merged by id, and each capture, cancel and refund on them by id (DR omits
  the id on some nested refunds: those are matched by ``createdTime`` and amount). A
  charge's or an operation's amount never changes (DR reference §6.3); a change is
  refused. States advance by their declared lifecycles.
* ``refund.*``: DR's refunds, tracked per order with their lines.
* ``fulfillment.created``: what DR recorded of a ``POST /fulfillments``, ours or anyone's.
  It links captures (``captures[].fulfillmentId``) to units, and a recorded fulfillment
  for a shipment keeps the engine from capturing that shipment again.

A capture that fails is reported once with DR's advice (:func:`capture_failures`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from drfulfillment.domain.commands import Command, HandleCaptureFailure
from drfulfillment.domain.errors import ConflictingInput, UnknownReference
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.inputs import (
    ChargeObserved,
    EventMeta,
    FulfillmentObserved,
    RefundObserved,
)
from drfulfillment.domain.lifecycles import (
    CAPTURE,
    CHARGE,
    CHARGE_CANCEL,
    CHARGE_REFUND,
    REFUND,
    CaptureStatus,
    RefundStatus,
    Rulebook,
)
from drfulfillment.domain.records import (
    Capture,
    Charge,
    ChargeCancel,
    ChargeRefund,
    DrFulfillment,
    DrFulfillmentLine,
    Refund,
    RefundLine,
    Stamp,
)
from drfulfillment.domain.snapshots import CaptureSnapshot, ChargeSnapshot
from drfulfillment.domain.state import OrderState
from drfulfillment.domain.waiting import Wait

__all__ = [
    "capture_failures",
    "merge_charges",
    "merged_charges",
    "on_charge",
    "on_fulfillment_created",
    "on_refund",
]

Effects = tuple[OrderState, tuple[Command, ...]]
R = TypeVar("R", Capture, ChargeCancel, ChargeRefund)


def _same_amount(
    old: Decimal | None, new: Decimal | None, iid: str, field: str, what: str
) -> Decimal | None:
    if old is not None and new is not None and old != new:
        raise ConflictingInput(
            iid, field, f"{what} was {old}, now {new}; DR never changes it"
        )
    return old if old is not None else new


def _loose(created_time: str | None, amount: Decimal | None) -> str:
    """The identity of an operation DR shows without an id: its time and amount."""
    return f"~{created_time}~{amount.normalize() if amount is not None else ''}"


def _merge_ops(
    known: tuple[R, ...],
    snaps: Sequence[Any],
    book: Rulebook[Any],
    make: Callable[..., R],
    stamp: Stamp,
    iid: str,
    field: str,
) -> tuple[R, ...]:
    ops = {op.id: op for op in known}
    for i, snap in enumerate(snaps):
        where = f"{field}[{i}]"
        loose = _loose(snap.created_time, snap.amount)
        oid = snap.id or loose
        old = ops.get(oid)
        if old is None and snap.id is None:
            # An id-less entry may be one already known by its id.
            old = next(
                (
                    o
                    for o in ops.values()
                    if (o.created_time, o.amount) == (snap.created_time, snap.amount)
                ),
                None,
            )
        if old is None and snap.id is not None and loose in ops:
            old = evolve(ops.pop(loose), id=snap.id)
        status = snap.state or book.initial
        extra: dict[str, Any] = {}
        if isinstance(snap, CaptureSnapshot):
            extra = {
                "fulfillment_id": snap.fulfillment_id,
                "failure_code": snap.failure_code,
                "failure_message": snap.failure_message,
            }
        if old is None:
            ops[oid] = make(
                id=oid,
                status=status,
                stamp=stamp,
                amount=snap.amount,
                created_time=snap.created_time,
                **extra,
            )
            continue
        amount = _same_amount(
            old.amount, snap.amount, iid, f"{where}.amount", f"{book.name} {old.id}"
        )
        merged = book.merge(
            old.status,
            status,
            newer=stamp > old.stamp,
            subject=old.id,
            input_id=iid,
            field=f"{where}.state",
        )
        kept = {
            k: v for k, v in extra.items() if v is not None and getattr(old, k) is None
        }
        ops[old.id] = evolve(
            old,
            status=merged,
            stamp=max(stamp, old.stamp),
            amount=amount,
            created_time=old.created_time or snap.created_time,
            **kept,
        )
    return tuple(sorted(ops.values(), key=lambda o: o.id))


def merge_charges(
    state: OrderState,
    charges: Sequence[ChargeSnapshot],
    meta: EventMeta,
    field: str,
) -> OrderState:
    """Merge charges as an event shows them into the order's."""
    return evolve(state, charges=merged_charges(state.charges, charges, meta, field))


def merged_charges(
    known_charges: tuple[Charge, ...],
    charges: Sequence[ChargeSnapshot],
    meta: EventMeta,
    field: str,
) -> tuple[Charge, ...]:
    """The order's charges with ``charges``, as an event shows them, merged in."""
    stamp = (meta.created_time, meta.id)
    known = {c.id: c for c in known_charges}
    for i, snap in enumerate(charges):
        where = f"{field}[{i}]" if field.endswith("charges") else field
        old = known.get(snap.id) or Charge(id=snap.id, stamp=stamp)
        amount = _same_amount(
            old.amount,
            snap.amount,
            meta.id,
            f"{where}.amount",
            f"charge {snap.id} amount",
        )
        status = old.status
        if snap.state is not None:
            status = (
                snap.state
                if status is None
                else CHARGE.merge(
                    status,
                    snap.state,
                    newer=stamp > old.stamp,
                    subject=snap.id,
                    input_id=meta.id,
                    field=f"{where}.state",
                )
            )
        known[snap.id] = evolve(
            old,
            stamp=max(stamp, old.stamp),
            status=status,
            amount=amount,
            currency=old.currency or snap.currency,
            captures=_merge_ops(
                old.captures,
                snap.captures,
                CAPTURE,
                Capture,
                stamp,
                meta.id,
                f"{where}.captures",
            ),
            cancels=_merge_ops(
                old.cancels,
                snap.cancels,
                CHARGE_CANCEL,
                ChargeCancel,
                stamp,
                meta.id,
                f"{where}.cancels",
            ),
            refunds=_merge_ops(
                old.refunds,
                snap.refunds,
                CHARGE_REFUND,
                ChargeRefund,
                stamp,
                meta.id,
                f"{where}.refunds",
            ),
        )
    return tuple(sorted(known.values(), key=lambda c: c.id))


def on_charge(state: OrderState, inp: ChargeObserved) -> Effects:
    """Merge an ``order.charge.*`` event's charge."""
    return merge_charges(state, (inp.charge,), inp.meta, "data.object"), ()


def on_refund(state: OrderState, inp: RefundObserved) -> Effects:
    """Track a DR refund through its lifecycle."""
    r = inp.refund
    iid = inp.meta.id
    stamp = (inp.meta.created_time, iid)
    lines: dict[str, int] = {}
    if not state.lines and any(it.item_id for it in r.items):
        raise Wait(f"order {state.order_id} (the refund names its lines)")
    for i, it in enumerate(r.items):
        if it.item_id is None or not it.quantity:
            continue
        if state.line(it.item_id) is None:
            raise UnknownReference(
                iid,
                f"data.object.items[{i}].itemId",
                f"order {state.order_id} has no line {it.item_id}",
            )
        lines[it.item_id] = lines.get(it.item_id, 0) + it.quantity
    status = r.state or RefundStatus.PENDING
    old = next((x for x in state.refunds if x.id == r.id), None)
    record = Refund(
        id=r.id,
        status=status,
        stamp=stamp,
        amount=r.amount,
        refunded_amount=r.refunded_amount,
        lines=tuple(
            RefundLine(item_id=i, quantity=q) for i, q in sorted(lines.items())
        ),
        reason=r.reason,
    )
    if old is not None:
        newer = stamp > old.stamp
        merged = REFUND.merge(
            old.status,
            status,
            newer=newer,
            subject=r.id,
            input_id=iid,
            field="data.object.state",
        )
        last, first = (record, old) if newer else (old, record)
        record = evolve(
            last,
            status=merged,
            stamp=max(stamp, old.stamp),
            amount=last.amount if last.amount is not None else first.amount,
            refunded_amount=(
                last.refunded_amount
                if last.refunded_amount is not None
                else first.refunded_amount
            ),
            lines=last.lines or first.lines,
            reason=last.reason or first.reason,
        )
    others = [x for x in state.refunds if x.id != r.id]
    return evolve(
        state, refunds=tuple(sorted([*others, record], key=lambda x: x.id))
    ), ()


def on_fulfillment_created(state: OrderState, inp: FulfillmentObserved) -> Effects:
    """Record what DR recorded of a ``POST /fulfillments``."""
    f = inp.fulfillment
    iid = inp.meta.id
    units: dict[str, tuple[int, int]] = {}
    if not state.lines and f.items:
        raise Wait(f"order {state.order_id} (the fulfillment names its lines)")
    for i, it in enumerate(f.items):
        if state.line(it.item_id) is None:
            raise UnknownReference(
                iid,
                f"data.object.items[{i}].itemId",
                f"order {state.order_id} has no line {it.item_id}",
            )
        q, c = units.get(it.item_id, (0, 0))
        units[it.item_id] = (q + (it.quantity or 0), c + (it.cancel_quantity or 0))
    record = DrFulfillment(
        id=f.id,
        shipment_id=f.shipment_id,
        lines=tuple(
            DrFulfillmentLine(item_id=i, quantity=q, cancel_quantity=c)
            for i, (q, c) in sorted(units.items())
        ),
    )
    old = next((x for x in state.fulfillments if x.id == f.id), None)
    if old is not None:
        if old != record:
            raise ConflictingInput(
                iid, "data.object.items", f"fulfillment {f.id} was recorded otherwise"
            )
        return state, ()
    return evolve(
        state,
        fulfillments=tuple(sorted([*state.fulfillments, record], key=lambda x: x.id)),
    ), ()


def capture_failures(old: OrderState, new: OrderState) -> tuple[Command, ...]:
    """One :class:`HandleCaptureFailure` per capture newly known to have failed."""
    if new.charges is old.charges:
        return ()
    # A capture first seen without an id keeps its time-and-amount identity when its
    # id shows up, so renaming it does not make it a new failure.
    failed_before = {
        (c.id, key)
        for c in old.charges
        for op in c.captures
        if op.status is CaptureStatus.FAILED
        for key in (op.id, _loose(op.created_time, op.amount))
    }
    return tuple(
        HandleCaptureFailure(
            key=f"capture-failed:{op.id}",
            order_id=new.order_id,
            charge_id=c.id,
            capture_id=op.id,
            amount=op.amount,
            fulfillment_id=op.fulfillment_id,
            failure_code=op.failure_code,
            failure_message=op.failure_message,
        )
        for c in new.charges
        for op in c.captures
        if op.status is CaptureStatus.FAILED
        and (c.id, op.id) not in failed_before
        and (c.id, _loose(op.created_time, op.amount)) not in failed_before
    )
