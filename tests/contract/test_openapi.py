"""Every request body the engine emits is valid for DR's published OpenAPI (2021-12-13).

The request-body schema of each ``(method, path)`` comes from :mod:`openapi_schema`,
which translates DR's OpenAPI 3.0 to JSON Schema 2020-12 (``$ref`` inlined,
``nullable`` as ``"null"``, ``readOnly`` properties forbidden in requests, formats
checked, objects with ``properties`` closed); the tests here hold the engine's bodies
to it and show the translated schemas can fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from builders import (
    fo_line,
    fulfillment_order,
    fulfillment_return,
    order_event,
    request,
    return_event,
    shipped,
)
from conftest import DR_PAYLOADS, load_payload
from drfulfillment.codecs import (
    command_json,
    fastjson,
    parse_input,
    render_request,
    render_request_json,
)
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
from drfulfillment.domain.errors import MalformedInput
from openapi_schema import request_schema, violations

Json = dict[str, Any]

ORDER_ID = "204440790336"
ITEM_ID = "127911830336"
FO_ID = "5774321009"
FO_LINE = "650398674428"
EXAMPLE = DR_PAYLOADS.parents[2] / "examples" / "distributed.jsonl"


# --- the commands the engine emits ----------------------------------------------------


def _api(commands: tuple[object, ...]) -> list[ApiCommand]:
    return [c for c in commands if isinstance(c, API_COMMANDS)]


API_COMMANDS = (
    CreateFulfillmentOrder,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentReturn,
    CreateReturn,
    UpdateReturn,
    CreateRefund,
)


def _run(model: IntegrationModel, documents: list[Json]) -> list[list[ApiCommand]]:
    """The API commands each document makes the engine emit."""
    engine = Engine(model)
    return [_api(engine.handle(parse_input(d)).commands) for d in documents]


def _fo(event_id: str, event_type: str, created: str, **buckets: int) -> Json:
    return fulfillment_order(
        event_id,
        event_type,
        FO_ID,
        ORDER_ID,
        [fo_line(FO_LINE, ITEM_ID, 2, **buckets)],
        created,
    )


@cache
def scenario_commands() -> dict[str, ApiCommand]:
    """One of every API command the engine emits, from DR-shaped inputs."""
    distributed = _run(
        IntegrationModel.DISTRIBUTED,
        [
            load_payload("event-order.accepted.json"),
            _fo("evt-pending", "fulfillment_order.pending", "2021-11-01T18:30:00Z"),
            shipped(
                "evt-shipped", "S1", FO_ID, ORDER_ID, [("si1", FO_LINE, ITEM_ID, 1)]
            ),
            request(
                "request_cancellation",
                "req-cancel",
                ORDER_ID,
                [(ITEM_ID, 1)],
                reason="requested_by_customer",
            ),
            _fo(
                "evt-cancelled",
                "fulfillment_order.cancelled",
                "2021-11-03T09:00:00Z",
                shipped=1,
                cancelled=1,
            ),
        ],
    )
    third_party = _run(
        IntegrationModel.THIRD_PARTY,
        [
            load_payload("event-order.accepted.json"),
            request(
                "report_shipment",
                "req-ship",
                ORDER_ID,
                [(ITEM_ID, 1)],
                trackingCompany="UPS",
                trackingNumber="1Z999",
                trackingUrl="https://ups.example/1Z999",
            ),
            request("report_cancellation", "req-cancelled", ORDER_ID, [(ITEM_ID, 1)]),
        ],
    )
    returns = _run(
        IntegrationModel.DISTRIBUTED,
        [
            load_payload("event-order.accepted.json"),
            _fo("evt-pending", "fulfillment_order.pending", "2021-11-01T18:30:00Z"),
            shipped(
                "evt-shipped", "S1", FO_ID, ORDER_ID, [("si1", FO_LINE, ITEM_ID, 2)]
            ),
            request("request_return", "req-return", ORDER_ID, [(ITEM_ID, 2)]),
            fulfillment_return(
                "evt-fr", "accepted", "fr_1", FO_ID, ORDER_ID, [(FO_LINE, 2, 1)]
            ),
        ],
    )
    third_party_returns = _run(
        IntegrationModel.THIRD_PARTY,
        [
            load_payload("event-order.accepted.json"),
            request("report_shipment", "req-ship", ORDER_ID, [(ITEM_ID, 2)]),
            request(
                "request_return",
                "req-tp-return",
                ORDER_ID,
                [(ITEM_ID, 2)],
                reason="Incorrect size",
            ),
            return_event("evt-ret-1", "created", "ret_1", ORDER_ID, [(ITEM_ID, 1, 0)]),
            return_event("evt-ret-2", "created", "ret_2", ORDER_ID, [(ITEM_ID, 1, 0)]),
            request("accept_return", "req-accept-1", ORDER_ID, [], returnId="ret_1"),
            request(
                "accept_return",
                "req-accept-2",
                ORDER_ID,
                [(ITEM_ID, 1)],
                returnId="ret_2",
            ),
        ],
    )
    assert [len(cs) for cs in distributed] == [1, 0, 1, 1, 1]
    assert [len(cs) for cs in third_party] == [0, 1, 1]
    assert [len(cs) for cs in returns] == [1, 0, 1, 1, 1]
    assert [len(cs) for cs in third_party_returns] == [0, 1, 1, 0, 0, 1, 1]
    return {
        "fulfillment return": returns[3][0],
        "refund of a fulfillment return": returns[4][0],
        "third-party return": third_party_returns[2][0],
        "accept a whole return": third_party_returns[5][0],
        "accept return items": third_party_returns[6][0],
        "fulfillment order": distributed[0][0],
        "capture with tracking": distributed[2][0],
        "fulfillment cancellation": distributed[3][0],
        "cancel": distributed[4][0],
        "third-party shipment": third_party[1][0],
        "third-party cancellation": third_party[2][0],
    }


FO_BODY: Json = {
    "currency": "USD",
    "locale": "en_US",
    "upstreamOrderTime": "2021-11-01T18:23:02Z",
    "upstreamId": ORDER_ID,
    "reservationId": "0ef63391-ba3e-4c9d-9eb7-4f00cd2c3a39",
    "name": "Chase Marshall",
    "email": "marshallsBillingEmail@digitalriver.com",
    "shipTo": {
        "address": {
            "line1": "1234 Any Road W",
            "city": "Minneapolis",
            "postalCode": "55401",
            "state": "MN",
            "country": "US",
        },
        "name": "Chase Marshall",
    },
    "shippingChoice": {"id": "SG"},
    "items": [
        {
            "upstreamId": ITEM_ID,
            "inventoryItemId": "ed7b06bd-7b2e-4525-9156-cd6fcbe7fe42",
            "quantity": 2,
            "total": 20.0,
            "tax": {"amount": 1.61},
        }
    ],
}

EXPECTED_REQUESTS: dict[str, tuple[str, str, Json]] = {
    "fulfillment return": (
        "POST",
        "/fulfillment-returns",
        {
            "fulfillmentOrderId": FO_ID,
            "upstreamId": ORDER_ID,
            "items": [{"fulfillmentOrderItemId": FO_LINE, "quantity": 2}],
        },
    ),
    "refund of a fulfillment return": (
        "POST",
        "/refunds",
        {
            "orderId": ORDER_ID,
            "currency": "USD",
            "reason": "requested_by_customer",
            "items": [{"itemId": ITEM_ID, "quantity": 1, "percent": 100}],
        },
    ),
    "third-party return": (
        "POST",
        "/returns",
        {
            "orderId": ORDER_ID,
            "reason": "Incorrect size",
            "items": [{"itemId": ITEM_ID, "quantity": 2}],
        },
    ),
    "accept a whole return": ("POST", "/returns/ret_1", {"state": "accepted"}),
    "accept return items": (
        "POST",
        "/returns/ret_2",
        {"items": [{"itemId": ITEM_ID, "quantity": 1, "state": "accepted"}]},
    ),
    "fulfillment order": ("POST", "/fulfillment-orders", FO_BODY),
    "capture with tracking": (
        "POST",
        "/fulfillments",
        {
            "orderId": ORDER_ID,
            "shipmentId": "S1",
            "items": [{"itemId": ITEM_ID, "quantity": 1, "shipmentItemId": "si1"}],
            "trackingCompany": "Fedex",
            "trackingNumber": "Z1",
            "trackingUrl": "http://fedex.example/Z1",
        },
    ),
    "fulfillment cancellation": (
        "POST",
        "/fulfillment-cancellations",
        {
            "fulfillmentOrderId": FO_ID,
            "upstreamId": ORDER_ID,
            "reason": "requested_by_customer",
            "items": [
                {
                    "fulfillmentOrderItemId": FO_LINE,
                    "fulfillmentOrderItemUpstreamId": ITEM_ID,
                    "quantity": 1,
                }
            ],
        },
    ),
    "cancel": (
        "POST",
        "/fulfillments",
        {"orderId": ORDER_ID, "items": [{"itemId": ITEM_ID, "cancelQuantity": 1}]},
    ),
    "third-party shipment": (
        "POST",
        "/fulfillments",
        {
            "orderId": ORDER_ID,
            "items": [{"itemId": ITEM_ID, "quantity": 1}],
            "trackingCompany": "UPS",
            "trackingNumber": "1Z999",
            "trackingUrl": "https://ups.example/1Z999",
        },
    ),
    "third-party cancellation": (
        "POST",
        "/fulfillments",
        {"orderId": ORDER_ID, "items": [{"itemId": ITEM_ID, "cancelQuantity": 1}]},
    ),
}


class TestEmittedRequests:
    """Each API command the engine emits renders to a body DR's schema accepts."""

    def test_every_command_kind_is_covered(self) -> None:
        """The scenarios cover every API command and both POST /fulfillments uses."""
        commands = scenario_commands()
        assert set(commands) == set(EXPECTED_REQUESTS)
        assert {type(c) for c in commands.values()} == set(API_COMMANDS)

    @pytest.mark.parametrize("name", sorted(EXPECTED_REQUESTS))
    def test_rendered_exactly(self, name: str) -> None:
        """The rendered ``(method, path, body)`` is exactly the expected request."""
        assert render_request(scenario_commands()[name]) == EXPECTED_REQUESTS[name]

    @pytest.mark.parametrize("name", sorted(EXPECTED_REQUESTS))
    def test_valid_for_dr_schema(self, name: str) -> None:
        """The rendered body breaks no rule of DR's request-body schema."""
        method, path, body = render_request(scenario_commands()[name])
        assert violations(method, path, body) == []

    @pytest.mark.parametrize("orjson", [True, False], ids=["orjson", "json"])
    @pytest.mark.parametrize("name", sorted(EXPECTED_REQUESTS))
    def test_bytes_sent_are_the_rendered_body(
        self, name: str, orjson: bool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The JSON bytes sent (``render_request_json``) parse back to exactly the
        rendered body, key order included, so they too break no rule of the schema."""
        if not orjson:
            monkeypatch.setattr(fastjson, "orjson", None)
        command = scenario_commands()[name]
        method, path, sent = render_request_json(command)
        expected = EXPECTED_REQUESTS[name]
        assert (method, path) == expected[:2]
        body = json.loads(sent)
        assert list(body.items()) == list(expected[2].items())
        assert violations(method, path, body) == []
        compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        assert sent == compact.encode()

    @pytest.mark.parametrize("name", sorted(EXPECTED_REQUESTS))
    def test_replay_line_carries_the_same_body(self, name: str) -> None:
        """``command_json`` (the CLI's output) carries the rendered request unchanged."""
        command = scenario_commands()[name]
        method, path, body = render_request(command)
        assert command_json(command) == {
            "command": type(command).__name__,
            "method": method,
            "path": path,
            "idempotencyKey": command.key,
            "body": body,
        }

    def test_every_command_of_the_example_replay(self) -> None:
        """Every API command replaying ``examples/distributed.jsonl`` is schema-valid."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        requests: list[tuple[str, str, Json]] = []
        for line in EXAMPLE.read_bytes().splitlines():
            if line.strip():
                outcome = engine.handle(parse_input(line))
                requests += [render_request(c) for c in _api(outcome.commands)]
        assert [(m, p) for (m, p, _) in requests] == [
            ("POST", "/fulfillment-orders"),
            ("POST", "/fulfillments"),
            ("POST", "/fulfillment-cancellations"),
            ("POST", "/fulfillments"),
        ]
        for method, path, body in requests:
            assert violations(method, path, body) == [], body

    def test_every_command_of_the_returns_replay(self) -> None:
        """Every API command replaying ``examples/returns.jsonl`` is schema-valid."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        requests: list[tuple[str, str, Json]] = []
        example = EXAMPLE.parent / "returns.jsonl"
        for line in example.read_bytes().splitlines():
            if line.strip():
                outcome = engine.handle(parse_input(line))
                requests += [render_request(c) for c in _api(outcome.commands)]
        assert [(m, p) for (m, p, _) in requests] == [
            ("POST", "/fulfillment-orders"),
            ("POST", "/fulfillments"),
            ("POST", "/fulfillment-returns"),
            ("POST", "/refunds"),
        ]
        for method, path, body in requests:
            assert violations(method, path, body) == [], body

    @pytest.mark.parametrize(
        "ship_to",
        [{}, {"address": {}}, {"address": {"line1": "1234 Any Road W"}}],
        ids=["empty", "empty address", "address without country"],
    )
    def test_incomplete_ship_to_refused_not_sent(self, ship_to: Json) -> None:
        """An order whose ``shipTo`` DR's schema would reject is refused, not sent on."""
        raw = load_payload("event-order.accepted.json")
        raw["data"]["object"]["shipTo"] = ship_to
        engine = Engine(IntegrationModel.DISTRIBUTED)
        with pytest.raises(MalformedInput) as info:
            engine.handle(parse_input(raw))
        assert info.value.input_id == raw["id"]
        assert (info.value.field or "").startswith("data.object.shipTo")


# --- the validator can fail -----------------------------------------------------------


def _body(name: str) -> Json:
    body: Json = json.loads(json.dumps(render_request(scenario_commands()[name])[2]))
    return body


class TestValidator:
    """The translated schemas reject what DR would reject, so the contract can fail."""

    def test_no_openapi_keywords_left(self) -> None:
        """``$ref``, ``nullable`` and ``readOnly`` are all translated away."""
        for path in (
            "/fulfillments",
            "/fulfillment-orders",
            "/fulfillment-cancellations",
        ):
            text = json.dumps(request_schema("POST", path))
            for keyword in ('"$ref"', '"nullable"', '"readOnly"'):
                assert keyword not in text

    @pytest.mark.parametrize(
        ("name", "edit", "expected"),
        [
            (
                "capture with tracking",
                lambda b: b.pop("orderId"),
                [("$", "'orderId' is a required property")],
            ),
            (
                "capture with tracking",
                lambda b: b["items"][0].update(quantity="1"),
                [("$.items[0].quantity", "'1' is not of type 'integer', 'null'")],
            ),
            (
                "capture with tracking",
                lambda b: b["items"][0].update(skuId="sku-1"),
                [("$.items[0].skuId", "'sku-1' should not be valid under {}")],
            ),
            (
                "capture with tracking",
                lambda b: b.update(orderId=None),
                [("$.orderId", "None is not of type 'string'")],
            ),
            (
                "capture with tracking",
                lambda b: b.update(captureNow=True),
                [
                    (
                        "$",
                        "Additional properties are not allowed ('captureNow' was unexpected)",
                    )
                ],
            ),
            (
                "cancel",
                lambda b: b["items"][0].update(cancelQuantity=1.5),
                [("$.items[0].cancelQuantity", "1.5 is not of type 'integer', 'null'")],
            ),
            (
                "fulfillment order",
                lambda b: b.update(upstreamOrderTime="2021-11-01 18:23"),
                [("$.upstreamOrderTime", "'2021-11-01 18:23' is not a 'date-time'")],
            ),
            (
                "fulfillment order",
                lambda b: b.update(email="no-at-sign"),
                [("$.email", "'no-at-sign' is not a 'email'")],
            ),
            (
                "fulfillment order",
                lambda b: b.update(shippingChoice={}),
                [("$.shippingChoice", "'id' is a required property")],
            ),
            (
                "fulfillment order",
                lambda b: b["shippingChoice"].update(signatureRequiredType="fast"),
                [
                    (
                        "$.shippingChoice.signatureRequiredType",
                        "'fast' is not one of ['standard', 'adult', None]",
                    )
                ],
            ),
            (
                "fulfillment order",
                lambda b: b["shipTo"]["address"].pop("country"),
                [("$.shipTo.address", "'country' is a required property")],
            ),
            (
                "fulfillment order",
                lambda b: b["items"][0].update(tax={}, quantity=None),
                [
                    ("$.items[0].quantity", "None is not of type 'integer'"),
                    ("$.items[0].tax", "'amount' is a required property"),
                ],
            ),
            (
                "fulfillment order",
                lambda b: b["items"][0].update(total=float("inf")),
                [("$.items[0].total", "inf is not a 'double'")],
            ),
            (
                "fulfillment cancellation",
                lambda b: b["items"][0].pop("fulfillmentOrderItemId"),
                [("$.items[0]", "'fulfillmentOrderItemId' is a required property")],
            ),
        ],
        ids=[
            "missing orderId",
            "quantity as string",
            "readOnly skuId sent",
            "null orderId",
            "unknown field",
            "fractional cancelQuantity",
            "non-RFC3339 upstreamOrderTime",
            "bad email",
            "shippingChoice without id",
            "bad signature type",
            "address without country",
            "tax without amount, null quantity",
            "infinite total",
            "cancellation line without FO item id",
        ],
    )
    def test_rejects_a_broken_body(
        self,
        name: str,
        edit: Callable[[Json], object],
        expected: list[tuple[str, str]],
    ) -> None:
        """A body broken in one way is rejected for exactly that reason."""
        method, path, _ = EXPECTED_REQUESTS[name]
        body = _body(name)
        edit(body)
        assert violations(method, path, body) == expected

    def test_nullable_quantity_accepted(self) -> None:
        """``quantity`` is ``nullable`` in ``FulfillmentRequestItem``: null is allowed."""
        body = _body("cancel")
        body["items"][0]["quantity"] = None
        assert violations("POST", "/fulfillments", body) == []

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("request-POST-fulfillments.partial-capture.json", []),
            ("request-POST-fulfillments.cancel.json", []),
            (
                "request-POST-fulfillments.capture.json",
                [("$.items[0].quantity", "'2' is not of type 'integer', 'null'")],
            ),
        ],
    )
    def test_dr_published_request_examples(
        self, name: str, expected: list[tuple[str, str]]
    ) -> None:
        """DR's own examples validate, except the one sending ``"quantity": "2"``."""
        assert violations("POST", "/fulfillments", load_payload(name)) == expected


