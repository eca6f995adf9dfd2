"""The fulfillment-return lifecycle (DR ``GlobalFulfillmentReturnResponse.state``).

DR-coordinated returns (DR reference §4.1): ``created`` (sent to the fulfiller, not yet
decided), ``pending`` (approved, goods on their way back), ``accepted`` (received at the
warehouse) or ``rejected``. Units move from ``shipped`` to ``returned`` only at
``accepted``: DR does not say which event moves the FO line's ``returned`` bucket
(UNCONFIRMED), and counting units returned before the warehouse has them would refund
goods the customer may never send back.
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = [
    "FULFILLMENT_RETURN",
    "FULFILLMENT_RETURN_TRANSITIONS",
    "FulfillmentReturnStatus",
]


class FulfillmentReturnStatus(enum.Enum):
    """DR's fulfillment-return states (wire values)."""

    CREATED = "created"
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


FULFILLMENT_RETURN_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {"trigger": "fulfillment_return.pending", "source": "created", "dest": "pending"},
    {
        "trigger": "fulfillment_return.accepted",
        "source": ["created", "pending"],
        "dest": "accepted",
    },
    {
        "trigger": "fulfillment_return.rejected",
        "source": ["created", "pending"],
        "dest": "rejected",
    },
)

FULFILLMENT_RETURN: Final = Rulebook(
    "fulfillment return",
    FulfillmentReturnStatus,
    FULFILLMENT_RETURN_TRANSITIONS,
    initial=FulfillmentReturnStatus.CREATED,
    finals=(FulfillmentReturnStatus.ACCEPTED, FulfillmentReturnStatus.REJECTED),
)
