"""The codecs: DR event JSON and merchant requests in, versioned state JSON in and out.

Ground truth is DR's own payloads (``tests/fixtures/dr``): every ``event-*.json`` there
is classified below, so a new fixture must be given an expected reading.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest

from builders import (
    backordered,
    cancellation,
    envelope,
    fo_line,
    fulfillment_order,
    request,
    shipped,
)
from conftest import DR_PAYLOADS, load_payload
from drfulfillment.codecs import SCHEMA_VERSION, dump_state, load_state, parse_input
from drfulfillment.codecs.events import normalise_time
from drfulfillment.domain import Engine, IntegrationModel
from drfulfillment.domain.errors import MalformedInput
from drfulfillment.domain.inputs import (
    Address,
    BackorderItem,
    BackorderObserved,
    CancellationItemSnapshot,
    CancellationObserved,
    CancellationSnapshot,
    ChargeObserved,
    EventMeta,
    FulfillmentObserved,
    FulfillmentOrderItemSnapshot,
    FulfillmentOrderObserved,
    FulfillmentOrderSnapshot,
    Input,
    OrderItemSnapshot,
    OrderObserved,
    OrderSnapshot,
    Party,
    RefundObserved,
    ReportCancellation,
    ReportShipment,
    RequestCancellation,
    RequestedUnits,
    ReturnObserved,
    ShipmentItemSnapshot,
    ShipmentObserved,
    ShipmentSnapshot,
    ShippingChoice,
    Tracking,
    UnknownEvent,
)
from drfulfillment.domain.lifecycles import (
    CancellationStatus,
    CaptureStatus,
    ChargeStatus,
    OrderStatus,
    RefundStatus,
    ReturnStatus,
)
from drfulfillment.domain.snapshots import ChargeSnapshot
from drfulfillment.domain.state import OrderState

Json = dict[str, Any]

ORDER_ID = "204440790336"
ITEM_ID = "127911830336"
FO_ID = "5774321009"
FO_LINE = "650398674428"
ACCEPTED_ID = "e5bf7399-49ba-4ea6-a217-65e8efcaee86"
EXAMPLE = DR_PAYLOADS.parents[2] / "examples" / "distributed.jsonl"


def _refused(document: bytes | str | Json) -> MalformedInput:
    """The ``MalformedInput`` that parsing ``document`` raises."""
    with pytest.raises(MalformedInput) as info:
        parse_input(document)
    assert type(info.value) is MalformedInput
    return info.value


def _edited(base: Json, edit: Callable[[Json], object]) -> Json:
    """A deep copy of ``base`` with ``edit`` applied to it."""
    doc = copy.deepcopy(base)
    edit(doc)
    return doc


def _accepted() -> Json:
    return load_payload("event-order.accepted.json")


def _obj(doc: Json) -> Json:
    obj: Json = doc["data"]["object"]
    return obj


def _item(doc: Json) -> Json:
    item: Json = _obj(doc)["items"][0]
    return item


# --- every DR payload -----------------------------------------------------------------

ORDER_FIXTURES: dict[str, OrderStatus] = {
    "event-order.accepted.json": OrderStatus.ACCEPTED,
    "event-order.blocked.json": OrderStatus.BLOCKED,
    "event-order.cancelled.json": OrderStatus.CANCELLED,
    "event-order.complete.json": OrderStatus.COMPLETE,
    "event-order.dispute.json": OrderStatus.DISPUTE,
    "event-order.dispute.resolved.json": OrderStatus.ACCEPTED,
    "event-order.fulfilled.json": OrderStatus.FULFILLED,
    "event-order.pending_payment.json": OrderStatus.PENDING_PAYMENT,
    "event-order.refunded.json": OrderStatus.COMPLETE,
    "event-order.review_opened.json": OrderStatus.IN_REVIEW,
}

UNKNOWN_FIXTURES = (
    "event-checkout_session.order.created.json",
    "event-order.credit_memo.created.json",
    "event-order.invoice.created.json",
)

CHARGE_FIXTURES = (
    "event-order.charge.cancel.complete.example2.json",
    "event-order.charge.cancel.complete.json",
    "event-order.charge.capture.complete.json",
    "event-order.charge.capture.failed.json",
    "event-order.charge.capture.failed.with-fulfillmentId.partial.json",
    "event-order.charge.refund.complete.json",
)

REFUND_FIXTURES: dict[str, RefundStatus] = {
    "event-refund.complete.item-level.json": RefundStatus.SUCCEEDED,
    "event-refund.complete.json": RefundStatus.SUCCEEDED,
    "event-refund.complete.order-level.json": RefundStatus.SUCCEEDED,
    "event-refund.failed.example2.json": RefundStatus.FAILED,
    "event-refund.failed.json": RefundStatus.FAILED,
    # DR's example: a ``refund.pending`` whose refund already reads ``succeeded``; the
    # object's state wins over the event's name.
    "event-refund.pending.from-return-multi-shipment-1.json": RefundStatus.SUCCEEDED,
    "event-refund.pending.from-return-multi-shipment-2.json": RefundStatus.PENDING,
    "event-refund.pending.from-return-single-shipment.json": RefundStatus.PENDING,
    "event-refund.pending.item-level.json": RefundStatus.PENDING,
    "event-refund.pending.json": RefundStatus.PENDING,
    "event-refund.pending.order-level.json": RefundStatus.PENDING,
    "event-refund.pending_information.json": RefundStatus.PENDING_INFORMATION,
}

RETURN_FIXTURES = (
    "event-return.accepted.multi-shipment.json",
    "event-return.accepted.single-shipment.json",
)

FULFILLMENT_FIXTURES: dict[str, str | None] = {
    "event-fulfillment.created.json": "259855820336",
    "event-fulfillment.created.expanded.partial.json": None,
    "event-fulfillment.created.tracking.partial.json": None,
}

#: Fragments whose elisions drop a required field: ``file -> (event id, field path)``.
REFUSED_FIXTURES: dict[str, tuple[str, str]] = {
    "event-order.accepted.expanded.partial.json": (
        "e2ab8696-53fc-4ac9-9f5f-f38eb61fbf05",
        "data.object.items[0].quantity",
    ),
}

OTHER_FIXTURES: dict[str, Input] = {
    "event-fulfillment_order.backordered.partial.json": BackorderObserved(
        meta=EventMeta(
            "evt_e381g2ff-7d42-3b05-91d5-e711443r3521",
            "fulfillment_order.backordered",
        ),
        items=(
            BackorderItem(
                ordered=6,
                backordered=2,
                total_backordered=3,
                available_time="2020-11-25T20:36:00Z",
            ),
        ),
    ),
    "event-fulfillment_order.shipped.partial.json": ShipmentObserved(
        EventMeta(
            "evt_d290f1ee-6c54-4b01-90e6-d701748f0851", "fulfillment_order.shipped"
        ),
        ShipmentSnapshot(
            id="29016544906",
            fulfillment_order_id="5774321009",
            fulfillment_order_upstream_id="9292981838",
            items=(
                ShipmentItemSnapshot(
                    id="8760948870",
                    fulfillment_order_item_id="650398674428",
                    fulfillment_order_item_upstream_id="650398674428",
                    quantity=1,
                ),
            ),
        ),
    ),
}


def _meta_of(name: str) -> EventMeta:
    raw = load_payload(name)
    created = raw.get("createdTime")
    return EventMeta(raw["id"], raw["type"], normalise_time(created) if created else "")


class TestDrPayloads:
    """Every DR-published event payload parses to the expected input (or is refused)."""

    def test_every_event_fixture_is_classified(self) -> None:
        """Each ``event-*.json`` fixture has exactly one expected reading here."""
        on_disk = {p.name for p in DR_PAYLOADS.glob("event-*.json")}
        groups = [
            set(ORDER_FIXTURES),
            set(UNKNOWN_FIXTURES),
            set(FULFILLMENT_FIXTURES),
            set(REFUSED_FIXTURES),
            set(OTHER_FIXTURES),
            set(CHARGE_FIXTURES),
            set(REFUND_FIXTURES),
            set(RETURN_FIXTURES),
            {"event-order.charge.refund.failed.json"},
        ]
        assert sum(len(g) for g in groups) == len(set().union(*groups))
        assert set().union(*groups) == on_disk

    @pytest.mark.parametrize(("name", "status"), sorted(ORDER_FIXTURES.items()))
    def test_order_events(self, name: str, status: OrderStatus) -> None:
        """``order.*`` state events become ``OrderObserved`` with DR's order state."""
        raw = load_payload(name)
        parsed = parse_input(raw)
        assert isinstance(parsed, OrderObserved)
        assert parsed.meta == _meta_of(name)
        assert parsed.order.id == _obj(raw)["id"]
        assert parsed.order.state is status
        assert parsed.order.state_transitions == tuple(
            sorted(_obj(raw)["stateTransitions"])
        )
        assert [i.id for i in parsed.order.items] == [
            i["id"] for i in _obj(raw)["items"]
        ]

    @pytest.mark.parametrize("name", UNKNOWN_FIXTURES)
    def test_events_the_engine_does_not_handle(self, name: str) -> None:
        """Invoice, credit memo and checkout events are ``UnknownEvent``."""
        assert parse_input(load_payload(name)) == UnknownEvent(_meta_of(name))

    @pytest.mark.parametrize("name", CHARGE_FIXTURES)
    def test_charge_events(self, name: str) -> None:
        """``order.charge.*`` carry the charge: amount, state and every operation."""
        raw = load_payload(name)
        parsed = parse_input(raw)
        assert isinstance(parsed, ChargeObserved)
        obj = _obj(raw)
        assert parsed.charge.id == obj["id"]
        assert parsed.charge.order_id == obj["orderId"]
        assert parsed.charge.amount == Decimal(str(obj["amount"]))
        assert parsed.charge.state is ChargeStatus(obj["state"])
        for kind in ("captures", "cancels", "refunds"):
            got = getattr(parsed.charge, kind)
            assert [
                (o.id, o.amount, o.state.value if o.state else None) for o in got
            ] == [
                (o.get("id"), Decimal(str(o["amount"])), o["state"])
                for o in obj.get(kind, [])
            ]

    def test_capture_failure_keeps_its_fulfillment_and_code(self) -> None:
        """``captures[].fulfillmentId`` and ``failureCode`` are kept."""
        parsed = parse_input(
            load_payload(
                "event-order.charge.capture.failed.with-fulfillmentId.partial.json"
            )
        )
        assert isinstance(parsed, ChargeObserved)
        (capture,) = parsed.charge.captures
        assert capture.state is CaptureStatus.FAILED
        assert capture.failure_code == "failed-request"
        assert capture.fulfillment_id == "ful_2bbb92e0-16fa-4a62-952e-4e2ca4df2870"

    def test_charge_event_carrying_the_order(self) -> None:
        """DR's ``order.charge.refund.failed`` example carries the order: read as one."""
        parsed = parse_input(load_payload("event-order.charge.refund.failed.json"))
        assert isinstance(parsed, OrderObserved)
        (charge,) = parsed.order.charges
        assert charge.amount == Decimal("27.1")
        assert [r.id for r in charge.refunds] == [None, None]

    @pytest.mark.parametrize(("name", "state"), sorted(REFUND_FIXTURES.items()))
    def test_refund_events(self, name: str, state: RefundStatus) -> None:
        """``refund.*``: the refund's state (``refund.complete`` is ``succeeded``), lines."""
        raw = load_payload(name)
        parsed = parse_input(raw)
        assert isinstance(parsed, RefundObserved)
        obj = _obj(raw)
        assert (parsed.refund.id, parsed.refund.order_id) == (obj["id"], obj["orderId"])
        assert parsed.refund.state is state
        assert [(i.item_id, i.quantity) for i in parsed.refund.items] == [
            (i.get("itemId"), i.get("quantity")) for i in obj.get("items", [])
        ]

    @pytest.mark.parametrize("name", RETURN_FIXTURES)
    def test_return_events(self, name: str) -> None:
        """``return.accepted``: the return, its lines and what was accepted."""
        raw = load_payload(name)
        parsed = parse_input(raw)
        assert isinstance(parsed, ReturnObserved)
        obj = _obj(raw)
        assert parsed.ret.state is ReturnStatus.ACCEPTED
        assert [
            (i.item_id, i.quantity, i.quantity_accepted) for i in parsed.ret.items
        ] == [(i["itemId"], i["quantity"], i["quantityAccepted"]) for i in obj["items"]]

    @pytest.mark.parametrize(("name", "order_id"), sorted(FULFILLMENT_FIXTURES.items()))
    def test_fulfillment_created(self, name: str, order_id: str | None) -> None:
        """``fulfillment.created`` becomes ``FulfillmentObserved`` with DR's record."""
        raw = load_payload(name)
        parsed = parse_input(raw)
        assert isinstance(parsed, FulfillmentObserved)
        obj = _obj(raw)
        assert (parsed.fulfillment.id, parsed.fulfillment.order_id) == (
            obj["id"],
            order_id,
        )
        assert [
            (i.item_id, i.quantity, i.cancel_quantity) for i in parsed.fulfillment.items
        ] == [
            (i["itemId"], i.get("quantity"), i.get("cancelQuantity"))
            for i in obj.get("items", [])
        ]

    @pytest.mark.parametrize(("name", "expected"), sorted(OTHER_FIXTURES.items()))
    def test_fulfillment_order_fragments(self, name: str, expected: Input) -> None:
        """DR's backordered and shipped fragments map field by field."""
        assert parse_input(load_payload(name)) == expected

    @pytest.mark.parametrize(("name", "where"), sorted(REFUSED_FIXTURES.items()))
    def test_fragments_missing_a_required_field(
        self, name: str, where: tuple[str, str]
    ) -> None:
        """A fragment without a required field is refused, naming that exact field."""
        err = _refused(load_payload(name))
        assert (err.input_id, err.field) == where
        assert err.reason == "required field missing"

    def test_bytes_text_and_dict_parse_alike(self) -> None:
        """The same event as bytes, text or a decoded dict gives the same input."""
        raw = _accepted()
        text = json.dumps(raw)
        assert parse_input(text.encode()) == parse_input(text) == parse_input(raw)


