"""The engine's event-to-command table: what each input may make it emit, per model.

The engine emits level-triggered (:mod:`.reconcile`): after any input it sends what DR
is owed. This table states, per integration model, which commands each DR event or
merchant request can lead to, and when. It is the engine's contract, not a comment: a
property test replays generated histories and fails on any command an input causes
that its row does not list, and a scenario test makes every row happen. The flow
diagrams (``drfulfillment diagrams``) and the docs' tables are drawn from it.
"""

from __future__ import annotations

from typing import Final

import attrs

from drfulfillment.domain.state import IntegrationModel

__all__ = ["FLOWS", "Flow"]


@attrs.frozen
class Flow:
    """One row: ``trigger`` (a DR event type or merchant request) may emit ``commands``.

    A trigger ending in ``.*`` stands for every event type with that prefix.
    """

    trigger: str
    source: str
    """``"DR"`` for a webhook event, ``"merchant"`` for a merchant request."""
    commands: tuple[str, ...]
    when: str


_DR, _MERCHANT = "DR", "merchant"

_RETURNS = ("CreateFulfillmentReturn", "CreateRefund", "CreateReturn", "UpdateReturn")
_HELD = {
    IntegrationModel.DISTRIBUTED: (
        "CreateFulfillmentOrder",
        "CreateFulfillment",
        *_RETURNS,
    ),
    IntegrationModel.ORCHESTRATED: _RETURNS,
    IntegrationModel.THIRD_PARTY: ("CreateFulfillment", "CreateReturn", "UpdateReturn"),
}


def _resolved(model: IntegrationModel) -> Flow:
    return Flow(
        "order.dispute.resolved",
        _DR,
        _HELD[model],
        "what was held while the order was in dispute is sent now, once",
    )


def _closing(model: IntegrationModel) -> tuple[Flow, ...]:
    """Closing events DR sends only once every line was reported: if one arrives
    first, the engine reports what it still owes so that the order can close; once it
    applies, returns held until then are sent."""
    held = tuple(c for c in _HELD[model] if c != "CreateFulfillmentOrder")
    note = (
        "once it applies, send returns held until then"
        if model is IntegrationModel.ORCHESTRATED
        else "DR is ahead (delivered early): report what is still owed; then send "
        "held returns"
    )
    return tuple(
        Flow(
            event,
            _DR,
            held,
            note,
        )
        for event in (
            "order.fulfilled",
            "order.complete",
            "order.cancelled",
            "order.refunded",
        )
    )


_COMMON_ORDER: tuple[Flow, ...] = (
    Flow(
        "order.*",
        _DR,
        ("HandleCaptureFailure",),
        "a charge (order.charge.* or an order's payment.charges) shows a capture failed:"
        " DR advises stopping the shipment and contacting the customer",
    ),
)

_DR_COORDINATED_RETURNS: tuple[Flow, ...] = (
    Flow(
        "request_return",
        _MERCHANT,
        ("CreateFulfillmentReturn", "CreateReturn"),
        "shipped units go back through the fulfiller; other lines through the Returns API",
    ),
    Flow(
        "fulfillment_return.accepted",
        _DR,
        ("CreateRefund",),
        "the warehouse received the goods: refund the accepted units, once",
    ),
    Flow(
        "accept_return",
        _MERCHANT,
        ("UpdateReturn",),
        "accept a Returns-API return (digital lines); DR refunds it",
    ),
)

#: Rows the two DR-coordinated models share word for word.
_BACKORDERED = Flow(
    "fulfillment_order.backordered",
    _DR,
    ("NotifyCustomerOfBackorder",),
    "the backordered total rose",
)
_REQUEST_CANCELLATION = Flow(
    "request_cancellation",
    _MERCHANT,
    ("CreateFulfillmentCancellation",),
    "ask the fulfiller to cancel pending or backordered units",
)
_CANCELLATION_REJECTED = Flow(
    "fulfillment_cancellation.rejected",
    _DR,
    ("NotifyCustomerOfRejectedCancellation",),
    "the fulfiller refused; DR suggests a return or refund",
)