# --- POST /fulfillment-orders, field by field -----------------------------------------


def _fulfillment_order_body(order_doc: Json) -> Json:
    """The body of the one ``POST /fulfillment-orders`` an accepted order causes."""
    (commands,) = _run(IntegrationModel.DISTRIBUTED, [order_doc])
    assert [type(c) for c in commands] == [CreateFulfillmentOrder]
    method, path, body = render_request(commands[0])
    assert (method, path) == ("POST", "/fulfillment-orders")
    assert violations(method, path, body) == []
    return body


class TestFulfillmentOrderMapping:
    """``POST /fulfillment-orders`` follows DR's order-to-FO table (reference §1)."""

    def test_real_order_accepted(self) -> None:
        """Each field of the body comes from the order field DR's table names."""
        raw = load_payload("event-order.accepted.json")
        o = raw["data"]["object"]
        body = _fulfillment_order_body(raw)
        assert body["currency"] == o["currency"]
        assert body["upstreamOrderTime"] == o["createdTime"]
        assert body["shipTo"] == o["shipTo"]
        assert body["shippingChoice"] == {"id": o["shippingChoice"]["serviceLevel"]}
        assert body["items"] == [
            {
                "upstreamId": i["id"],
                "inventoryItemId": i["skuId"],
                "quantity": i["quantity"],
                "total": i["amount"],
                "tax": {"amount": i["tax"]["amount"]},
            }
            for i in o["items"]
        ]
        assert body["upstreamId"] == o["id"]
        assert body["locale"] == o["locale"]
        assert body["reservationId"] == o["checkoutId"]
        assert body["name"] == o["shipTo"]["name"]
        assert "email" not in o["shipTo"]
        assert body["email"] == o["billTo"]["email"]
        assert "phone" not in body
        assert body == FO_BODY

    def test_upstream_order_time_unmodified(self) -> None:
        """``upstreamOrderTime`` is the order's ``createdTime`` as DR wrote it."""
        raw = load_payload("event-order.accepted.json")
        raw["data"]["object"]["createdTime"] = "2021-11-01T20:23:02.5+02:00"
        body = _fulfillment_order_body(raw)
        assert body["upstreamOrderTime"] == "2021-11-01T20:23:02.5+02:00"

    @pytest.mark.parametrize(
        ("ship_to", "bill_to", "expected"),
        [
            (
                {"name": "S Name", "email": "s@example.com", "phone": "111"},
                {"name": "B Name", "email": "b@example.com", "phone": "222"},
                {"name": "S Name", "email": "s@example.com", "phone": "111"},
            ),
            (
                {},
                {"name": "B Name", "email": "b@example.com", "phone": "222"},
                {"name": "B Name", "email": "b@example.com", "phone": "222"},
            ),
            (
                {"phone": "111"},
                {"name": "B Name", "email": "b@example.com"},
                {"name": "B Name", "email": "b@example.com", "phone": "111"},
            ),
        ],
        ids=["all from shipTo", "all from billTo", "mixed"],
    )
    def test_contact_from_ship_to_else_bill_to(
        self, ship_to: Json, bill_to: Json, expected: Json
    ) -> None:
        """``name``, ``email`` and ``phone`` come from ``shipTo``, else ``billTo``."""
        raw = load_payload("event-order.accepted.json")
        o = raw["data"]["object"]
        o["shipTo"] = {"address": o["shipTo"]["address"], **ship_to}
        o["billTo"] = {"address": o["billTo"]["address"], **bill_to}
        body = _fulfillment_order_body(raw)
        assert {k: body.get(k) for k in ("name", "email", "phone")} == expected
        assert body["shipTo"] == o["shipTo"]

    def test_physical_lines_only_in_order(self) -> None:
        """Each physical line maps to one FO line; a digital line is left out."""
        raw = order_event(
            "evt-acc",
            "accepted",
            "2021-11-01T18:23:06Z",
            items=(("111", 2, True), ("222", 1, False), ("333", 3, True)),
        )
        body = _fulfillment_order_body(raw)
        assert body["items"] == [
            {
                "upstreamId": item_id,
                "inventoryItemId": f"sku-{item_id}",
                "quantity": quantity,
                "total": 20.0,
                "tax": {"amount": 1.61},
            }
            for item_id, quantity in (("111", 2), ("333", 3))
        ]
