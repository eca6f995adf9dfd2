"""``Engine``: routing inputs to orders, holding events for unknown fulfillment orders."""

from __future__ import annotations

import pytest

from builders import (
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    request,
    shipped,
)
from drfulfillment.codecs import parse_input
from drfulfillment.domain import (
    ConflictingInput,
    CreateFulfillment,
    Engine,
    IntegrationModel,
    MalformedInput,
    OrderState,
)
from drfulfillment.domain.decide import named_order
from drfulfillment.domain.engine import fulfillment_order_of

ORDER = "204440790336"
OTHER = "204440790999"
LINE = "127911830336"
FO = "5774321009"
FO_LINE = "650398674428"
T1 = "2021-11-01T18:23:06Z"


def accepted_order(engine: Engine) -> None:
    """An accepted order with its fulfillment order known."""
    engine.handle(
        parse_input(order_event("evt-acc", "accepted", T1, items=((LINE, 2, None),)))
    )
    engine.handle(
        parse_input(
            fulfillment_order(
                "evt-fo",
                "fulfillment_order.pending",
                FO,
                ORDER,
                [fo_line(FO_LINE, LINE, 2)],
            )
        )
    )


class TestOutcomes:
    """What ``Engine.handle`` says it did."""

    def test_unknown_event_is_skipped(self) -> None:
        """An event type the engine does not act on is skipped, nothing else."""
        outcome = Engine().handle(
            parse_input(
                {"id": "e", "type": "order.invoice.created", "data": {"object": {}}}
            )
        )
        assert (outcome.commands, outcome.outcome, outcome.order_id) == (
            (),
            "skipped",
            None,
        )

    def test_applied_outcome_names_the_order(self) -> None:
        """An applied input reports its order id."""
        outcome = Engine().handle(
            parse_input(order_event("evt-1", "pending_payment", T1, transitions=()))
        )
        assert (outcome.outcome, outcome.order_id) == ("applied", ORDER)

    def test_unrouted_event_waits_then_duplicates_are_recognised(self) -> None:
        """An event naming only an unknown FO waits; the same event again is a duplicate."""
        engine = Engine()
        doc = cancellation("evt-c", "accepted", "ret_1", FO, None, [(FO_LINE, 1, 1)])
        first = engine.handle(parse_input(doc))
        again = engine.handle(parse_input(doc))
        assert (first.commands, first.outcome) == ((), "waiting")
        assert (again.commands, again.outcome) == ((), "duplicate")
        assert [(w.input_id, w.reason) for w in engine.waiting()] == [
            ("evt-c", f"fulfillment order {FO}")
        ]

    def test_held_events_are_all_released_with_their_commands(self) -> None:
        """Two events held for an unknown FO are both applied when it arrives."""
        engine = Engine()
        engine.handle(
            parse_input(
                order_event("evt-acc", "accepted", T1, items=((LINE, 2, None),))
            )
        )
        c1 = cancellation("evt-c1", "accepted", "ret_1", FO, None, [(FO_LINE, 1, 1)])
        b1 = backordered("evt-b1", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        b1["data"]["object"].pop("upstreamId")
        engine.handle(parse_input(c1))
        engine.handle(parse_input(b1))
        outcome = engine.handle(
            parse_input(
                fulfillment_order(
                    "evt-fo",
                    "fulfillment_order.pending",
                    FO,
                    ORDER,
                    [fo_line(FO_LINE, LINE, 2)],
                )
            )
        )
        assert outcome.released == ("evt-c1", "evt-b1")
        names = [type(c).__name__ for c in outcome.commands]
        assert names == [
            "NotifyCustomerOfCancellation",
            "CreateFulfillment",
            "NotifyCustomerOfBackorder",
        ]
        assert outcome.order_id == ORDER
        assert engine.waiting() == []

    def test_a_held_event_proving_impossible_is_dropped_and_others_still_apply(
        self,
    ) -> None:
        """A held event refused on release is reported; the next held one still applies."""
        engine = Engine()
        engine.handle(
            parse_input(
                order_event("evt-acc", "accepted", T1, items=((LINE, 2, None),))
            )
        )
        bad = cancellation(
            "evt-c0", "accepted", "ret_0", FO, None, [("no-such-line", 1, 1)]
        )
        good = cancellation("evt-c1", "accepted", "ret_1", FO, None, [(FO_LINE, 1, 1)])
        engine.handle(parse_input(bad))
        engine.handle(parse_input(good))
        outcome = engine.handle(
            parse_input(
                fulfillment_order(
                    "evt-fo",
                    "fulfillment_order.pending",
                    FO,
                    ORDER,
                    [fo_line(FO_LINE, LINE, 2)],
                )
            )
        )
        assert [d.input_id for d in outcome.dropped] == ["evt-c0"]
        assert outcome.released == ("evt-c1",)
        assert any(isinstance(c, CreateFulfillment) for c in outcome.commands)


class TestRoutingErrors:
    """Inputs the engine cannot route are refused with the field to fix."""

    def test_event_naming_nothing_is_refused(self) -> None:
        """A backorder with neither FO id nor order id cannot be routed."""
        doc = backordered("evt-b", FO, ORDER, [(FO_LINE, LINE, 1, 1)])
        doc["data"]["object"].pop("id")
        doc["data"]["object"].pop("upstreamId")
        with pytest.raises(MalformedInput) as info:
            Engine().handle(parse_input(doc))
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-b",
            "data.object.id",
            "names neither a fulfillment order nor an order",
        )

    def test_fulfillment_order_without_order_id_is_refused(self) -> None:
        """A new FO must say which order it belongs to."""
        doc = fulfillment_order(
            "evt-fo",
            "fulfillment_order.pending",
            FO,
            ORDER,
            [fo_line(FO_LINE, LINE, 2)],
        )
        doc["data"]["object"].pop("upstreamId")
        with pytest.raises(MalformedInput) as info:
            Engine().handle(parse_input(doc))
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-fo",
            "data.object.upstreamId",
            "the order id (upstreamId) is missing",
        )

    def test_known_fulfillment_order_routes_without_order_id(self) -> None:
        """Once known, an FO snapshot without upstreamId still reaches its order."""
        engine = Engine()
        accepted_order(engine)
        doc = fulfillment_order(
            "evt-fo2",
            "fulfillment_order.cancelled",
            FO,
            ORDER,
            [fo_line(FO_LINE, LINE, 2, cancelled=1)],
        )
        doc["data"]["object"].pop("upstreamId")
        outcome = engine.handle(parse_input(doc))
        assert (outcome.outcome, outcome.order_id) == ("applied", ORDER)

    def test_fulfillment_order_claimed_by_another_order_is_refused(self) -> None:
        """A shipment naming another order than its FO's is a conflict."""
        engine = Engine()
        accepted_order(engine)
        doc = shipped("evt-s", "shp-1", FO, OTHER, [("si-1", FO_LINE, LINE, 1)])
        with pytest.raises(ConflictingInput) as info:
            engine.handle(parse_input(doc))
        assert (info.value.input_id, info.value.field) == (
            "evt-s",
            "data.object.fulfillmentOrderUpstreamId",
        )
        assert (
            info.value.reason
            == f"fulfillment order {FO} belongs to order {ORDER}, not {OTHER}"
        )

    def test_engine_restored_from_states_routes_by_their_fulfillment_orders(
        self,
    ) -> None:
        """An engine built from stored states knows their fulfillment orders."""
        first = Engine()
        accepted_order(first)
        restored = Engine(orders=list(first.orders.values()))
        doc = cancellation("evt-c", "accepted", "ret_1", FO, None, [(FO_LINE, 1, 1)])
        outcome = restored.handle(parse_input(doc))
        assert (outcome.outcome, outcome.order_id) == ("applied", ORDER)


