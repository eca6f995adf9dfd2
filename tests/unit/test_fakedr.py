"""The fake DR server itself: DR's rules, its records, and its scripted faults.

Driven over real loopback sockets with the stdlib ``http.client``, so the fake is
checked independently of the client it exists to test.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import load_payload
from fakedr import FakeDr
from openapi_schema import component

Json = dict[str, Any]

SECRET = "sk_test_fake"
ORDER = "1001"
ITEM = "5001"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def call(
    dr: FakeDr,
    method: str,
    path: str,
    body: object = None,
    *,
    auth: str | None = f"Bearer {SECRET}",
    raw: bytes | None = None,
) -> tuple[int, Json, dict[str, str]]:
    """``(status, JSON body, headers)`` of one request to the fake."""
    host, port = dr.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=3)
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    data = raw if raw is not None else None if body is None else json.dumps(body)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = json.loads(response.read())
        return response.status, payload, dict(response.getheaders())
    finally:
        connection.close()


def capture(quantity: int = 1, **extra: Any) -> Json:
    """A ``POST /fulfillments`` body for the seeded order."""
    items = [{"itemId": ITEM, "quantity": quantity}]
    return {"orderId": ORDER, "items": items, **extra}


FO_LINES = [{"fulfillmentOrderItemId": "l1", "quantity": 1}]
FULFILLER_BODIES: dict[str, Json] = {
    "/fulfillment-orders": {
        "currency": "USD",
        "upstreamOrderTime": "2021-11-01T18:23:02Z",
        "shipTo": {"address": {"country": "US"}},
        "shippingChoice": {"id": "SG"},
        "items": [{"upstreamId": ITEM, "inventoryItemId": "inv", "quantity": 1}],
    },
    "/fulfillment-cancellations": {"fulfillmentOrderId": "fo1", "items": FO_LINES},
    "/fulfillment-returns": {"fulfillmentOrderId": "fo1", "items": FO_LINES},
}


@pytest.fixture
def dr() -> Iterator[FakeDr]:
    """A running fake with order ``1001``: one line ``5001`` of 3 units."""
    with FakeDr() as fake:
        fake.add_order(ORDER, {ITEM: 3})
        yield fake


class TestAuth:
    """Only the bearer secret the fake was built with is accepted."""

    def test_refused_without_the_bearer_secret(self) -> None:
        """401 in DR's envelope and no effect, unless ``Bearer <secret>``."""
        with FakeDr(secret="sk_other") as fake:
            fake.add_order(ORDER, {ITEM: 1})
            for auth in (None, f"Bearer {SECRET}", "sk_other", "Basic c2tfb3RoZXI6"):
                status, body, _ = call(
                    fake, "POST", "/fulfillments", capture(), auth=auth
                )
                assert (status, body["type"]) == (401, "unauthorized")
                assert body["errors"][0]["code"] == "unauthorized"
            assert fake.effects == []
            ok = call(fake, "POST", "/fulfillments", capture(), auth="Bearer sk_other")
            assert ok[0] == 201


