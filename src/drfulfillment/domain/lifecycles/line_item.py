"""The fulfillment-order line-item lifecycle (DR ``LineItem.state``), declared once.

A line's state is derived from its quantity buckets (DR reference §1: "in aggregate,
these values equal the total quantity"), in this order of precedence:

* ``cancelled`` when every unit is cancelled;
* ``shipped`` when any unit has shipped (returned units count: they shipped first);
* ``backordered`` when any unit awaits restock;
* ``pending`` otherwise.

``returned`` is a bucket, not a state: DR's enum has no ``returned`` line state.
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = ["LINE_ITEM", "LINE_ITEM_TRANSITIONS", "LineItemStatus"]


class LineItemStatus(enum.Enum):
    """DR's fulfillment-order line-item states (wire values)."""

    PENDING = "pending"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


_OPEN = ["pending", "backordered"]

LINE_ITEM_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {
        "trigger": "fulfillment_order.backordered",
        "source": "pending",
        "dest": "backordered",
    },
    {"trigger": "restock", "source": "backordered", "dest": "pending"},
    {
        "trigger": "fulfillment_order.shipped",
        "source": [*_OPEN, "shipped"],
        "dest": "shipped",
    },
    {"trigger": "fulfillment_order.cancelled", "source": _OPEN, "dest": "cancelled"},
    {"trigger": "fulfillment_return.accepted", "source": "shipped", "dest": "shipped"},
)

LINE_ITEM: Final = Rulebook(
    "fulfillment-order line item",
    LineItemStatus,
    LINE_ITEM_TRANSITIONS,
    initial=LineItemStatus.PENDING,
    finals=(LineItemStatus.SHIPPED, LineItemStatus.CANCELLED),
)
