"""What a generated history is: its inputs, its delivery rules, and the truth per line and charge."""

from __future__ import annotations

from decimal import Decimal

import attrs

from drfulfillment.domain.state import IntegrationModel
from drfulfillment.testing.events import Json

__all__ = ["ChargeTruth", "History", "LineTruth", "doc_id"]


@attrs.frozen
class LineTruth:
    """What a valid history says of one DR order line.

    ``shipped`` and ``cancelled``: the units DR must end up told were fulfilled and
    cancelled. ``fo_line``: the fulfillment-order line holding it (``None`` for lines
    reported by the merchant: third-party model, digital lines), which decides how it
    is returned. ``return_requested``: units the merchant asked to return (the return
    calls must cover exactly these); ``returned``: units DR accepted back;
    ``refund_requested``: units the integration must refund with ``POST /refunds``
    (accepted fulfillment-return units; DR refunds third-party returns itself).
    """

    order_id: str
    item_id: str
    quantity: int
    physical: bool
    shipped: int
    cancelled: int
    fo_line: str | None = None
    return_requested: int = 0
    returned: int = 0
    refund_requested: int = 0


@attrs.frozen
class ChargeTruth:
    """What a valid history says of one charge: its amount and the money it moved.

    ``captured``, ``cancelled`` and ``refunded`` sum the *completed* operations;
    ``state`` is the charge's last state; ``failed_captures`` the ids of its captures
    that failed (each owed exactly one ``HandleCaptureFailure``).
    """

    order_id: str
    charge_id: str
    amount: Decimal
    state: str
    captured: Decimal
    cancelled: Decimal
    refunded: Decimal
    failed_captures: tuple[str, ...] = ()


@attrs.frozen
class History:
    """A valid history: inputs in causal order, redeliveries, the truth, and the order rules.

    ``after`` maps a merchant request id to the ids it must be delivered after;
    ``before`` to the ids it must be delivered before. ``accepted_returns``: the
    third-party returns the merchant accepts (one ``POST /returns/{id}`` each).
    """

    model: IntegrationModel
    events: tuple[Json, ...]
    aliases: tuple[Json, ...]
    lines: tuple[LineTruth, ...]
    after: tuple[tuple[str, tuple[str, ...]], ...] = ()
    before: tuple[tuple[str, tuple[str, ...]], ...] = ()
    charges: tuple[ChargeTruth, ...] = ()
    accepted_returns: tuple[str, ...] = ()

    def line(self, order_id: str, item_id: str) -> LineTruth:
        """The truth of one line."""
        return next(
            ln for ln in self.lines if (ln.order_id, ln.item_id) == (order_id, item_id)
        )

    @property
    def failed_captures(self) -> tuple[str, ...]:
        """Every capture that fails, over all charges."""
        return tuple(c for ch in self.charges for c in ch.failed_captures)


def doc_id(doc: Json) -> str:
    """The id a document is deduplicated by (event id or request id)."""
    return str(doc["id"])
