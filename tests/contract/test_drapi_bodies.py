"""Every body the DR API client sends is valid for DR's published OpenAPI (2021-12-13).

The client (:func:`drfulfillment.adapters.drapi.request_for`) adds
``metadata.drfulfillmentKey`` to some bodies; one engine-emitted command of each of
the seven API kinds is rendered through it and validated with :mod:`openapi_schema`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from builders import (
    fo_line,
    fulfillment_order,
    fulfillment_return,
    request,
    return_event,
    shipped,
)
from conftest import load_payload
from drfulfillment.adapters.drapi import METADATA_KEY, request_for
from drfulfillment.codecs import parse_input, render_request
from drfulfillment.domain import Engine, IntegrationModel
from drfulfillment.domain.commands import (
    ApiCommand,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentOrder,
    CreateFulfillmentReturn,
    CreateRefund,
    CreateReturn,
    UpdateReturn,
)
from openapi_schema import violations

Json = dict[str, Any]

ORDER_ID = "204440790336"
ITEM_ID = "127911830336"
FO_ID = "5774321009"
FO_LINE = "650398674428"

#: The paths whose bodies carry the command's key in ``metadata``.
WITH_METADATA = {"/fulfillments", "/returns", "/refunds"}

API_COMMANDS = (
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentOrder,
    CreateFulfillmentReturn,
    CreateRefund,
    CreateReturn,
    UpdateReturn,
)


def _commands(model: IntegrationModel, documents: list[Json]) -> list[ApiCommand]:
    engine = Engine(model)
    return [
        command
        for document in documents
        for command in engine.handle(parse_input(document)).commands
        if isinstance(command, API_COMMANDS)
    ]


def _pending() -> Json:
    return fulfillment_order(
        "evt-pending",
        "fulfillment_order.pending",
        FO_ID,
        ORDER_ID,
        [fo_line(FO_LINE, ITEM_ID, 2)],
        "2021-11-01T18:30:00Z",
    )


@cache
def one_of_each() -> dict[str, ApiCommand]:
    """One engine-emitted command of each API kind, by class name."""
    accepted = load_payload("event-order.accepted.json")
    distributed = _commands(
        IntegrationModel.DISTRIBUTED,
        [
            accepted,
            _pending(),
            shipped(
                "evt-shipped", "S1", FO_ID, ORDER_ID, [("si1", FO_LINE, ITEM_ID, 1)]
            ),
            request("request_cancellation", "req-cancel", ORDER_ID, [(ITEM_ID, 1)]),
            request("request_return", "req-return", ORDER_ID, [(ITEM_ID, 1)]),
            fulfillment_return(
                "evt-fr", "accepted", "fr_1", FO_ID, ORDER_ID, [(FO_LINE, 1, 1)]
            ),
        ],
    )
    third_party = _commands(
        IntegrationModel.THIRD_PARTY,
        [
            accepted,
            request("report_shipment", "req-ship", ORDER_ID, [(ITEM_ID, 2)]),
            request("request_return", "req-tp-return", ORDER_ID, [(ITEM_ID, 2)]),
            return_event("evt-ret", "created", "ret_1", ORDER_ID, [(ITEM_ID, 2, 0)]),
            request("accept_return", "req-accept", ORDER_ID, [], returnId="ret_1"),
        ],
    )
    by_kind: dict[str, ApiCommand] = {}
    for command in distributed + third_party:
        by_kind.setdefault(type(command).__name__, command)
    return by_kind


KINDS = [kind.__name__ for kind in API_COMMANDS]


def test_scenarios_cover_every_kind() -> None:
    """The scenarios above yield a command of each of the seven API kinds."""
    assert sorted(one_of_each()) == KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_client_body_valid_for_dr_schema(kind: str) -> None:
    """The body the client sends breaks no rule of DR's request schema."""
    method, path, body = request_for(one_of_each()[kind])
    assert violations(method, path, body) == []


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_only_where_dr_lists(kind: str) -> None:
    """Only listable resources get the key; otherwise the body is the engine's own."""
    command = one_of_each()[kind]
    method, path, body = request_for(command)
    rendered = render_request(command)
    assert (method, path) == rendered[:2]
    if path in WITH_METADATA:
        assert body == {**rendered[2], "metadata": {METADATA_KEY: command.key}}
    else:
        assert body == rendered[2]


@pytest.mark.parametrize(
    "kind",
    ["CreateFulfillmentOrder", "CreateFulfillmentCancellation", "UpdateReturn"],
)
def test_metadata_would_be_refused_or_useless_elsewhere(kind: str) -> None:
    """Fulfillment orders and cancellations take no metadata: DR's schema says so."""
    method, path, body = request_for(one_of_each()[kind])
    with_key = {**body, "metadata": {METADATA_KEY: "k"}}
    found = violations(method, path, with_key)
    if kind == "UpdateReturn":
        # Allowed, but POST /returns/{id} is reconciled by GET /returns/{id} instead.
        assert found == []
    else:
        assert found == [
            ("$", "Additional properties are not allowed ('metadata' was unexpected)")
        ]
