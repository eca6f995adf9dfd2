"""The fake DR's business rules: orders, the resources created against them, DR's errors.

:class:`DrState` answers one already-authenticated request with a :class:`Reply`. It is
not thread-safe: :class:`fakedr.server.FakeDr` calls it under its lock. Every request
body is first validated against DR's OpenAPI request schema (:mod:`openapi_schema`).

Rules DR documents (README §4, §6.3, §8; payloads/):

* ``POST /fulfillments``: unknown order ``404 not_found``; order in ``dispute``
  ``409 order_not_submitted``; order fulfilled (every unit fulfilled or cancelled, or
  state ``fulfilled``/``complete``) ``409 order_fulfilled``; a line with neither
  ``quantity`` nor ``cancelQuantity`` is refused (DR: "it must contain one or the
  other").
* ``POST /returns``: more than fulfilled-and-not-yet-returned units
  ``409 quantity_too_large`` (``items[i].qty``); during a dispute the 409 DR published.
* ``POST /refunds`` during a dispute: the 400 DR published.
* Metadata: at most 20 keys, names up to 40 characters, values up to 500 (DR's spec).
* Lists: newest first, ``limit`` 1..100 (default 10), ``startingAfter`` cursor,
  ``{"hasMore", "data"}``.

The fake's own choices where DR is silent: per line, ``quantity + cancelQuantity``
above what remains is ``409 invalid_quantity_amount`` (the spec's code for an invalid
quantity; UNCONFIRMED that DR answers this); an ``itemId`` not on the order is
``400 invalid_parameter``; schema errors are ``400`` with ``missing_parameter`` (a
required field) or ``invalid_parameter``; a body that is not JSON is ``400
invalid_request_body``; ``POST /returns/{id}`` answers ``200`` (as the spec says), the
other creations ``201``; an item accepted on a return gets ``quantityAccepted`` equal
to the quantity sent.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openapi_schema import has_request_body, schema_errors

__all__ = ["NOT_JSON", "DrState", "Order", "Reply", "dr_error"]

Json = dict[str, Any]

#: The parsed body of a request whose bytes were not JSON.
NOT_JSON: Any = object()

_Handler = Callable[[re.Match[str], dict[str, list[str]], Any], "Reply"]


@dataclass(frozen=True)
class Reply:
    """One answer: status, JSON body and extra headers."""

    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)


def dr_error(
    status: int, kind: str, code: str, message: str, parameter: str | None = None
) -> Reply:
    """DR's error envelope ``{"type", "errors": [{code, parameter, message}]}``."""
    error: Json = {"code": code}
    if parameter is not None:
        error["parameter"] = parameter
    error["message"] = message
    return Reply(status, {"type": kind, "errors": [error]})


@dataclass
class Order:
    """A seeded DR order: its lines and what became of their units."""

    order_id: str
    lines: dict[str, int]
    state: str = "accepted"
    currency: str = "USD"
    fulfilled: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)
    returned: Counter[str] = field(default_factory=Counter)

    def remaining(self, item_id: str) -> int:
        """Units of a line neither fulfilled nor cancelled."""
        done = self.fulfilled[item_id] + self.cancelled[item_id]
        return self.lines.get(item_id, 0) - done

    def is_fulfilled(self) -> bool:
        """DR's ``fulfilled``: nothing left to fulfil or cancel (or said so)."""
        if self.state in ("fulfilled", "complete"):
            return True
        return all(self.remaining(i) <= 0 for i in self.lines)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digits() -> str:
    return str(uuid.uuid4().int)[:10]


