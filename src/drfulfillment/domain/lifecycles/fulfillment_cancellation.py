"""The fulfillment-cancellation lifecycle (DR ``GlobalFulfillmentCancellation.state``).

``pending`` (sent to the fulfiller) then ``accepted`` or ``rejected``, both final. Events
arrive in any order: an event whose state is *behind* the known one (``created`` after
``accepted``) is stale and changes nothing; one that neither follows nor precedes it
(``rejected`` after ``accepted``) is refused as conflicting.
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = [
    "FULFILLMENT_CANCELLATION",
    "FULFILLMENT_CANCELLATION_TRANSITIONS",
    "CancellationStatus",
]


class CancellationStatus(enum.Enum):
    """DR's fulfillment-cancellation states (wire values)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


FULFILLMENT_CANCELLATION_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {
        "trigger": "fulfillment_cancellation.accepted",
        "source": "pending",
        "dest": "accepted",
    },
    {
        "trigger": "fulfillment_cancellation.rejected",
        "source": "pending",
        "dest": "rejected",
    },
)

FULFILLMENT_CANCELLATION: Final = Rulebook(
    "fulfillment cancellation",
    CancellationStatus,
    FULFILLMENT_CANCELLATION_TRANSITIONS,
    initial=CancellationStatus.PENDING,
    finals=(CancellationStatus.ACCEPTED, CancellationStatus.REJECTED),
)
