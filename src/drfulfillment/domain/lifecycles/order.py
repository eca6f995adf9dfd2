"""The DR order lifecycle (DR ``Order.state``), declared once.

Everything that decides which order states may follow which lives here. The engine
does not *drive* the order: DR does, and each ``order.*`` event carries the order's
state. The engine keeps the newest state it has seen (by event ``createdTime``, then
event id, so that any delivery order ends in the same state) and refuses a newer state
that this lifecycle cannot reach from the current one (``blocked`` then ``accepted``).

Dispute (DR reference §6.1, CONFLICT): DR says a resolved dispute "reverts to its
pre-dispute state" while its example shows ``accepted`` after ``complete``; both are
declared, so neither is refused.
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = [
    "ORDER",
    "ORDER_TRANSITIONS",
    "POST_FULFILLMENTS_ALLOWED",
    "RETURNS_ALLOWED",
    "OrderStatus",
]


class OrderStatus(enum.Enum):
    """DR's order states (wire values)."""

    PENDING_PAYMENT = "pending_payment"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    COMPLETE = "complete"
    RETURNED = "returned"
    DISPUTE = "dispute"


_OPEN = ["pending_payment", "in_review"]
_SETTLED = ["accepted", "fulfilled", "complete"]

ORDER_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {
        "trigger": "order.review_opened",
        "source": "pending_payment",
        "dest": "in_review",
    },
    {"trigger": "order.accepted", "source": _OPEN, "dest": "accepted"},
    {"trigger": "order.blocked", "source": _OPEN, "dest": "blocked"},
    {"trigger": "order.cancelled", "source": [*_OPEN, "accepted"], "dest": "cancelled"},
    {"trigger": "order.fulfilled", "source": "accepted", "dest": "fulfilled"},
    {
        "trigger": "order.complete",
        "source": ["accepted", "fulfilled"],
        "dest": "complete",
    },
    {
        "trigger": "order.refunded",
        "source": ["fulfilled", "complete"],
        "dest": "returned",
    },
    {"trigger": "order.dispute", "source": _SETTLED, "dest": "dispute"},
    {"trigger": "order.dispute.resolved", "source": "dispute", "dest": "accepted"},
    {"trigger": "order.dispute.resolved", "source": "dispute", "dest": "fulfilled"},
    {"trigger": "order.dispute.resolved", "source": "dispute", "dest": "complete"},
)

ORDER: Final = Rulebook(
    "order",
    OrderStatus,
    ORDER_TRANSITIONS,
    initial=OrderStatus.PENDING_PAYMENT,
    # ``complete`` is not final: a refund or a dispute can follow it.
    finals=(OrderStatus.BLOCKED, OrderStatus.CANCELLED, OrderStatus.RETURNED),
)

#: The only order state in which DR accepts ``POST /fulfillments`` (DR reference §6.1:
#: before ``accepted`` fulfilment must not start; ``fulfilled`` answers 409
#: ``order_fulfilled``; ``dispute`` answers 409 ``order_not_submitted``).
POST_FULFILLMENTS_ALLOWED: Final = frozenset({OrderStatus.ACCEPTED})

#: Order states in which returns and refunds may be asked for (DR reference §6.1): once
#: goods may have shipped, and never in ``dispute`` (DR answers ``POST /returns`` with 409
#: and ``POST /refunds`` with 400 then). A refund owed while the order is disputed is
#: held and sent once the dispute is resolved.
RETURNS_ALLOWED: Final = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.FULFILLED,
        OrderStatus.COMPLETE,
        OrderStatus.RETURNED,
    }
)