def _schema_reply(method: str, path: str, body: object) -> Reply | None:
    """``400`` with DR's envelope if ``body`` breaks DR's request schema."""
    if not has_request_body(method, path):
        return None
    if body is NOT_JSON or not isinstance(body, dict):
        return dr_error(
            400,
            "bad_request",
            "invalid_request_body",
            "The body must be a JSON object.",
        )
    found = schema_errors(method, path, body)
    if not found:
        return None
    errors = []
    for where, keyword, message in found:
        parameter = where[2:] if where.startswith("$.") else where.lstrip("$")
        if keyword == "required":
            name = message.split("'")[1]
            parameter = f"{parameter}.{name}" if parameter else name
        code = "missing_parameter" if keyword == "required" else "invalid_parameter"
        errors.append({"code": code, "parameter": parameter, "message": message})
    return Reply(400, {"type": "bad_request", "errors": errors})


def _metadata_reply(body: Json) -> Reply | None:
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return None
    too_long = any(len(k) > 40 or len(str(v)) > 500 for k, v in metadata.items())
    if len(metadata) > 20 or too_long:
        return dr_error(
            400,
            "bad_request",
            "invalid_parameter",
            "Metadata allows 20 keys of up to 40 characters, values up to 500.",
            "metadata",
        )
    return None


def _with_metadata(resource: Json, body: Json) -> Json:
    if isinstance(body.get("metadata"), dict):
        resource["metadata"] = dict(body["metadata"])
    return resource


