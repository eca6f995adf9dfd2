"""Every lifecycle, declared once; the tables drive validation and the diagrams."""

from typing import Any

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec
from drfulfillment.domain.lifecycles.charge import (
    CAPTURE,
    CHARGE,
    CHARGE_CANCEL,
    CHARGE_REFUND,
    CaptureStatus,
    ChargeCancelStatus,
    ChargeRefundStatus,
    ChargeStatus,
)
from drfulfillment.domain.lifecycles.fulfillment_cancellation import (
    FULFILLMENT_CANCELLATION,
    CancellationStatus,
)
from drfulfillment.domain.lifecycles.fulfillment_order import (
    FULFILLMENT_ORDER,
    FulfillmentOrderStatus,
    derive_fulfillment_order_status,
)
from drfulfillment.domain.lifecycles.fulfillment_return import (
    FULFILLMENT_RETURN,
    FulfillmentReturnStatus,
)
from drfulfillment.domain.lifecycles.line_item import LINE_ITEM, LineItemStatus
from drfulfillment.domain.lifecycles.order import (
    ORDER,
    POST_FULFILLMENTS_ALLOWED,
    RETURNS_ALLOWED,
    OrderStatus,
)
from drfulfillment.domain.lifecycles.refund import REFUND, RefundStatus
from drfulfillment.domain.lifecycles.returns import RETURN, ReturnStatus

__all__ = [
    "CAPTURE",
    "CHARGE",
    "CHARGE_CANCEL",
    "CHARGE_REFUND",
    "FULFILLMENT_CANCELLATION",
    "FULFILLMENT_ORDER",
    "FULFILLMENT_RETURN",
    "LIFECYCLES",
    "LINE_ITEM",
    "ORDER",
    "POST_FULFILLMENTS_ALLOWED",
    "REFUND",
    "RETURN",
    "RETURNS_ALLOWED",
    "CancellationStatus",
    "CaptureStatus",
    "ChargeCancelStatus",
    "ChargeRefundStatus",
    "ChargeStatus",
    "FulfillmentOrderStatus",
    "FulfillmentReturnStatus",
    "LineItemStatus",
    "OrderStatus",
    "RefundStatus",
    "ReturnStatus",
    "Rulebook",
    "TransitionSpec",
    "derive_fulfillment_order_status",
]

#: Every declared lifecycle, by name.
LIFECYCLES: dict[str, Rulebook[Any]] = {
    "order": ORDER,
    "fulfillment_order": FULFILLMENT_ORDER,
    "line_item": LINE_ITEM,
    "fulfillment_cancellation": FULFILLMENT_CANCELLATION,
    "fulfillment_return": FULFILLMENT_RETURN,
    "return": RETURN,
    "refund": REFUND,
    "charge": CHARGE,
    "capture": CAPTURE,
    "charge_cancel": CHARGE_CANCEL,
    "charge_refund": CHARGE_REFUND,
}
