"""``drfulfillment show ORDER_ID``: one stored order, for a person or (``--json``) a program.

It shows the order's state and lines (units reported to DR), each fulfillment-order
line's buckets, inputs still waiting, the money reconciliation's differences, every
input received for the order with its outcome, and every command with its delivery
status.
"""

from __future__ import annotations

import json
from typing import IO, Any

from drfulfillment.codecs.report import reconciliation_json
from drfulfillment.codecs.state import load_state, state_to_json
from drfulfillment.domain.ledger import line_ledger
from drfulfillment.domain.money import reconciliation
from drfulfillment.domain.ports import Store

__all__ = ["show_order"]


def show_order(store: Store, order_id: str, *, as_json: bool, out: IO[str]) -> int:
    """Print ``order_id``; 1 if the store has no such order."""
    row = store.load(order_id)
    if row is None:
        print(f"drfulfillment: no order {order_id} in the store", file=out)
        return 1
    state = load_state(row.state)
    report = reconciliation(state)
    inbox = store.inbox(order_id)
    outbox = store.outbox(order_id)
    if as_json:
        document: dict[str, Any] = {
            "orderId": order_id,
            "version": row.version,
            "state": state_to_json(state),
            "reconciliation": reconciliation_json(report),
            "inbox": [
                {
                    "seq": e.seq,
                    "id": e.event_id,
                    "type": e.event_type,
                    "status": e.status.value,
                    "detail": e.detail,
                }
                for e in inbox
            ],
            "outbox": [
                {
                    "key": e.key,
                    "command": e.kind,
                    "status": e.status.value,
                    "attempts": e.attempts,
                    "detail": e.detail,
                }
                for e in outbox
            ],
        }
        print(json.dumps(document, indent=2, sort_keys=True), file=out)
        return 0
    status = state.status.value if state.status else "unknown"
    print(
        f"order {order_id}  ({state.model.value}, {status}, version {row.version})",
        file=out,
    )
    print("lines (units reported to DR):", file=out)
    for ln in state.lines:
        kind = "physical" if ln.physical else "digital"
        print(
            f"  {ln.item_id}  {kind:8}  quantity {ln.quantity}  captured {ln.fulfilled}"
            f"  cancelled {ln.cancelled}  unreported {ln.unreported}",
            file=out,
        )
    for fo in state.fulfillment_orders:
        print(f"fulfillment order {fo.id}:", file=out)
        for fl in fo.lines:
            b = line_ledger(state, fo, fl)
            print(
                f"  line {fl.id} (order line {fl.upstream_id})  pending {b.pending}"
                f"  backordered {b.backordered}  shipped {b.shipped}"
                f"  cancelled {b.cancelled}  returned {b.returned}",
                file=out,
            )
    for w in state.waiting:
        print(f"waiting: {w.input_id}: {w.reason}", file=out)
    for difference in report.differences:
        print(f"difference: {difference}", file=out)
    print(f"inputs ({len(inbox)}):", file=out)
    for e in inbox:
        print(
            f"  {e.seq:>6}  {e.event_id}  {e.event_type}  {e.status.value}: {e.detail}",
            file=out,
        )
    print(f"commands ({len(outbox)}):", file=out)
    for c in outbox:
        detail = f"  {c.detail}" if c.detail else ""
        print(
            f"  {c.status.value:9}  {c.kind}  {c.key}  attempts {c.attempts}{detail}",
            file=out,
        )
    return 0
