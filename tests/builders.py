"""Builders of DR event JSON for tests: the public kit's, so there is one source."""

from drfulfillment.testing.events import (
    Json,
    backordered,
    cancellation,
    envelope,
    fo_line,
    fulfillment_order,
    order,
    order_event,
    request,
    shipped,
)
from drfulfillment.testing.money_events import (
    charge,
    charge_event,
    fulfillment_created,
    fulfillment_return,
    operation,
    refund,
    return_event,
)

__all__ = [
    "Json",
    "backordered",
    "cancellation",
    "charge",
    "charge_event",
    "envelope",
    "fo_line",
    "fulfillment_created",
    "fulfillment_order",
    "fulfillment_return",
    "operation",
    "order",
    "order_event",
    "refund",
    "request",
    "return_event",
    "shipped",
]
