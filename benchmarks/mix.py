"""The benchmark workload: a realistic mix of DR events for many orders.

Each order has three lines (2, 1 and 3 units) and lives through ten inputs:
``order.accepted``; ``fulfillment_order.pending``; ``fulfillment_order.backordered`` (one
unit of the third line); a shipment of the first two lines; the same shipment delivered
again (a duplicate); the merchant's request to cancel one unit of the third line;
``fulfillment_cancellation.accepted``; a second shipment (the other two units of the
third line); ``order.fulfilled``; ``order.complete``. Orders are interleaved step by
step, as webhooks for many orders arrive in practice.
"""

from __future__ import annotations

import json
from typing import Any

from drfulfillment.testing.events import (
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    request,
    shipped,
)

Json = dict[str, Any]

#: Inputs per order in the mix (one of them a duplicate delivery).
EVENTS_PER_ORDER = 10
QUANTITIES = (2, 1, 3)


def ids(n: int) -> tuple[str, list[str], str, list[str]]:
    """``(order id, order line ids, fulfillment order id, FO line ids)`` of order ``n``."""
    order_id = f"9{n:011d}"
    lines = [f"{order_id}{k}" for k in range(3)]
    fo_id = f"7{n:011d}"
    fo_lines = [f"{fo_id}{k}" for k in range(3)]
    return order_id, lines, fo_id, fo_lines


def order_history(n: int) -> list[Json]:
    """The ten inputs of order ``n``, in the order they happen."""
    order_id, lines, fo_id, fol = ids(n)
    items = [(line, q, True) for line, q in zip(lines, QUANTITIES, strict=True)]
    fo = [
        fo_line(fl, line, q) for fl, line, q in zip(fol, lines, QUANTITIES, strict=True)
    ]
    ship_1 = shipped(
        f"e{n}-ship-1",
        f"S{n}-1",
        fo_id,
        order_id,
        [(f"S{n}-1-0", fol[0], lines[0], 2), (f"S{n}-1-1", fol[1], lines[1], 1)],
    )
    return [
        order_event(
            f"e{n}-acc",
            "accepted",
            "2021-11-01T18:30:00Z",
            order_id=order_id,
            items=items,
        ),
        fulfillment_order(f"e{n}-fo", "fulfillment_order.pending", fo_id, order_id, fo),
        backordered(f"e{n}-bo", fo_id, order_id, [(fol[2], lines[2], 1, 1)]),
        ship_1,
        ship_1,
        request("request_cancellation", f"r{n}-cancel", order_id, [(lines[2], 1)]),
        cancellation(
            f"e{n}-fc", "accepted", f"FC{n}", fo_id, order_id, [(fol[2], 1, 1)]
        ),
        shipped(
            f"e{n}-ship-2",
            f"S{n}-2",
            fo_id,
            order_id,
            [(f"S{n}-2-0", fol[2], lines[2], 2)],
            "2021-11-04T10:00:00Z",
        ),
        order_event(
            f"e{n}-ful",
            "fulfilled",
            "2021-11-05T10:00:00Z",
            order_id=order_id,
            items=items,
        ),
        order_event(
            f"e{n}-com",
            "complete",
            "2021-11-06T10:00:00Z",
            order_id=order_id,
            items=items,
        ),
    ]


def documents(orders: int) -> list[Json]:
    """Every input of ``orders`` orders, interleaved step by step."""
    histories = [order_history(n) for n in range(orders)]
    return [h[step] for step in range(EVENTS_PER_ORDER) for h in histories]


def lines_of(orders: int) -> list[bytes]:
    """The same inputs as JSON Lines (compact JSON bytes, one per input)."""
    return [json.dumps(d, separators=(",", ":")).encode() for d in documents(orders)]