# --- field mapping --------------------------------------------------------------------


class TestOrderMapping:
    """The order event's fields as the engine reads them."""

    def test_real_order_accepted_field_by_field(self) -> None:
        """DR's real ``order.accepted`` maps to exactly this snapshot."""
        assert parse_input(_accepted()) == OrderObserved(
            EventMeta(ACCEPTED_ID, "order.accepted", "2021-11-01T18:23:06.272054Z"),
            OrderSnapshot(
                id=ORDER_ID,
                created_time="2021-11-01T18:23:02Z",
                state=OrderStatus.ACCEPTED,
                state_transitions=("accepted",),
                currency="USD",
                locale="en_US",
                checkout_id="0ef63391-ba3e-4c9d-9eb7-4f00cd2c3a39",
                email="chaseMarshall@digitalriver.com",
                ship_to=Party(
                    address=Address(
                        line1="1234 Any Road W",
                        city="Minneapolis",
                        postal_code="55401",
                        state="MN",
                        country="US",
                    ),
                    name="Chase Marshall",
                ),
                bill_to=Party(
                    address=Address(
                        line1="Any other road W",
                        city="Eagan",
                        postal_code="55122",
                        state="MN",
                        country="US",
                    ),
                    name="Chase Marshall",
                    email="marshallsBillingEmail@digitalriver.com",
                ),
                shipping_choice=ShippingChoice(
                    service_level="SG", amount=Decimal("5.0"), description="standard"
                ),
                items=(
                    OrderItemSnapshot(
                        id=ITEM_ID,
                        sku_id="ed7b06bd-7b2e-4525-9156-cd6fcbe7fe42",
                        quantity=2,
                        amount=Decimal("20.0"),
                        tax_amount=Decimal("1.61"),
                        physical=None,
                    ),
                ),
                charges=(
                    ChargeSnapshot(
                        id="f38ea46b-f08e-4465-97ec-3aacd7e83ae6",
                        currency="USD",
                        amount=Decimal("27.01"),
                        state=ChargeStatus.CAPTURABLE,
                    ),
                ),
            ),
        )

    def test_money_is_exact_decimal(self) -> None:
        """Tax and amounts are ``Decimal`` built from the JSON text, not binary floats."""
        parsed = parse_input(_accepted())
        assert isinstance(parsed, OrderObserved)
        item = parsed.order.items[0]
        assert isinstance(item.tax_amount, Decimal)
        assert isinstance(item.amount, Decimal)
        assert (str(item.tax_amount), str(item.amount)) == ("1.61", "20.0")

    @pytest.mark.parametrize("physical", [True, False])
    def test_product_details_physical_from_expanded_event(self, physical: bool) -> None:
        """The expanded event's ``productDetails.physical`` is the line's ``physical``."""

        def edit(d: Json) -> None:
            _item(d)["quantity"] = 3
            _item(d)["productDetails"]["physical"] = physical

        raw = _edited(load_payload("event-order.accepted.expanded.partial.json"), edit)
        assert parse_input(raw) == OrderObserved(
            EventMeta("e2ab8696-53fc-4ac9-9f5f-f38eb61fbf05", "order.accepted"),
            OrderSnapshot(
                id="295759800336",
                items=(
                    OrderItemSnapshot(id="229219830336", quantity=3, physical=physical),
                ),
            ),
        )


