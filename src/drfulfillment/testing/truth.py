"""What a generated history is: its inputs, its delivery rules, and the truth per line."""

from __future__ import annotations

import attrs

from drfulfillment.domain.state import IntegrationModel
from drfulfillment.testing.events import Json

__all__ = ["History", "LineTruth", "doc_id"]


@attrs.frozen
class LineTruth:
    """What a valid history says of one DR order line."""

    order_id: str
    item_id: str
    quantity: int
    physical: bool
    shipped: int
    cancelled: int


@attrs.frozen
class History:
    """A valid history: inputs in causal order, redeliveries, the truth, and the order rules.

    ``after`` maps a merchant request id to the ids it must be delivered after;
    ``before`` to the ids it must be delivered before.
    """

    model: IntegrationModel
    events: tuple[Json, ...]
    aliases: tuple[Json, ...]
    lines: tuple[LineTruth, ...]
    after: tuple[tuple[str, tuple[str, ...]], ...] = ()
    before: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def line(self, order_id: str, item_id: str) -> LineTruth:
        """The truth of one line."""
        return next(
            ln for ln in self.lines if (ln.order_id, ln.item_id) == (order_id, item_id)
        )


def doc_id(doc: Json) -> str:
    """The id a document is deduplicated by (event id or request id)."""
    return str(doc["id"])
