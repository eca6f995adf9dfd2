"""Order events teach the order's lines; what DR states about a line wins over a guess."""

from __future__ import annotations

import pytest

from builders import order_event
from drfulfillment.codecs import parse_input
from drfulfillment.domain import ConflictingInput, IntegrationModel, OrderState, decide

ORDER = "204440790336"
LINE = "127911830336"
T1 = "2021-11-01T18:23:06Z"
T2 = "2021-11-01T18:24:06Z"


def fresh() -> OrderState:
    """An order the engine knows nothing about yet."""
    return OrderState(order_id=ORDER, model=IntegrationModel.DISTRIBUTED)


class TestPhysical:
    """``OrderLine.physical``: stated by DR, else the catalog, else physical."""

    @pytest.mark.parametrize("stated_first", [True, False])
    def test_stated_value_wins_in_any_order(self, stated_first: bool) -> None:
        """An expanded event saying digital wins whether it comes first or second."""
        plain = parse_input(
            order_event(
                "evt-1", "pending_payment", T1, items=((LINE, 2, None),), transitions=()
            )
        )
        stated = parse_input(
            order_event(
                "evt-2",
                "pending_payment",
                T2,
                items=((LINE, 2, False),),
                transitions=(),
            )
        )
        first, second = (stated, plain) if stated_first else (plain, stated)
        state = decide(decide(fresh(), first).state, second).state
        line = state.line(LINE)
        assert line is not None
        assert (line.physical, line.physical_stated) == (False, True)

    def test_digital_line_gets_no_fulfillment_order(self) -> None:
        """Once DR says a line is digital, accepting the order creates no fulfillment order."""
        plain = parse_input(
            order_event(
                "evt-1", "pending_payment", T1, items=((LINE, 2, None),), transitions=()
            )
        )
        stated = parse_input(
            order_event("evt-2", "accepted", T2, items=((LINE, 2, False),))
        )
        decision = decide(decide(fresh(), plain).state, stated)
        assert decision.commands == ()

    def test_contradicting_statements_refused(self) -> None:
        """DR saying physical, then digital, for the same line is refused; state unchanged."""
        one = decide(
            fresh(),
            parse_input(order_event("evt-1", "accepted", T1, items=((LINE, 2, True),))),
        )
        with pytest.raises(ConflictingInput) as info:
            decide(
                one.state,
                parse_input(
                    order_event("evt-2", "accepted", T2, items=((LINE, 2, False),))
                ),
            )
        assert info.value.input_id == "evt-2"
        assert info.value.field == "data.object.items[0].productDetails.physical"

    def test_catalog_guess_is_not_a_statement(self) -> None:
        """The catalog decides when DR does not say, and is marked as a guess."""
        plain = parse_input(
            order_event(
                "evt-1", "pending_payment", T1, items=((LINE, 2, None),), transitions=()
            )
        )
        line = decide(fresh(), plain, catalog={f"sku-{LINE}": False}).state.line(LINE)
        assert line is not None
        assert (line.physical, line.physical_stated) == (False, False)


class TestReturnedIsClosing:
    """``order.refunded`` in state ``returned`` waits, like ``order.fulfilled``."""

    def test_early_returned_order_still_captures_its_shipment(self) -> None:
        """Delivered before the shipment, it waits; the shipment is captured, then it applies."""
        from builders import fo_line, fulfillment_order, order_event, shipped
        from drfulfillment.domain import Engine, IntegrationModel, OrderStatus
        from harness import feed

        order, item, fo, line = "204440790336", "127911830336", "fo-1", "fl-1"
        engine = Engine(IntegrationModel.DISTRIBUTED)
        feed(
            engine,
            order_event(
                "e1", "accepted", "2021-11-01T10:00:00Z", items=((item, 1, True),)
            ),
            fulfillment_order(
                "e2", "fulfillment_order.pending", fo, order, [fo_line(line, item, 1)]
            ),
        )
        refunded = order_event(
            "e3",
            "returned",
            "2021-11-01T10:05:00Z",
            items=((item, 1, True),),
            transitions=("accepted", "fulfilled", "returned"),
            event_type="order.refunded",
        )
        assert feed(engine, refunded) == []
        assert [w.input_id for w in engine.waiting()] == ["e3"]
        out = feed(engine, shipped("e4", "s1", fo, order, [("s1-i", line, item, 1)]))
        assert [c.get("path") for c in out if "path" in c] == ["/fulfillments"]
        assert engine.orders[order].status is OrderStatus.RETURNED
        assert engine.waiting() == []


class TestDetails:
    """``OrderDetails``: each field is learnt once, from the first event showing it."""

    def test_the_fields_merged_are_the_records_fields_in_order(self) -> None:
        """``_merge_details`` lists the event's values in the record's field order."""
        import attrs

        from drfulfillment.domain.order_facts import _DETAIL_FIELDS
        from drfulfillment.domain.state import OrderDetails

        assert tuple(f.name for f in attrs.fields(OrderDetails)) == _DETAIL_FIELDS
        assert _DETAIL_FIELDS == (
            "created_time",
            "currency",
            "locale",
            "checkout_id",
            "email",
            "ship_to",
            "bill_to",
            "service_level",
        )

    def test_a_later_event_fills_only_what_was_missing(self) -> None:
        first = order_event("evt-1", "pending_payment", T1, transitions=())
        first["data"]["object"].pop("email", None)
        first["data"]["object"]["locale"] = "en_US"
        later = order_event("evt-2", "pending_payment", T2, transitions=())
        later["data"]["object"]["email"] = "later@example.com"
        later["data"]["object"]["locale"] = "fr_FR"
        state = decide(fresh(), parse_input(first)).state
        assert state.details is not None
        assert state.details.email is None
        merged = decide(state, parse_input(later)).state.details
        assert merged is not None
        assert merged.email == "later@example.com"
        assert merged.locale == "en_US"
        assert merged.currency == state.details.currency