class TestFulfillmentEventMapping:
    """Fulfillment-order, shipment and cancellation events as the engine reads them."""

    def test_fulfillment_order_with_numeric_ids(self) -> None:
        """The FO id and FO item ids are numbers in DR's schema; they become strings."""
        raw = fulfillment_order(
            "evt-fo",
            "fulfillment_order.pending",
            FO_ID,
            ORDER_ID,
            [fo_line(FO_LINE, ITEM_ID, 3, backordered=1, shipped=1)],
        )
        assert isinstance(_obj(raw)["id"], int)
        assert isinstance(_item(raw)["id"], int)
        assert parse_input(raw) == FulfillmentOrderObserved(
            EventMeta(
                "evt-fo", "fulfillment_order.pending", "2021-11-01T18:30:00.000000Z"
            ),
            FulfillmentOrderSnapshot(
                id=FO_ID,
                upstream_id=ORDER_ID,
                items=(
                    FulfillmentOrderItemSnapshot(
                        id=FO_LINE,
                        upstream_id=ITEM_ID,
                        inventory_item_id=f"sku-{ITEM_ID}",
                        quantity=3,
                        pending=1,
                        backordered=1,
                        shipped=1,
                        cancelled=0,
                        returned=0,
                    ),
                ),
            ),
        )

    def test_shipment_with_tracking(self) -> None:
        """A shipment's flat tracking fields become its ``Tracking``."""
        raw = shipped("evt-s", "S1", FO_ID, ORDER_ID, [("si1", FO_LINE, ITEM_ID, 2)])
        assert parse_input(raw) == ShipmentObserved(
            EventMeta(
                "evt-s", "fulfillment_order.shipped", "2021-11-02T10:00:00.000000Z"
            ),
            ShipmentSnapshot(
                id="S1",
                fulfillment_order_id=FO_ID,
                fulfillment_order_upstream_id=ORDER_ID,
                tracking=Tracking(
                    company="Fedex", number="Z1", url="http://fedex.example/Z1"
                ),
                items=(
                    ShipmentItemSnapshot(
                        id="si1",
                        fulfillment_order_item_id=FO_LINE,
                        fulfillment_order_item_upstream_id=ITEM_ID,
                        quantity=2,
                    ),
                ),
            ),
        )

    def test_backorder(self) -> None:
        """``fulfillment_order.backordered`` keeps the FO, the order and DR's checksum."""
        raw = backordered("evt-b", FO_ID, ORDER_ID, [(FO_LINE, ITEM_ID, 1, 2)])
        assert parse_input(raw) == BackorderObserved(
            meta=EventMeta(
                "evt-b", "fulfillment_order.backordered", "2021-11-01T19:00:00.000000Z"
            ),
            fulfillment_order_id=FO_ID,
            upstream_id=ORDER_ID,
            items=(
                BackorderItem(
                    id=FO_LINE,
                    upstream_id=ITEM_ID,
                    ordered=0,
                    backordered=1,
                    total_backordered=2,
                    available_time="2021-11-25T20:36:00Z",
                ),
            ),
        )

    def test_cancellation(self) -> None:
        """A fulfillment cancellation keeps its state and accepted quantities."""
        raw = cancellation(
            "evt-c", "accepted", "C1", FO_ID, ORDER_ID, [(FO_LINE, 2, 1)]
        )
        assert parse_input(raw) == CancellationObserved(
            EventMeta(
                "evt-c",
                "fulfillment_cancellation.accepted",
                "2021-11-03T09:00:00.000000Z",
            ),
            CancellationSnapshot(
                id="C1",
                fulfillment_order_id=FO_ID,
                upstream_id=ORDER_ID,
                state=CancellationStatus.ACCEPTED,
                items=(
                    CancellationItemSnapshot(
                        fulfillment_order_item_id=FO_LINE,
                        quantity=2,
                        quantity_accepted=1,
                    ),
                ),
            ),
        )

    @pytest.mark.parametrize(
        ("state", "status"),
        [
            ("created", CancellationStatus.PENDING),
            ("accepted", CancellationStatus.ACCEPTED),
            ("rejected", CancellationStatus.REJECTED),
        ],
    )
    @pytest.mark.parametrize("how", ["absent", "unknown value"])
    def test_cancellation_state_from_event_type(
        self, state: str, status: CancellationStatus, how: str
    ) -> None:
        """Without a known ``state`` on the object, the event type says which state."""

        def edit(d: Json) -> None:
            if how == "absent":
                del _obj(d)["state"]
            else:
                _obj(d)["state"] = "escalated"

        raw = _edited(
            cancellation("evt-c", state, "C1", FO_ID, None, [(FO_LINE, 1, None)]), edit
        )
        parsed = parse_input(raw)
        assert isinstance(parsed, CancellationObserved)
        assert parsed.cancellation.state is status
        assert parsed.cancellation.upstream_id is None