class TestNamedOrder:
    """Which order, and which field, each input names."""

    @pytest.mark.parametrize(
        ("doc", "field"),
        [
            (order_event("e1", "accepted", T1, order_id=OTHER), "data.object.id"),
            (
                fulfillment_order(
                    "e2",
                    "fulfillment_order.pending",
                    FO,
                    OTHER,
                    [fo_line(FO_LINE, LINE, 2)],
                ),
                "data.object.upstreamId",
            ),
            (
                backordered("e3", FO, OTHER, [(FO_LINE, LINE, 1, 1)]),
                "data.object.upstreamId",
            ),
            (
                shipped("e4", "shp", FO, OTHER, [("si", FO_LINE, LINE, 1)]),
                "data.object.fulfillmentOrderUpstreamId",
            ),
            (
                cancellation("e5", "accepted", "ret", FO, OTHER, [(FO_LINE, 1, 1)]),
                "data.object.upstreamId",
            ),
            (request("report_shipment", "r1", OTHER, [(LINE, 1)]), "orderId"),
            (request("request_cancellation", "r2", OTHER, [(LINE, 1)]), "orderId"),
            (request("report_cancellation", "r3", OTHER, [(LINE, 1)]), "orderId"),
        ],
    )
    def test_input_for_another_order_is_refused_at_its_field(
        self, doc: dict[str, object], field: str
    ) -> None:
        """``decide`` on order A refuses an input naming order B, at the naming field."""
        from drfulfillment import decide

        inp = parse_input(doc)
        assert named_order(inp) == (OTHER, field)
        state = OrderState(order_id=ORDER, model=IntegrationModel.DISTRIBUTED)
        with pytest.raises(ConflictingInput) as info:
            decide(state, inp)
        assert (info.value.input_id, info.value.field) == (doc["id"], field)
        assert info.value.reason == f"belongs to order {OTHER}, not to order {ORDER}"

    def test_inputs_without_an_order_name_none(self) -> None:
        """FO events without upstream ids and skipped events name no order."""
        doc = cancellation("e5", "accepted", "ret", FO, None, [(FO_LINE, 1, 1)])
        assert named_order(parse_input(doc)) is None
        skipped = parse_input(
            {"id": "e", "type": "order.invoice.created", "data": {"object": {}}}
        )
        assert named_order(skipped) is None
        assert fulfillment_order_of(skipped) is None

    @pytest.mark.parametrize(
        "doc",
        [
            fulfillment_order(
                "e2",
                "fulfillment_order.pending",
                FO,
                ORDER,
                [fo_line(FO_LINE, LINE, 2)],
            ),
            backordered("e3", FO, ORDER, [(FO_LINE, LINE, 1, 1)]),
            shipped("e4", "shp", FO, ORDER, [("si", FO_LINE, LINE, 1)]),
            cancellation("e5", "accepted", "ret", FO, ORDER, [(FO_LINE, 1, 1)]),
        ],
    )
    def test_fulfillment_order_events_name_their_fulfillment_order(
        self, doc: dict[str, object]
    ) -> None:
        """Every FO-related event names its fulfillment order."""
        assert fulfillment_order_of(parse_input(doc)) == FO