class TestFulfillments:
    """``POST /fulfillments`` and its lists, by DR's rules."""

    def test_created(self, dr: FakeDr) -> None:
        """201 with a ``Fulfillment``: id, time, lines, metadata and tracking echoed."""
        body = capture(2, shipmentId="S1", trackingNumber="Z1", metadata={"k": "k1"})
        status, made, _ = call(dr, "POST", "/fulfillments", body)
        assert status == 201
        assert re.fullmatch(r"ful_[0-9a-f-]{36}", made["id"])
        assert RFC3339.fullmatch(made["createdTime"])
        assert (made["orderId"], made["shipmentId"]) == (ORDER, "S1")
        assert (made["trackingNumber"], made["metadata"]) == ("Z1", {"k": "k1"})
        assert [
            (i["itemId"], i["quantity"], i["cancelQuantity"]) for i in made["items"]
        ] == [(ITEM, 2, 0)]
        assert set(made) <= set(component("Fulfillment")["properties"])
        item_fields = component("FulfillmentResponseItem")["properties"]
        assert set(made["items"][0]) <= set(item_fields)
        assert [(e.method, e.path, e.status, e.resource) for e in dr.effects] == [
            ("POST", "/fulfillments", 201, made)
        ]
        assert call(dr, "GET", f"/fulfillments/{made['id']}")[:2] == (200, made)
        assert dr.order(ORDER).fulfilled[ITEM] == 2

    def test_unknown_order_and_id(self, dr: FakeDr) -> None:
        """An unknown order or fulfillment id is 404 ``not_found``."""
        status, body, _ = call(
            dr, "POST", "/fulfillments", {**capture(), "orderId": "9"}
        )
        assert (status, body["errors"][0]["code"]) == (404, "not_found")
        status, body, _ = call(dr, "GET", "/fulfillments/ful_nope")
        assert (status, body["type"]) == (404, "not_found")
        assert dr.effects == []

    def test_dispute_is_dr_published_409(self) -> None:
        """During a dispute: exactly DR's published ``order_not_submitted`` answer."""
        expected = load_payload("error-409-POST-fulfillments-during-dispute.json")
        with FakeDr() as fake:
            fake.add_order("1002363590082", {ITEM: 1}, state="dispute")
            body = {**capture(), "orderId": "1002363590082"}
            assert call(fake, "POST", "/fulfillments", body)[:2] == (409, expected)
            fake.set_order_state("1002363590082", "accepted")
            assert call(fake, "POST", "/fulfillments", body)[0] == 201

    def test_fulfilled_is_dr_published_409(self) -> None:
        """Once every unit is fulfilled or cancelled: exactly DR's ``order_fulfilled``."""
        expected = load_payload("error-409-POST-fulfillments-order_fulfilled.json")
        oid = "201454110336"
        with FakeDr() as fake:
            fake.add_order(oid, {"a": 2, "b": 1})
            items = [
                {"itemId": "a", "quantity": 1, "cancelQuantity": 1},
                {"itemId": "b", "cancelQuantity": 1},
            ]
            assert (
                call(fake, "POST", "/fulfillments", {"orderId": oid, "items": items})[0]
                == 201
            )
            assert fake.order(oid).state == "fulfilled"
            again = {"orderId": oid, "items": [{"itemId": "a", "quantity": 1}]}
            assert call(fake, "POST", "/fulfillments", again)[:2] == (409, expected)
            assert len(fake.effects) == 1

    def test_fulfilled_state_set_by_hand(self, dr: FakeDr) -> None:
        """An order set to ``complete`` refuses like a fulfilled one."""
        dr.set_order_state(ORDER, "complete")
        status, body, _ = call(dr, "POST", "/fulfillments", capture())
        assert (status, body["errors"][0]["code"]) == (409, "order_fulfilled")

    @pytest.mark.parametrize(
        "items",
        [
            [{"itemId": ITEM, "quantity": 4}],
            [{"itemId": ITEM, "quantity": 2, "cancelQuantity": 2}],
            [{"itemId": ITEM, "quantity": 2}, {"itemId": ITEM, "cancelQuantity": 2}],
        ],
        ids=["quantity", "quantity plus cancel", "over two lines"],
    )
    def test_over_remaining_is_invalid_quantity(
        self, dr: FakeDr, items: list[Json]
    ) -> None:
        """More than remains (the fake's choice, UNCONFIRMED at DR): 409, no effect."""
        status, body, _ = call(
            dr, "POST", "/fulfillments", {"orderId": ORDER, "items": items}
        )
        assert status == 409
        assert body["errors"][0]["code"] == "invalid_quantity_amount"
        assert dr.effects == []
        assert dr.order(ORDER).remaining(ITEM) == 3

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (
                {"items": [{"itemId": ITEM, "quantity": 1}]},
                [("missing_parameter", "orderId")],
            ),
            (
                capture(captureNow=True),
                [("invalid_parameter", "")],
            ),
            (
                {"orderId": ORDER, "items": [{"itemId": ITEM, "quantity": "1"}]},
                [("invalid_parameter", "items[0].quantity")],
            ),
            (
                {"orderId": ORDER, "items": [{"itemId": ITEM}]},
                [("missing_parameter", "items[0].quantity")],
            ),
            (
                {"orderId": ORDER, "items": [{"itemId": "x", "quantity": 1}]},
                [("invalid_parameter", "items[0].itemId")],
            ),
            (
                capture(metadata={f"k{n}": 1 for n in range(21)}),
                [("invalid_parameter", "metadata")],
            ),
        ],
        ids=[
            "no orderId",
            "unknown field",
            "string quantity",
            "no quantity",
            "foreign item",
            "21 metadata keys",
        ],
    )
    def test_bad_request(
        self, dr: FakeDr, body: Json, expected: list[tuple[str, str]]
    ) -> None:
        """A body DR would refuse is 400 ``bad_request`` naming the parameter."""
        status, answer, _ = call(dr, "POST", "/fulfillments", body)
        assert status == 400
        assert answer["type"] == "bad_request"
        assert [(e["code"], e["parameter"]) for e in answer["errors"]] == expected
        assert dr.effects == []

    def test_not_json(self, dr: FakeDr) -> None:
        """A body that is not JSON is 400, and recorded as text."""
        status, answer, _ = call(dr, "POST", "/fulfillments", raw=b"{nope")
        assert (status, answer["type"]) == (400, "bad_request")
        assert dr.calls[-1].body == "{nope"

    def test_list_pages_newest_first(self, dr: FakeDr) -> None:
        """``limit`` and ``startingAfter`` walk every fulfillment of the order once."""
        dr.add_order("other", {ITEM: 1})
        ids = [call(dr, "POST", "/fulfillments", capture())[1]["id"] for _ in range(3)]
        call(dr, "POST", "/fulfillments", {**capture(), "orderId": "other"})
        seen: list[str] = []
        query = f"/fulfillments?orderId={ORDER}&limit=2"
        while True:
            status, page, _ = call(
                dr, "GET", query + (f"&startingAfter={seen[-1]}" if seen else "")
            )
            assert status == 200
            seen += [f["id"] for f in page["data"]]
            if not page["hasMore"]:
                break
        assert seen == ids[::-1]
        assert call(dr, "GET", "/fulfillments?limit=0")[0] == 400
        assert call(dr, "GET", "/fulfillments?startingAfter=ful_x")[0] == 400
        assert len(call(dr, "GET", "/fulfillments")[1]["data"]) == 4


