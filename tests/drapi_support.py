"""Sample API commands and helpers for the DR API client's tests (test code only).

The commands target the order the tests seed in :class:`fakedr.FakeDr` (``1001``,
line ``5001``); :func:`make` builds a client of a fake with short timeouts, recorded
sleeps and ``jitter`` fixed at 1, so backoff delays are exact.
"""

from __future__ import annotations

from typing import Any

from drfulfillment.adapters.drapi import DrClient
from drfulfillment.domain.commands import (
    CancellationItem,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentOrder,
    CreateFulfillmentReturn,
    CreateRefund,
    CreateReturn,
    FulfillmentItem,
    FulfillmentOrderItem,
    ReturnItem,
    UpdateReturn,
)
from drfulfillment.domain.inputs import Address, Party, RequestedUnits, Tracking
from drfulfillment.domain.ports import SendStatus
from fakedr import FakeDr

Json = dict[str, Any]

SECRET = "sk_test_fake"
ORDER = "1001"
ITEM = "5001"


def capture(
    key: str = "fulfillment:shipment:S1", quantity: int = 1, shipment: str = "S1"
) -> CreateFulfillment:
    """A capture of ``quantity`` units with tracking."""
    return CreateFulfillment(
        key=key,
        order_id=ORDER,
        shipment_id=shipment,
        items=(FulfillmentItem(item_id=ITEM, quantity=quantity),),
        tracking=Tracking(company="Fedex", number="Z-BODY-ONLY"),
    )


def cancel(key: str = "fulfillment:cancel:1") -> CreateFulfillment:
    """A bare cancel of one unit (no shipment id)."""
    return CreateFulfillment(
        key=key,
        order_id=ORDER,
        items=(FulfillmentItem(item_id=ITEM, cancel_quantity=1),),
    )


def fulfillment_order() -> CreateFulfillmentOrder:
    """A minimal ``POST /fulfillment-orders``."""
    return CreateFulfillmentOrder(
        key=f"fulfillment-order:{ORDER}",
        order_id=ORDER,
        currency="USD",
        upstream_order_time="2021-11-01T18:23:02Z",
        ship_to=Party(address=Address(country="US")),
        shipping_choice_id="SG",
        items=(
            FulfillmentOrderItem(upstream_id=ITEM, inventory_item_id="inv", quantity=1),
        ),
    )


def fo_cancellation() -> CreateFulfillmentCancellation:
    """A minimal ``POST /fulfillment-cancellations``."""
    item = CancellationItem(
        fulfillment_order_item_id="l1",
        fulfillment_order_item_upstream_id=ITEM,
        quantity=1,
    )
    return CreateFulfillmentCancellation(
        key="fc:1", fulfillment_order_id="fo1", order_id=ORDER, items=(item,)
    )


def fo_return() -> CreateFulfillmentReturn:
    """A minimal ``POST /fulfillment-returns``."""
    item = ReturnItem(fulfillment_order_item_id="l1", quantity=1)
    return CreateFulfillmentReturn(
        key="fr:1", fulfillment_order_id="fo1", order_id=ORDER, items=(item,)
    )


def third_party_return(key: str = "return:req-1") -> CreateReturn:
    """A ``POST /returns`` of one unit."""
    return CreateReturn(
        key=key, order_id=ORDER, items=(RequestedUnits(item_id=ITEM, quantity=1),)
    )


def refund() -> CreateRefund:
    """A ``POST /refunds`` of one unit."""
    return CreateRefund(
        key="refund:r1",
        order_id=ORDER,
        currency="USD",
        items=(RequestedUnits(item_id=ITEM, quantity=1),),
    )


def accept(return_id: str, *, items: bool = False) -> UpdateReturn:
    """``POST /returns/{id}``: accept it whole, or its one item."""
    units = (RequestedUnits(item_id=ITEM, quantity=1),) if items else ()
    return UpdateReturn(
        key=f"return-accept:{return_id}",
        order_id=ORDER,
        return_id=return_id,
        items=units,
    )


class Sleeps(list[float]):
    """A ``sleep`` that only records."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(dr: FakeDr, sleeps: Sleeps, **options: Any) -> DrClient:
    """A client of ``dr`` with short timeouts, recorded sleeps and jitter 1."""
    settings: dict[str, Any] = {
        "secret_key": SECRET,
        "base_url": dr.url,
        "timeout": 0.3,
        "sleep": sleeps,
        "jitter": lambda: 1.0,
    }
    return DrClient(**{**settings, **options})


def wire(dr: FakeDr) -> list[tuple[str, str]]:
    """``(method, path)`` of every request the fake received."""
    return [(c.method, c.path) for c in dr.calls]


def posts(dr: FakeDr) -> int:
    """How many POSTs reached the fake."""
    return sum(1 for c in dr.calls if c.method == "POST")


def create_return(client: DrClient) -> str:
    """Capture a unit and open a third-party return of it; the return id."""
    assert client.send(capture()).status is SendStatus.SENT
    made = client.send(third_party_return())
    assert made.response is not None
    return str(made.response["id"])