# --- tolerance ------------------------------------------------------------------------


class TestTolerance:
    """What DR calls non-breaking changes, and DR's own inconsistencies, are read."""

    @pytest.mark.parametrize("event_type", ["subscription.created", "order.brand_new"])
    def test_unknown_event_type(self, event_type: str) -> None:
        """An unknown event type is an ``UnknownEvent``, whatever its object is."""
        raw = envelope("evt-u", event_type, {"id": 5, "whatever": [1, {"x": None}]})
        assert parse_input(raw) == UnknownEvent(
            EventMeta("evt-u", event_type, "2021-11-01T18:30:00.000000Z")
        )

    def test_unknown_event_type_without_data(self) -> None:
        """An unknown event type needs no ``data`` at all."""
        assert parse_input({"id": "evt-u", "type": "thing.new"}) == UnknownEvent(
            EventMeta("evt-u", "thing.new")
        )

    def test_unknown_fields_ignored(self) -> None:
        """Fields DR adds at any level change nothing."""

        def edit(d: Json) -> None:
            d["brandNew"] = {"nested": [1, 2]}
            _obj(d)["giftCard"] = {"id": 1}
            _obj(d)["shipTo"]["additionalAddressInfo"] = {"neighborhood": "N"}
            _obj(d)["shipTo"]["address"]["line3"] = "x"
            _item(d)["subscriptionInfo"] = {"autoRenewal": True}
            _item(d)["tax"]["jurisdiction"] = "MN"

        assert parse_input(_edited(_accepted(), edit)) == parse_input(_accepted())

    @pytest.mark.parametrize("state", ["on_hold", "returned_partially", ""])
    def test_unknown_order_state_reads_as_none(self, state: str) -> None:
        """An order ``state`` DR adds later reads as ``None``; the rest is kept."""
        parsed = parse_input(
            _edited(_accepted(), lambda d: _obj(d).update(state=state))
        )
        expected = parse_input(_accepted())
        assert isinstance(parsed, OrderObserved)
        assert isinstance(expected, OrderObserved)
        assert parsed.order.state is None
        assert parsed.order == attrs.evolve(expected.order, state=None)

    @pytest.mark.parametrize(
        ("old", "new"),
        [("digitalriverVersion", "digitalRiverVersion"), ("liveMode", "livemode")],
    )
    def test_envelope_spellings(self, old: str, new: str) -> None:
        """Both spellings of the version and live-mode fields are read alike."""

        def edit(d: Json) -> None:
            d[new] = d.pop(old)

        assert parse_input(_edited(_accepted(), edit)) == parse_input(_accepted())

    def test_object_livemode_spellings(self) -> None:
        """``livemode`` on a cancellation object and ``liveMode`` read alike."""
        raw = cancellation(
            "evt-c", "accepted", "C1", FO_ID, ORDER_ID, [(FO_LINE, 1, 1)]
        )
        other = _edited(raw, lambda d: _obj(d).update(liveMode=_obj(d).pop("livemode")))
        assert parse_input(other) == parse_input(raw)

    def test_numeric_ids_become_strings(self) -> None:
        """Event, order, item and shipment ids given as JSON numbers become strings."""

        def edit(d: Json) -> None:
            d["id"] = 123
            _obj(d)["id"] = int(ORDER_ID)
            _item(d)["id"] = int(ITEM_ID)

        parsed = parse_input(_edited(_accepted(), edit))
        assert isinstance(parsed, OrderObserved)
        assert (parsed.meta.id, parsed.order.id, parsed.order.items[0].id) == (
            "123",
            ORDER_ID,
            ITEM_ID,
        )
        ship = _edited(
            shipped("evt-s", "1", "2", "3", [("4", "5", "6", 1)]),
            lambda d: _obj(d).update(
                id=1,
                fulfillmentOrderId=2,
                fulfillmentOrderUpstreamId=3,
                items=[
                    {
                        "id": 4,
                        "fulfillmentOrderItemId": 5,
                        "fulfillmentOrderItemUpstreamId": 6,
                        "quantity": 1,
                    }
                ],
            ),
        )
        assert parse_input(ship) == parse_input(
            shipped("evt-s", "1", "2", "3", [("4", "5", "6", 1)])
        )

    def test_quantity_as_digit_string(self) -> None:
        """DR's own example sends ``"quantity": "2"``: digit strings are integers."""
        as_text = _edited(_accepted(), lambda d: _item(d).update(quantity="2"))
        assert parse_input(as_text) == parse_input(_accepted())
        fo = fulfillment_order(
            "evt-fo",
            "fulfillment_order.pending",
            FO_ID,
            ORDER_ID,
            [fo_line(FO_LINE, ITEM_ID, 2)],
        )
        fo_text = _edited(fo, lambda d: _item(d).update(quantity="2", pending="2"))
        assert parse_input(fo_text) == parse_input(fo)
        req = request("report_shipment", "r1", ORDER_ID, [(ITEM_ID, 2)])
        req["items"][0]["quantity"] = "2"
        assert parse_input(req) == ReportShipment(
            request_id="r1",
            order_id=ORDER_ID,
            items=(RequestedUnits(ITEM_ID, 2),),
        )

    def test_integral_float_quantity(self) -> None:
        """``2.0`` is the integer 2 (JSON has one number type)."""
        parsed = parse_input(
            _edited(_accepted(), lambda d: _item(d).update(quantity=2.0))
        )
        assert parse_input(_accepted()) == parsed