class TestReturnsAndRefunds:
    """``/returns``, ``/returns/{id}`` and ``/refunds``."""

    def test_return_over_fulfilled_is_dr_published_409(self, dr: FakeDr) -> None:
        """More than fulfilled and not yet returned: DR's ``quantity_too_large``."""
        expected = load_payload("error-409-POST-returns-quantity_too_large.json")
        call(dr, "POST", "/fulfillments", capture(2))
        body: Json = {"orderId": ORDER, "items": [{"itemId": ITEM, "quantity": 3}]}
        assert call(dr, "POST", "/returns", body)[:2] == (409, expected)
        body["items"][0]["quantity"] = 2
        status, made, _ = call(dr, "POST", "/returns", {**body, "metadata": {"k": "v"}})
        assert status == 201
        assert made["id"].startswith("ret_")
        assert (made["state"], made["metadata"]) == ("created", {"k": "v"})
        body["items"][0]["quantity"] = 1
        assert call(dr, "POST", "/returns", body)[:2] == (409, expected)
        page = call(dr, "GET", f"/returns?orderId={ORDER}")[1]
        assert [r["id"] for r in page["data"]] == [made["id"]]

    def test_accept_return(self, dr: FakeDr) -> None:
        """``POST /returns/{id}``: 200, per item then whole; 404 for an unknown id."""
        dr.add_order("o2", {"a": 1, "b": 1})
        lines = [{"itemId": "a", "quantity": 1}, {"itemId": "b", "quantity": 1}]
        call(dr, "POST", "/fulfillments", {"orderId": "o2", "items": lines})
        ret = call(dr, "POST", "/returns", {"orderId": "o2", "items": lines})[1]
        one = {"items": [{"itemId": "a", "quantity": 1, "state": "accepted"}]}
        status, updated, _ = call(dr, "POST", f"/returns/{ret['id']}", one)
        assert (status, updated["state"]) == (200, "created")
        assert [i["state"] for i in updated["items"]] == ["accepted", "created"]
        status, updated, _ = call(
            dr, "POST", f"/returns/{ret['id']}", {"state": "accepted"}
        )
        assert (status, updated["state"]) == (200, "accepted")
        assert call(dr, "GET", f"/returns/{ret['id']}")[1] == updated
        assert call(dr, "POST", "/returns/ret_nope", {"state": "accepted"})[0] == 404
        assert call(dr, "POST", f"/returns/{ret['id']}", {"state": "done"})[0] == 400

    def test_refund(self, dr: FakeDr) -> None:
        """201 with metadata echoed, listed by order; DR's 400 during a dispute."""
        body = {
            "orderId": ORDER,
            "currency": "USD",
            "items": [{"itemId": ITEM, "quantity": 1, "percent": 100}],
            "metadata": {"k": "v"},
        }
        status, made, _ = call(dr, "POST", "/refunds", body)
        assert status == 201
        assert made["id"].startswith("re_")
        assert (made["metadata"], made["orderId"]) == ({"k": "v"}, ORDER)
        assert call(dr, "GET", f"/refunds?orderId={ORDER}")[1]["data"] == [made]
        dr.set_order_state(ORDER, "dispute")
        expected = load_payload("error-400-POST-refunds-during-dispute.json")
        assert call(dr, "POST", "/refunds", body)[:2] == (400, expected)
        assert call(dr, "POST", "/refunds", {"orderId": ORDER})[0] == 400

    @pytest.mark.parametrize("path", sorted(FULFILLER_BODIES))
    def test_fulfiller_requests(self, dr: FakeDr, path: str) -> None:
        """Validated, answered 201, recorded; a broken body is 400."""
        body = FULFILLER_BODIES[path]
        status, made, _ = call(dr, "POST", path, body)
        assert status == 201
        assert made["id"].isdigit()
        assert made["state"] == "created"
        assert dr.resources(path) == [made]
        assert call(dr, "POST", path, {**body, "metadata": {}})[0] == 400
        assert len(dr.effects) == 1


