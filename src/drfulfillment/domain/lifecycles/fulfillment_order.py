"""The fulfillment-order lifecycle (DR ``GlobalFulfillmentOrder.state``), declared once.

DR's docs disagree on the FO state (DR reference §1, CONFLICT: a ``pending`` FO may
have ``shipped`` items). The engine therefore never trusts the state DR sends; it
*derives* it from the line buckets (:func:`derive_fulfillment_order_status`):

* ``cancelled`` when every line is fully cancelled;
* ``shipped`` when any unit of any line has shipped ("partially or fully ships");
* ``pending`` otherwise.

Each derived change is checked against this declaration.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec
from drfulfillment.domain.lifecycles.line_item import LineItemStatus

__all__ = [
    "FULFILLMENT_ORDER",
    "FULFILLMENT_ORDER_TRANSITIONS",
    "FulfillmentOrderStatus",
    "derive_fulfillment_order_status",
]


class FulfillmentOrderStatus(enum.Enum):
    """DR's fulfillment-order states (wire values)."""

    PENDING = "pending"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


FULFILLMENT_ORDER_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {"trigger": "fulfillment_order.shipped", "source": "pending", "dest": "shipped"},
    {"trigger": "fulfillment_order.shipped", "source": "shipped", "dest": "shipped"},
    {
        "trigger": "fulfillment_order.cancelled",
        "source": "pending",
        "dest": "cancelled",
    },
)

FULFILLMENT_ORDER: Final = Rulebook(
    "fulfillment order",
    FulfillmentOrderStatus,
    FULFILLMENT_ORDER_TRANSITIONS,
    initial=FulfillmentOrderStatus.PENDING,
    finals=(FulfillmentOrderStatus.SHIPPED, FulfillmentOrderStatus.CANCELLED),
)


def derive_fulfillment_order_status(
    lines: Iterable[LineItemStatus],
) -> FulfillmentOrderStatus:
    """The FO state implied by its lines' states (see the module docstring)."""
    seen = False
    all_cancelled = True
    shipped = False
    for s in lines:
        seen = True
        if s is not LineItemStatus.CANCELLED:
            all_cancelled = False
            if s is LineItemStatus.SHIPPED:
                shipped = True
    if seen and all_cancelled:
        return FulfillmentOrderStatus.CANCELLED
    if shipped:
        return FulfillmentOrderStatus.SHIPPED
    return FulfillmentOrderStatus.PENDING