# --- refusals -------------------------------------------------------------------------


class TestRefusals:
    """Wrong JSON and wrong types are refused with the event id and the field path."""

    @pytest.mark.parametrize(
        "document",
        [b"{not json", "{", "", b"\xff\xfe\x00", '{"id": "e1", "type": "x"} trailing'],
    )
    def test_invalid_json(self, document: bytes | str) -> None:
        """Text that is not JSON is refused with no id and no field."""
        err = _refused(document)
        assert (err.input_id, err.field) == (None, None)
        assert err.reason.startswith("not valid JSON")

    def test_deeply_nested_json(self) -> None:
        """A hostile, deeply nested document is refused, not a crash."""
        err = _refused("[" * 100_000 + "]" * 100_000)
        assert (err.input_id, err.field) == (None, None)

    @pytest.mark.parametrize(
        ("document", "kind"),
        [("[]", "list"), ('"order"', "str"), ("42", "int"), ("null", "NoneType")],
    )
    def test_non_object_json(self, document: str, kind: str) -> None:
        """JSON that is not an object is refused, saying what it was."""
        err = _refused(document)
        assert (err.input_id, err.field) == (None, None)
        assert err.reason == f"expected a JSON object, got {kind}"

    @pytest.mark.parametrize("value", ["<absent>", None, True, {"id": "x"}, [1], 1.5])
    def test_missing_or_bad_event_id(self, value: object) -> None:
        """Without a usable ``id`` the event is refused at ``id``."""

        def edit(d: Json) -> None:
            if value == "<absent>":
                del d["id"]
            else:
                d["id"] = value

        err = _refused(_edited(_accepted(), edit))
        assert (err.input_id, err.field) == (None, "id")

    @pytest.mark.parametrize("value", ["<absent>", None, 7, ["order.accepted"]])
    def test_missing_or_bad_type(self, value: object) -> None:
        """Without a string ``type`` the event is refused at ``type``, naming the event."""

        def edit(d: Json) -> None:
            if value == "<absent>":
                del d["type"]
            else:
                d["type"] = value

        err = _refused(_edited(_accepted(), edit))
        assert (err.input_id, err.field) == (ACCEPTED_ID, "type")

    @pytest.mark.parametrize(
        "data", ["<absent>", None, [], {"object": None}, {"object": [1]}]
    )
    def test_missing_object(self, data: object) -> None:
        """A handled event type without an object in ``data.object`` is refused."""

        def edit(d: Json) -> None:
            if data == "<absent>":
                del d["data"]
            else:
                d["data"] = data

        err = _refused(_edited(_accepted(), edit))
        field = "data.object" if isinstance(data, dict) else "data"
        assert (err.input_id, err.field) == (ACCEPTED_ID, field)

    @pytest.mark.parametrize(
        ("edit", "field"),
        [
            (lambda d: _item(d).update(quantity=True), "data.object.items[0].quantity"),
            (lambda d: _item(d).update(quantity=2.5), "data.object.items[0].quantity"),
            (
                lambda d: _item(d).update(quantity="two"),
                "data.object.items[0].quantity",
            ),
            (lambda d: _item(d).update(quantity=None), "data.object.items[0].quantity"),
            (
                lambda d: _item(d).update(skuId={"id": "x"}),
                "data.object.items[0].skuId",
            ),
            (
                lambda d: _obj(d).update(currency={"code": "USD"}),
                "data.object.currency",
            ),
            (lambda d: _obj(d).update(id=["204440790336"]), "data.object.id"),
            (lambda d: _item(d).pop("id"), "data.object.items[0].id"),
            (lambda d: _obj(d).pop("id"), "data.object.id"),
            (
                lambda d: _item(d)["productDetails"].update(physical="yes"),
                "data.object.items[0].productDetails.physical",
            ),
            (
                lambda d: _item(d)["tax"].update(amount="1,61"),
                "data.object.items[0].tax.amount",
            ),
            (
                lambda d: _item(d)["tax"].update(amount=True),
                "data.object.items[0].tax.amount",
            ),
            (
                lambda d: _obj(d)["shipTo"].update(name={"first": "Chase"}),
                "data.object.shipTo.name",
            ),
            (
                lambda d: _obj(d)["shipTo"]["address"].update(postalCode=["55401"]),
                "data.object.shipTo.address.postalCode",
            ),
            (
                lambda d: _obj(d)["shippingChoice"].update(serviceLevel=False),
                "data.object.shippingChoice.serviceLevel",
            ),
            (
                lambda d: _obj(d).update(stateTransitions=["accepted"]),
                "data.object.stateTransitions",
            ),
        ],
        ids=[
            "bool quantity",
            "fractional quantity",
            "word quantity",
            "null quantity",
            "object skuId",
            "object currency",
            "list order id",
            "missing item id",
            "missing order id",
            "string physical",
            "comma decimal tax",
            "bool tax",
            "object shipTo.name",
            "list postalCode",
            "bool serviceLevel",
            "list stateTransitions",
        ],
    )
    def test_wrong_types_in_order(
        self, edit: Callable[[Json], object], field: str
    ) -> None:
        """A wrong type anywhere in the order is refused at that exact path."""
        err = _refused(_edited(_accepted(), edit))
        assert (err.input_id, err.field) == (ACCEPTED_ID, field)

    @pytest.mark.parametrize(
        ("edit", "field"),
        [
            (lambda d: _obj(d).update(shipTo=[{"name": "x"}]), "data.object.shipTo"),
            (lambda d: _obj(d).update(billTo=[]), "data.object.billTo"),
            (
                lambda d: _obj(d).update(shippingChoice="SG"),
                "data.object.shippingChoice",
            ),
            (lambda d: _item(d).update(tax=[1.61]), "data.object.items[0].tax"),
            (
                lambda d: _item(d).update(productDetails=[]),
                "data.object.items[0].productDetails",
            ),
            (lambda d: _obj(d).update(items={"0": {"id": "x"}}), "data.object.items"),
        ],
        ids=[
            "list shipTo",
            "list billTo",
            "string shippingChoice",
            "list tax",
            "list productDetails",
            "object items",
        ],
    )
    def test_wrong_container_types(
        self, edit: Callable[[Json], object], field: str
    ) -> None:
        """A list (or text) where DR sends an object, or the reverse, is refused there."""
        err = _refused(_edited(_accepted(), edit))
        assert (err.input_id, err.field) == (ACCEPTED_ID, field)

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            (
                _edited(_accepted(), lambda d: _item(d).update(quantity=-1)),
                "data.object.items[0].quantity",
            ),
            (
                fulfillment_order(
                    "evt-x",
                    "fulfillment_order.pending",
                    FO_ID,
                    ORDER_ID,
                    [fo_line(FO_LINE, ITEM_ID, -1, pending=0)],
                ),
                "data.object.items[0].quantity",
            ),
            (
                fulfillment_order(
                    "evt-x",
                    "fulfillment_order.cancelled",
                    FO_ID,
                    ORDER_ID,
                    [fo_line(FO_LINE, ITEM_ID, 2, pending=3, cancelled=-1)],
                ),
                "data.object.items[0].cancelled",
            ),
            (
                shipped(
                    "evt-x", "S1", FO_ID, ORDER_ID, [("si1", FO_LINE, ITEM_ID, -1)]
                ),
                "data.object.items[0].quantity",
            ),
            (
                backordered("evt-x", FO_ID, ORDER_ID, [(FO_LINE, ITEM_ID, 1, -1)]),
                "data.object.items[0].totalBackordered",
            ),
            (
                cancellation(
                    "evt-x", "accepted", "C1", FO_ID, ORDER_ID, [(FO_LINE, 1, -1)]
                ),
                "data.object.items[0].quantityAccepted",
            ),
        ],
        ids=[
            "order item",
            "fo line quantity",
            "fo line cancelled",
            "shipment item",
            "backorder total",
            "cancellation accepted",
        ],
    )
    def test_negative_quantities(self, raw: Json, field: str) -> None:
        """A negative quantity is refused as malformed, at the quantity's own path."""
        err = _refused(raw)
        assert (err.input_id, err.field) == (raw["id"], field)

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            (
                _edited(_accepted(), lambda d: _item(d).update(quantity=10**30)),
                "data.object.items[0].quantity",
            ),
            (
                _edited(_accepted(), lambda d: _item(d).update(quantity="9" * 40)),
                "data.object.items[0].quantity",
            ),
            (
                _edited(_accepted(), lambda d: _item(d).update(quantity=1e300)),
                "data.object.items[0].quantity",
            ),
            (
                fulfillment_order(
                    "evt-x",
                    "fulfillment_order.pending",
                    FO_ID,
                    ORDER_ID,
                    [fo_line(FO_LINE, ITEM_ID, 2**63, pending=2**63)],
                ),
                "data.object.items[0].quantity",
            ),
            (
                _edited(
                    _accepted(), lambda d: _item(d)["tax"].update(amount=float("inf"))
                ),
                "data.object.items[0].tax.amount",
            ),
            (
                _edited(_accepted(), lambda d: _item(d).update(amount="NaN")),
                "data.object.items[0].amount",
            ),
        ],
        ids=[
            "int quantity 1e30",
            "40-digit quantity text",
            "float quantity 1e300",
            "fo quantity 2**63",
            "infinite tax",
            "NaN amount",
        ],
    )
    def test_huge_numbers(self, raw: Json, field: str) -> None:
        """Quantities beyond any real order, and non-finite money, are refused."""
        err = _refused(raw)
        assert (err.input_id, err.field) == (raw["id"], field)

    def test_integer_too_long_for_json(self) -> None:
        """A 5000-digit JSON integer is refused as invalid JSON."""
        err = _refused('{"id": 1' + "0" * 5000 + ', "type": "order.accepted"}')
        assert (err.input_id, err.field) == (None, None)

    @pytest.mark.parametrize(
        "value",
        [
            "yesterday",
            "",
            "2021-13-01T00:00:00Z",
            "2021-11-01T25:00:00Z",
            1635790986,
            {},
        ],
    )
    def test_non_iso_created_time(self, value: object) -> None:
        """A ``createdTime`` that is not an ISO-8601 time is refused at ``createdTime``."""
        err = _refused(_edited(_accepted(), lambda d: d.update(createdTime=value)))
        assert (err.input_id, err.field) == (ACCEPTED_ID, "createdTime")

    @pytest.mark.parametrize(
        ("edit", "field"),
        [
            (
                lambda d: _obj(d).update(trackingNumber={"n": 1}),
                "data.object.trackingNumber",
            ),
            (
                lambda d: _obj(d).pop("fulfillmentOrderId"),
                "data.object.fulfillmentOrderId",
            ),
            (
                lambda d: _item(d).pop("fulfillmentOrderItemId"),
                "data.object.items[0].fulfillmentOrderItemId",
            ),
            (
                lambda d: _item(d).update(quantity=False),
                "data.object.items[0].quantity",
            ),
        ],
        ids=[
            "object trackingNumber",
            "missing FO id",
            "missing FO item id",
            "bool quantity",
        ],
    )
    def test_wrong_shipment(self, edit: Callable[[Json], object], field: str) -> None:
        """A malformed shipment is refused at the exact field."""
        raw = shipped("evt-s", "S1", FO_ID, ORDER_ID, [("si1", FO_LINE, ITEM_ID, 1)])
        err = _refused(_edited(raw, edit))
        assert (err.input_id, err.field) == ("evt-s", field)

    def test_wrong_cancellation_state_type(self) -> None:
        """A cancellation ``state`` that is not text is refused (unknown text is not)."""
        raw = cancellation(
            "evt-c", "accepted", "C1", FO_ID, ORDER_ID, [(FO_LINE, 1, 1)]
        )
        err = _refused(_edited(raw, lambda d: _obj(d).update(state=3)))
        assert (err.input_id, err.field) == ("evt-c", "data.object.state")

    def test_wrong_fulfillment_created(self) -> None:
        """``fulfillment.created`` with an object as ``orderId`` is refused there."""
        raw = _edited(
            load_payload("event-fulfillment.created.json"),
            lambda d: _obj(d).update(orderId={"id": "259855820336"}),
        )
        err = _refused(raw)
        assert (err.input_id, err.field) == (
            "6e4f29fd-190e-4a70-83dc-6655394dc054",
            "data.object.orderId",
        )


