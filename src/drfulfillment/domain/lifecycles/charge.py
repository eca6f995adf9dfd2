"""The charge lifecycle and its operations' (DR ``Charge``, ``Capture``, ``Cancel``, ``Refund``).

A charge (DR reference §6.3) goes ``pending > capturable > processing > complete``, or
ends ``cancelled`` or ``failed``. ``complete`` means captured in full, or in part with the
rest cancelled, with no operation pending; ``cancelled`` means cancelled in full.
``order.charge.processing`` may not be emitted (UNCONFIRMED), so ``capturable`` reaches
``complete`` and ``cancelled`` directly.

Each capture, cancel and refund on a charge starts ``pending`` and ends ``complete`` or
``failed``; a cancel may wait for ``pending_information`` first. Sub-resource events
(``order.charge.capture.complete``) carry the whole charge, so the charge's own state
and every operation's are merged from each of them.
"""

from __future__ import annotations

import enum
from typing import Final

from drfulfillment.domain.lifecycles._rulebook import Rulebook, TransitionSpec

__all__ = [
    "CAPTURE",
    "CHARGE",
    "CHARGE_CANCEL",
    "CHARGE_REFUND",
    "CHARGE_TRANSITIONS",
    "CaptureStatus",
    "ChargeCancelStatus",
    "ChargeRefundStatus",
    "ChargeStatus",
]


class ChargeStatus(enum.Enum):
    """DR's charge states (wire values)."""

    PENDING = "pending"
    CAPTURABLE = "capturable"
    PROCESSING = "processing"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


_LIVE = ["capturable", "processing"]

CHARGE_TRANSITIONS: Final[tuple[TransitionSpec, ...]] = (
    {"trigger": "order.charge.capturable", "source": "pending", "dest": "capturable"},
    {
        "trigger": "order.charge.processing",
        "source": "capturable",
        "dest": "processing",
    },
    {"trigger": "order.charge.complete", "source": _LIVE, "dest": "complete"},
    {
        "trigger": "order.charge.cancelled",
        "source": ["pending", *_LIVE],
        "dest": "cancelled",
    },
    {"trigger": "order.charge.failed", "source": "pending", "dest": "failed"},
)

CHARGE: Final = Rulebook(
    "charge",
    ChargeStatus,
    CHARGE_TRANSITIONS,
    initial=ChargeStatus.PENDING,
    finals=(ChargeStatus.COMPLETE, ChargeStatus.CANCELLED, ChargeStatus.FAILED),
)


class CaptureStatus(enum.Enum):
    """DR's capture states (wire values)."""

    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


CAPTURE: Final = Rulebook(
    "capture",
    CaptureStatus,
    (
        {
            "trigger": "order.charge.capture.complete",
            "source": "pending",
            "dest": "complete",
        },
        {
            "trigger": "order.charge.capture.failed",
            "source": "pending",
            "dest": "failed",
        },
    ),
    initial=CaptureStatus.PENDING,
    finals=(CaptureStatus.COMPLETE, CaptureStatus.FAILED),
)


class ChargeCancelStatus(enum.Enum):
    """DR's charge-cancel states (wire values)."""

    PENDING = "pending"
    PENDING_INFORMATION = "pending_information"
    COMPLETE = "complete"
    FAILED = "failed"


CHARGE_CANCEL: Final = Rulebook(
    "charge cancel",
    ChargeCancelStatus,
    (
        {
            "trigger": "order.charge.cancel.pending_information",
            "source": "pending",
            "dest": "pending_information",
        },
        {
            "trigger": "order.charge.cancel.complete",
            "source": ["pending", "pending_information"],
            "dest": "complete",
        },
        {
            "trigger": "order.charge.cancel.failed",
            "source": ["pending", "pending_information"],
            "dest": "failed",
        },
    ),
    initial=ChargeCancelStatus.PENDING,
    finals=(ChargeCancelStatus.COMPLETE, ChargeCancelStatus.FAILED),
)


class ChargeRefundStatus(enum.Enum):
    """DR's charge-refund states (wire values): the refund as the charge sees it."""

    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


CHARGE_REFUND: Final = Rulebook(
    "charge refund",
    ChargeRefundStatus,
    (
        {
            "trigger": "order.charge.refund.complete",
            "source": "pending",
            "dest": "complete",
        },
        {
            "trigger": "order.charge.refund.failed",
            "source": "pending",
            "dest": "failed",
        },
    ),
    initial=ChargeRefundStatus.PENDING,
    finals=(ChargeRefundStatus.COMPLETE, ChargeRefundStatus.FAILED),
)