class TestFaults:
    """Scripted faults: consumed in order, per method and path prefix."""

    @pytest.mark.parametrize(
        ("fault", "kind"),
        [
            ("500", "internal_server_error"),
            ("502", "bad_gateway"),
            ("503", "service_unavailable"),
            ("504", "gateway_timeout"),
        ],
    )
    def test_server_errors(self, dr: FakeDr, fault: str, kind: str) -> None:
        """A 5xx in DR's envelope, ``times`` times, then the real answer."""
        dr.inject("POST", "/fulfillments", fault, times=2)
        for _ in range(2):
            status, body, _ = call(dr, "POST", "/fulfillments", capture())
            assert (status, body["type"]) == (int(fault), kind)
        assert call(dr, "POST", "/fulfillments", capture())[0] == 201
        assert len(dr.effects) == 1
        assert len(dr.calls) == 3

    def test_429_with_retry_after(self, dr: FakeDr) -> None:
        """429 ``too_many_requests`` with ``Retry-After`` in seconds."""
        dr.inject("GET", "/fulfillments", "429", retry_after=7)
        status, body, headers = call(dr, "GET", "/fulfillments")
        assert (status, headers["Retry-After"]) == (429, "7")
        assert body["type"] == "too_many_requests"
        assert call(dr, "GET", "/fulfillments")[0] == 200

    def test_fault_matches_method_and_prefix(self, dr: FakeDr) -> None:
        """A GET fault leaves POSTs alone; ``/returns`` also covers ``/returns/{id}``."""
        dr.inject("GET", "/fulfillments", "500")
        dr.inject("GET", "/returns", "503")
        assert call(dr, "POST", "/fulfillments", capture())[0] == 201
        assert call(dr, "GET", "/returns/ret_x")[0] == 503
        assert call(dr, "GET", "/fulfillments/ful_x")[0] == 500
        assert call(dr, "GET", "/fulfillments/ful_x")[0] == 404

    def test_unknown_fault(self, dr: FakeDr) -> None:
        """A misspelt fault is refused at once."""
        with pytest.raises(ValueError, match="unknown fault"):
            dr.inject("POST", "/fulfillments", "timeout")

    @pytest.mark.parametrize(
        ("fault", "effects"), [("drop_before", 0), ("drop_after", 1)]
    )
    def test_drop(self, dr: FakeDr, fault: str, effects: int) -> None:
        """No answer at all; ``drop_after`` took effect, ``drop_before`` did not."""
        dr.inject("POST", "/fulfillments", fault)
        with pytest.raises(http.client.RemoteDisconnected):
            call(dr, "POST", "/fulfillments", capture())
        assert len(dr.effects) == effects
        assert dr.order(ORDER).fulfilled[ITEM] == effects
        assert len(dr.calls) == 1
        assert call(dr, "POST", "/fulfillments", capture())[0] == 201

    def test_slow_blocks_nobody(self, dr: FakeDr) -> None:
        """A slow answer arrives late; other requests are served meanwhile."""
        dr.inject("POST", "/fulfillments", "slow", seconds=0.6)
        outcome: list[int] = []
        slow = threading.Thread(
            target=lambda: outcome.append(
                call(dr, "POST", "/fulfillments", capture())[0]
            )
        )
        started = time.monotonic()
        slow.start()
        time.sleep(0.05)
        assert call(dr, "GET", "/fulfillments")[1]["data"] == []
        assert time.monotonic() - started < 0.5
        slow.join(timeout=3)
        assert outcome == [201]
        assert time.monotonic() - started >= 0.6

    def test_stop_releases_slow_answers(self) -> None:
        """Stopping the fake does not wait out a scripted delay."""
        fake = FakeDr().start()
        fake.add_order(ORDER, {ITEM: 1})
        fake.inject("POST", "/fulfillments", "slow", seconds=30)

        def slow_call() -> None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                call(fake, "POST", "/fulfillments", capture())

        thread = threading.Thread(target=slow_call)
        thread.start()
        while not fake.calls:
            time.sleep(0.01)
        started = time.monotonic()
        fake.stop()
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert time.monotonic() - started < 3


class TestRecords:
    """``calls`` keeps every request as received."""

    def test_call_recorded(self, dr: FakeDr) -> None:
        """Method, path, query, parsed body and lower-cased headers."""
        call(dr, "POST", "/fulfillments", capture())
        call(dr, "GET", f"/fulfillments?orderId={ORDER}&limit=5")
        post, get = dr.calls
        assert (post.method, post.path, post.body) == (
            "POST",
            "/fulfillments",
            capture(),
        )
        assert post.headers["authorization"] == f"Bearer {SECRET}"
        assert (get.method, get.body) == ("GET", None)
        assert get.query == {"orderId": [ORDER], "limit": ["5"]}