class DrState:
    """Orders and the resources created against them, with DR's rules."""

    def __init__(self, page_cap: int = 100) -> None:
        #: The most a list page holds whatever ``limit`` asks (DR's maximum: 100).
        self.page_cap = page_cap
        self.orders: dict[str, Order] = {}
        self.resources: dict[str, list[Json]] = {
            "/fulfillments": [],
            "/fulfillment-orders": [],
            "/fulfillment-cancellations": [],
            "/fulfillment-returns": [],
            "/returns": [],
            "/refunds": [],
        }
        self._routes: list[tuple[str, re.Pattern[str], _Handler]] = [
            ("POST", re.compile(r"/fulfillments"), self._post_fulfillment),
            ("GET", re.compile(r"/fulfillments"), self._list),
            ("GET", re.compile(r"/fulfillments/(?P<id>[^/]+)"), self._get),
            ("POST", re.compile(r"/fulfillment-orders"), self._post_simple),
            ("GET", re.compile(r"/fulfillment-orders"), self._list),
            ("POST", re.compile(r"/fulfillment-cancellations"), self._post_simple),
            ("POST", re.compile(r"/fulfillment-returns"), self._post_simple),
            ("POST", re.compile(r"/returns"), self._post_return),
            ("GET", re.compile(r"/returns"), self._list),
            ("GET", re.compile(r"/returns/(?P<id>[^/]+)"), self._get),
            ("POST", re.compile(r"/returns/(?P<id>[^/]+)"), self._update_return),
            ("POST", re.compile(r"/refunds"), self._post_refund),
            ("GET", re.compile(r"/refunds"), self._list),
        ]

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: object
    ) -> Reply:
        """DR's answer to an authenticated ``method path`` with ``body``."""
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                refused = _schema_reply(method, path, body)
                if refused is None and isinstance(body, dict):
                    refused = _metadata_reply(body)
                return refused or handler(match, query, body)
        return dr_error(404, "not_found", "not_found", f"No route for {method} {path}.")

    # --- lookups ----------------------------------------------------------------------

    def _order(self, order_id: object) -> Order | Reply:
        order = self.orders.get(str(order_id))
        if order is None:
            return dr_error(
                404,
                "not_found",
                "not_found",
                f"Order '{order_id}' not found.",
                "orderId",
            )
        return order

    def _kind(self, match: re.Match[str]) -> str:
        return "/" + match.string.split("/")[1]

    def _find(self, kind: str, resource_id: str) -> Json | None:
        return next((r for r in self.resources[kind] if r["id"] == resource_id), None)

    def _get(self, match: re.Match[str], query: object, body: object) -> Reply:
        kind = self._kind(match)
        found = self._find(kind, match["id"])
        if found is None:
            message = f"Resource '{match['id']}' not found."
            return dr_error(404, "not_found", "not_found", message, "id")
        return Reply(200, found)

    def _list(
        self, match: re.Match[str], query: dict[str, list[str]], _: object
    ) -> Reply:
        items = list(reversed(self.resources[self._kind(match)]))
        if "orderId" in query:
            items = [r for r in items if r.get("orderId") == query["orderId"][0]]
        if "upstreamIds" in query:
            wanted = set(query["upstreamIds"][0].split(","))
            items = [r for r in items if r.get("upstreamId") in wanted]
        raw_limit = query.get("limit", ["10"])[0]
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            message = "limit must be between 1 and 100."
            return dr_error(400, "bad_request", "invalid_parameter", message, "limit")
        limit, start = min(int(raw_limit), self.page_cap), 0
        if "startingAfter" in query:
            ids = [r["id"] for r in items]
            if query["startingAfter"][0] not in ids:
                message = "Unknown startingAfter cursor."
                return dr_error(
                    400, "bad_request", "invalid_parameter", message, "startingAfter"
                )
            start = ids.index(query["startingAfter"][0]) + 1
        data = items[start : start + limit]
        return Reply(200, {"hasMore": start + limit < len(items), "data": data})

    # --- POST /fulfillments -----------------------------------------------------------

    def _post_fulfillment(
        self, match: re.Match[str], query: object, body: Json
    ) -> Reply:
        order = self._order(body["orderId"])
        if isinstance(order, Reply):
            return order
        oid = order.order_id
        if order.state == "dispute":
            message = f"Order '{oid}' has not been submitted."
            return dr_error(409, "conflict", "order_not_submitted", message, "orderId")
        if order.is_fulfilled():
            message = f"Resource '{oid}' is fulfilled."
            return dr_error(409, "conflict", "order_fulfilled", message, "orderId")
        wanted: Counter[str] = Counter()
        for n, item in enumerate(body["items"]):
            quantity = item.get("quantity") or 0
            cancel = item.get("cancelQuantity") or 0
            item_id = item.get("itemId")
            if quantity == 0 and cancel == 0:
                message = "An item needs a quantity or a cancelQuantity."
                return dr_error(
                    400,
                    "bad_request",
                    "missing_parameter",
                    message,
                    f"items[{n}].quantity",
                )
            if item_id not in order.lines:
                message = f"Item '{item_id}' is not on order '{oid}'."
                return dr_error(
                    400,
                    "bad_request",
                    "invalid_parameter",
                    message,
                    f"items[{n}].itemId",
                )
            wanted[item_id] += quantity + cancel
            if wanted[item_id] > order.remaining(item_id):
                message = "The quantity provided in the request was invalid."
                return dr_error(
                    409,
                    "conflict",
                    "invalid_quantity_amount",
                    message,
                    f"items[{n}].quantity",
                )
        items = []
        for item in body["items"]:
            quantity = item.get("quantity") or 0
            cancel = item.get("cancelQuantity") or 0
            order.fulfilled[item["itemId"]] += quantity
            order.cancelled[item["itemId"]] += cancel
            line: Json = {
                "itemId": item["itemId"],
                "skuId": f"sku-{item['itemId']}",
                "quantity": quantity,
                "cancelQuantity": cancel,
            }
            if "shipmentItemId" in item:
                line["shipmentItemId"] = item["shipmentItemId"]
            items.append(line)
        if order.is_fulfilled() and order.state not in ("fulfilled", "complete"):
            order.state = "fulfilled" if sum(order.fulfilled.values()) else "cancelled"
        resource: Json = {
            "id": f"ful_{uuid.uuid4()}",
            "createdTime": _now(),
            "orderId": oid,
            "items": items,
            "liveMode": False,
        }
        for name in ("shipmentId", "trackingCompany", "trackingNumber", "trackingUrl"):
            if name in body:
                resource[name] = body[name]
        return self._created("/fulfillments", _with_metadata(resource, body))

    def _created(self, kind: str, resource: Json, status: int = 201) -> Reply:
        self.resources[kind].append(resource)
        return Reply(status, resource)

    # --- the others -------------------------------------------------------------------

    def _post_simple(self, match: re.Match[str], query: object, body: Json) -> Reply:
        """Fulfillment orders, cancellations and returns: recorded and echoed."""
        kind = self._kind(match)
        resource: Json = {"id": _digits(), "createdTime": _now(), "state": "created"}
        resource.update({k: v for k, v in body.items() if k != "items"})
        resource["items"] = [{"id": _digits(), **item} for item in body["items"]]
        return self._created(kind, resource)

    def _post_return(self, match: re.Match[str], query: object, body: Json) -> Reply:
        order = self._order(body["orderId"])
        if isinstance(order, Reply):
            return order
        if order.state == "dispute":
            message = (
                "A return cannot be performed while there is a dispute on the order."
            )
            return dr_error(409, "conflict", "invalid_parameter", message, "order")
        wanted: Counter[str] = Counter()
        for n, item in enumerate(body["items"]):
            item_id = str(item.get("itemId"))
            wanted[item_id] += item["quantity"]
            if wanted[item_id] > order.fulfilled[item_id] - order.returned[item_id]:
                message = "Return quantity is larger than order quantity"
                return dr_error(
                    409, "conflict", "quantity_too_large", message, f"items[{n}].qty"
                )
        order.returned.update(wanted)
        resource: Json = {
            "id": f"ret_{uuid.uuid4()}",
            "createdTime": _now(),
            "orderId": order.order_id,
            "currency": order.currency,
            "items": [
                {**item, "quantityAccepted": 0, "state": "created"}
                for item in body["items"]
            ],
            "state": "created",
            "livemode": False,
        }
        if "reason" in body:
            resource["reason"] = body["reason"]
        return self._created("/returns", _with_metadata(resource, body))

    def _update_return(self, match: re.Match[str], query: object, body: Json) -> Reply:
        found = self._find("/returns", match["id"])
        if found is None:
            message = f"Return '{match['id']}' not found."
            return dr_error(404, "not_found", "not_found", message, "id")
        lines = {item["itemId"]: item for item in found["items"]}
        for n, item in enumerate(body.get("items", [])):
            line = lines.get(item.get("itemId"))
            if line is None or item["quantity"] > line["quantity"]:
                message = f"Item '{item.get('itemId')}' cannot be accepted so."
                return dr_error(
                    400, "bad_request", "invalid_parameter", message, f"items[{n}]"
                )
        for item in body.get("items", []):
            line = lines[item["itemId"]]
            line.update(quantityAccepted=item["quantity"], state="accepted")
        if body.get("state") == "accepted":
            for line in lines.values():
                line.update(quantityAccepted=line["quantity"], state="accepted")
        if all(line["state"] == "accepted" for line in lines.values()):
            found["state"] = "accepted"
        found["updatedTime"] = _now()
        if isinstance(body.get("metadata"), dict):
            found["metadata"] = {**found.get("metadata", {}), **body["metadata"]}
        return Reply(200, found)

    def _post_refund(self, match: re.Match[str], query: object, body: Json) -> Reply:
        if "orderId" in body:
            order = self._order(body["orderId"])
            if isinstance(order, Reply):
                return order
            if order.state == "dispute":
                message = "A refund cannot be performed while there is a dispute on the order."
                return dr_error(
                    400, "bad_request", "invalid_parameter", message, "order"
                )
        resource: Json = {
            "id": f"re_{uuid.uuid4()}",
            "createdTime": _now(),
            "state": "pending",
            "liveMode": False,
        }
        resource.update({k: v for k, v in body.items() if k != "metadata"})
        return self._created("/refunds", _with_metadata(resource, body))
