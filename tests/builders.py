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

__all__ = [
    "Json",
    "backordered",
    "cancellation",
    "envelope",
    "fo_line",
    "fulfillment_order",
    "order",
    "order_event",
    "request",
    "shipped",
]
