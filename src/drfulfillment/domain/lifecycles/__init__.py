"""Every lifecycle, declared once; the tables drive validation and the diagrams."""

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec
from drfulfillment.domain.lifecycles.fulfillment_cancellation import (
    FULFILLMENT_CANCELLATION,
    CancellationStatus,
)
from drfulfillment.domain.lifecycles.fulfillment_order import (
    FULFILLMENT_ORDER,
    FulfillmentOrderStatus,
    derive_fulfillment_order_status,
)
from drfulfillment.domain.lifecycles.line_item import LINE_ITEM, LineItemStatus
from drfulfillment.domain.lifecycles.order import (
    ORDER,
    POST_FULFILLMENTS_ALLOWED,
    OrderStatus,
)

__all__ = [
    "FULFILLMENT_CANCELLATION",
    "FULFILLMENT_ORDER",
    "LIFECYCLES",
    "LINE_ITEM",
    "ORDER",
    "POST_FULFILLMENTS_ALLOWED",
    "CancellationStatus",
    "FulfillmentOrderStatus",
    "LineItemStatus",
    "OrderStatus",
    "Rulebook",
    "TransitionSpec",
    "derive_fulfillment_order_status",
]

#: Every declared lifecycle, by name.
LIFECYCLES = {
    "order": ORDER,
    "fulfillment_order": FULFILLMENT_ORDER,
    "line_item": LINE_ITEM,
    "fulfillment_cancellation": FULFILLMENT_CANCELLATION,
}