# --- merchant requests ----------------------------------------------------------------


class TestMerchantRequests:
    """The replay format's merchant requests."""

    def test_request_cancellation(self) -> None:
        """``request_cancellation`` with a reason."""
        raw = request(
            "request_cancellation",
            "req-1",
            ORDER_ID,
            [(ITEM_ID, 1), ("other", 2)],
            reason="requested_by_customer",
        )
        assert parse_input(raw) == RequestCancellation(
            request_id="req-1",
            order_id=ORDER_ID,
            items=(RequestedUnits(ITEM_ID, 1), RequestedUnits("other", 2)),
            reason="requested_by_customer",
        )

    def test_report_shipment_with_tracking(self) -> None:
        """``report_shipment`` takes flat tracking fields like DR's."""
        raw = request(
            "report_shipment",
            "req-2",
            ORDER_ID,
            [(ITEM_ID, 2)],
            trackingCompany="UPS",
            trackingNumber="1Z999",
            trackingUrl="https://ups.example/1Z999",
        )
        assert parse_input(raw) == ReportShipment(
            request_id="req-2",
            order_id=ORDER_ID,
            items=(RequestedUnits(ITEM_ID, 2),),
            tracking=Tracking(
                company="UPS", number="1Z999", url="https://ups.example/1Z999"
            ),
        )

    def test_report_shipment_without_tracking(self) -> None:
        """Tracking is optional."""
        raw = request("report_shipment", "req-2", ORDER_ID, [(ITEM_ID, 2)])
        assert parse_input(raw) == ReportShipment(
            request_id="req-2", order_id=ORDER_ID, items=(RequestedUnits(ITEM_ID, 2),)
        )

    def test_report_cancellation(self) -> None:
        """``report_cancellation``; numeric ids become strings."""
        raw = request("report_cancellation", "req-3", ORDER_ID, [(ITEM_ID, 1)])
        raw.update(id=3, orderId=int(ORDER_ID))
        assert parse_input(raw) == ReportCancellation(
            request_id="3", order_id=ORDER_ID, items=(RequestedUnits(ITEM_ID, 1),)
        )

    @pytest.mark.parametrize("kind", ["refund", "REPORT_SHIPMENT", 3, None])
    def test_unknown_request_kind(self, kind: object) -> None:
        """An unknown request kind is refused at ``request``, naming the request."""
        raw = request("report_shipment", "req-4", ORDER_ID, [(ITEM_ID, 1)])
        raw["request"] = kind
        err = _refused(raw)
        assert (err.input_id, err.field) == ("req-4", "request")

    @pytest.mark.parametrize("value", ["<absent>", None])
    def test_missing_request_id(self, value: object) -> None:
        """A request without an id is refused at ``id``."""
        raw = request("request_cancellation", "req-5", ORDER_ID, [(ITEM_ID, 1)])
        if value == "<absent>":
            del raw["id"]
        else:
            raw["id"] = value
        err = _refused(raw)
        assert (err.input_id, err.field) == (None, "id")

    @pytest.mark.parametrize(
        ("edit", "field"),
        [
            (lambda d: d["items"][1].update(quantity=0), "items[1].quantity"),
            (lambda d: d["items"][0].update(quantity=-2), "items[0].quantity"),
            (lambda d: d["items"][0].update(quantity=True), "items[0].quantity"),
            (lambda d: d["items"][0].update(quantity=10**30), "items[0].quantity"),
            (lambda d: d["items"][0].pop("itemId"), "items[0].itemId"),
            (lambda d: d.pop("orderId"), "orderId"),
            (lambda d: d.pop("items"), "items"),
            (lambda d: d.update(trackingNumber={"n": "1Z"}), "trackingNumber"),
        ],
        ids=[
            "quantity 0",
            "negative quantity",
            "bool quantity",
            "huge quantity",
            "missing itemId",
            "missing orderId",
            "missing items",
            "object trackingNumber",
        ],
    )
    def test_bad_request(self, edit: Callable[[Json], object], field: str) -> None:
        """A malformed request is refused at the exact field of the request line."""
        raw = request("report_shipment", "req-6", ORDER_ID, [(ITEM_ID, 1), ("b", 1)])
        err = _refused(_edited(raw, edit))
        assert (err.input_id, err.field) == ("req-6", field)