FLOWS: Final[dict[IntegrationModel, tuple[Flow, ...]]] = {
    IntegrationModel.DISTRIBUTED: (
        Flow(
            "order.accepted",
            _DR,
            _HELD[IntegrationModel.DISTRIBUTED],
            "create the fulfillment order for the physical lines; send anything held",
        ),
        _BACKORDERED,
        Flow(
            "fulfillment_order.shipped",
            _DR,
            ("NotifyCustomerOfShipment", "CreateFulfillment"),
            "capture the shipment, once",
        ),
        _REQUEST_CANCELLATION,
        Flow(
            "fulfillment_cancellation.accepted",
            _DR,
            ("NotifyCustomerOfCancellation", "CreateFulfillment"),
            "cancel the newly cancelled units' payment (the delta)",
        ),
        _CANCELLATION_REJECTED,
        Flow(
            "fulfillment_order.cancelled",
            _DR,
            ("NotifyCustomerOfCancellation", "CreateFulfillment"),
            "the fulfiller cancelled units: cancel their payment (the delta)",
        ),
        Flow(
            "report_shipment",
            _MERCHANT,
            ("CreateFulfillment",),
            "digital lines: capture what the merchant delivered",
        ),
        Flow(
            "report_cancellation",
            _MERCHANT,
            ("CreateFulfillment",),
            "digital lines: cancel what the merchant will not deliver",
        ),
        *_closing(IntegrationModel.DISTRIBUTED),
        *_DR_COORDINATED_RETURNS,
        _resolved(IntegrationModel.DISTRIBUTED),
        *_COMMON_ORDER,
    ),
    IntegrationModel.ORCHESTRATED: (
        Flow(
            "order.accepted",
            _DR,
            _HELD[IntegrationModel.ORCHESTRATED],
            "send returns asked for before the order was accepted",
        ),
        *_closing(IntegrationModel.ORCHESTRATED),
        _BACKORDERED,
        Flow(
            "fulfillment_order.shipped",
            _DR,
            ("NotifyCustomerOfShipment",),
            "DR captures itself; the customer is told",
        ),
        _REQUEST_CANCELLATION,
        Flow(
            "fulfillment_cancellation.accepted",
            _DR,
            ("NotifyCustomerOfCancellation",),
            "DR cancels the payment itself; the customer is told",
        ),
        _CANCELLATION_REJECTED,
        Flow(
            "fulfillment_order.cancelled",
            _DR,
            ("NotifyCustomerOfCancellation",),
            "DR cancels the payment itself; the customer is told",
        ),
        *_DR_COORDINATED_RETURNS,
        _resolved(IntegrationModel.ORCHESTRATED),
        *_COMMON_ORDER,
    ),
    IntegrationModel.THIRD_PARTY: (
        Flow(
            "report_shipment",
            _MERCHANT,
            ("CreateFulfillment",),
            "capture what the merchant's fulfiller shipped (once the order is accepted)",
        ),
        Flow(
            "report_cancellation",
            _MERCHANT,
            ("CreateFulfillment",),
            "cancel what the merchant's fulfiller will not ship",
        ),
        Flow(
            "order.accepted",
            _DR,
            _HELD[IntegrationModel.THIRD_PARTY],
            "send reports and returns made before the order was accepted",
        ),
        Flow(
            "request_return",
            _MERCHANT,
            ("CreateReturn",),
            "return fulfilled units through the Returns API",
        ),
        Flow(
            "accept_return",
            _MERCHANT,
            ("UpdateReturn",),
            "accept the return (whole or per item); DR refunds it",
        ),
        *_closing(IntegrationModel.THIRD_PARTY),
        _resolved(IntegrationModel.THIRD_PARTY),
        *_COMMON_ORDER,
    ),
}
