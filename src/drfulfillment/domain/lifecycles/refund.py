"""The refund lifecycle (DR ``OrderRefund.state``: the objects ``POST /refunds`` creates).

``pending`` then ``succeeded`` (event ``refund.complete``) or ``failed``; a refund that
needs the customer's bank details passes through ``pending_information`` and may
``expire`` there. ``pending`` and ``pending_information`` reach each other, so between
those two the newer event wins (:meth:`Rulebook.merge`).
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = ["REFUND", "REFUND_TRANSITIONS", "RefundStatus"]


class RefundStatus(enum.Enum):
    """DR's refund states (wire values)."""

    PENDING = "pending"
    PENDING_INFORMATION = "pending_information"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"


_OPEN = ["pending", "pending_information"]

REFUND_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {
        "trigger": "refund.pending_information",
        "source": "pending",
        "dest": "pending_information",
    },
    {"trigger": "refund.pending", "source": "pending_information", "dest": "pending"},
    {"trigger": "refund.complete", "source": _OPEN, "dest": "succeeded"},
    {"trigger": "refund.failed", "source": _OPEN, "dest": "failed"},
    {"trigger": "refund.expired", "source": "pending_information", "dest": "expired"},
)

REFUND: Final = Rulebook(
    "refund",
    RefundStatus,
    REFUND_TRANSITIONS,
    initial=RefundStatus.PENDING,
    finals=(RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.EXPIRED),
)