# --- time -----------------------------------------------------------------------------


class TestNormaliseTime:
    """``normalise_time``: one UTC spelling that sorts as text."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2021-11-01T18:23:06Z", "2021-11-01T18:23:06.000000Z"),
            ("2021-11-01T18:23:06.272054Z", "2021-11-01T18:23:06.272054Z"),
            ("2021-11-01T18:23:06.5Z", "2021-11-01T18:23:06.500000Z"),
            ("2021-11-01T20:23:06+02:00", "2021-11-01T18:23:06.000000Z"),
            ("2021-11-01T13:23:06.1-05:00", "2021-11-01T18:23:06.100000Z"),
            ("2021-11-01T23:59:59.999999-01:00", "2021-11-02T00:59:59.999999Z"),
            ("2021-11-01T18:23:06", "2021-11-01T18:23:06.000000Z"),
            ("0999-12-31T23:59:59Z", "0999-12-31T23:59:59.000000Z"),
        ],
    )
    def test_normalised_spelling(self, value: str, expected: str) -> None:
        """Fractions padded to microseconds, offsets moved to UTC, naive is UTC, year 4 digits."""
        assert normalise_time(value) == expected

    def test_sorts_chronologically(self) -> None:
        """Normalised times sort in time order where the raw text does not."""
        chronological = [
            "2021-11-01T20:23:05.999+02:00",
            "2021-11-01T18:23:06Z",
            "2021-11-01T18:23:06.272054Z",
            "2021-11-01T18:23:06.5Z",
            "2021-11-01T13:23:07-05:00",
        ]
        shuffled = [chronological[i] for i in (3, 0, 4, 2, 1)]
        assert sorted(shuffled, key=normalise_time) == chronological
        assert sorted(shuffled) != chronological

    def test_event_created_time_is_normalised(self) -> None:
        """The event's ``createdTime`` is stored normalised in its meta."""
        raw = _edited(
            _accepted(), lambda d: d.update(createdTime="2021-11-01T20:23:06+02:00")
        )
        parsed = parse_input(raw)
        assert isinstance(parsed, OrderObserved)
        assert parsed.meta.created_time == "2021-11-01T18:23:06.000000Z"

    def test_refuses_non_iso(self) -> None:
        """A non-ISO time raises ``ValueError``."""
        with pytest.raises(ValueError, match="Invalid isoformat"):
            normalise_time("1 Nov 2021")


# --- state JSON -----------------------------------------------------------------------


def _example_states() -> list[OrderState]:
    """Every order state after every line of ``examples/distributed.jsonl``."""
    engine = Engine()
    states: list[OrderState] = []
    for line in EXAMPLE.read_bytes().splitlines():
        if line.strip():
            engine.handle(parse_input(line))
            states.extend(engine.orders.values())
    return states


class TestStateJson:
    """``dump_state``/``load_state``: lossless, versioned, refusing what it cannot read."""

    def test_round_trip_every_example_state(self) -> None:
        """Each state of the example survives dump and load unchanged."""
        states = _example_states()
        assert len(states) == 13
        for state in states:
            text = dump_state(state)
            assert load_state(text) == state
            assert load_state(text.encode()) == state
            assert dump_state(load_state(text)) == text
        waiting_kinds = {type(w.input).__name__ for s in states for w in s.waiting}
        assert waiting_kinds == {"ShipmentObserved", "OrderObserved"}

    def test_returns_example_states_round_trip(self) -> None:
        """Returns, refunds, charges and DR fulfillments survive dump and load."""
        engine = Engine(IntegrationModel.DISTRIBUTED)
        example = DR_PAYLOADS.parents[2] / "examples" / "returns.jsonl"
        for line in example.read_bytes().splitlines():
            engine.handle(parse_input(line))
            (state,) = engine.orders.values()
            assert load_state(dump_state(state)) == state
        (final,) = engine.orders.values()
        counts = [
            len(final.fulfillment_returns),
            len(final.refunds),
            len(final.charges),
            len(final.fulfillments),
            len(final.return_requests),
        ]
        assert counts == [1, 1, 1, 1, 1]

    def test_issue_2_documents_still_load(self) -> None:
        """A version-1 document written before returns and charges existed loads."""
        final = _example_states()[-1]
        document = json.loads(dump_state(final))
        added = (
            "fulfillmentReturns",
            "returns",
            "returnRequests",
            "refunds",
            "charges",
            "fulfillments",
        )
        for key in added:
            document["order"].pop(key)
        older = load_state(json.dumps(document))
        assert older == attrs.evolve(
            final,
            fulfillment_returns=(),
            returns=(),
            return_requests=(),
            refunds=(),
            charges=(),
            fulfillments=(),
        )

    def test_document_shape(self) -> None:
        """The document is compact, key-sorted JSON with ``schemaVersion`` and ``order``."""
        final = _example_states()[-1]
        text = dump_state(final)
        document = json.loads(text)
        assert set(document) == {"schemaVersion", "order"}
        assert document["schemaVersion"] == SCHEMA_VERSION == 1
        assert text == json.dumps(document, sort_keys=True, separators=(",", ":"))
        assert document["order"]["orderId"] == ORDER_ID
        assert document["order"]["status"] == "complete"
        assert document["order"]["lines"][0]["taxAmount"] == 1.61

    @pytest.mark.parametrize(
        "version", [2, SCHEMA_VERSION + 1, "<absent>", None, "1", True, 0, -1, 1.0]
    )
    def test_schema_version_refused(self, version: object) -> None:
        """A newer, missing or non-integer ``schemaVersion`` is refused."""
        document = json.loads(dump_state(_example_states()[-1]))
        if version == "<absent>":
            del document["schemaVersion"]
        else:
            document["schemaVersion"] = version
        with pytest.raises(MalformedInput) as info:
            load_state(json.dumps(document))
        assert (info.value.input_id, info.value.field) == (None, "schemaVersion")

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ("not json", None),
            (b"\xff", None),
            ("[]", None),
            ('"state"', None),
            ('{"schemaVersion": 1}', "order"),
            ('{"schemaVersion": 1, "order": []}', "order"),
            ('{"schemaVersion": 1, "order": {"orderId": "x"}}', "order"),
            (
                '{"schemaVersion": 1, "order": {"orderId": "x", "model": "wholesale"}}',
                "order",
            ),
            (
                '{"schemaVersion": 1, "order": {"orderId": "x", "model": "distributed",'
                ' "lines": [{"itemId": "a"}]}}',
                "order",
            ),
            (
                '{"schemaVersion": 1, "order": {"orderId": "x", "model": "distributed",'
                ' "waiting": [{"inputId": "e", "input": {"kind": "Nope"}, "reason": "r"}]}}',
                "order",
            ),
        ],
    )
    def test_malformed_state_refused(
        self, text: str | bytes, field: str | None
    ) -> None:
        """Malformed state JSON is refused with ``MalformedInput``."""
        with pytest.raises(MalformedInput) as info:
            load_state(text)
        assert type(info.value) is MalformedInput
        assert (info.value.input_id, info.value.field) == (None, field)
