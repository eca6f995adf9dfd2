"""``pack``/``unpack`` and the engine's packed orders (issue 7, memory)."""

from __future__ import annotations

import pickle
from decimal import Decimal

import attrs
import pytest
from benchmarks.mix import order_history

from drfulfillment import Engine, EngineOrders, InputRefused, OrderState, settled
from drfulfillment.codecs import parse_input
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.packing import pack, unpack
from drfulfillment.domain.state import OrderLine


@attrs.frozen(kw_only=True)
class FancyLine(OrderLine):
    """A record of a class the state does not declare."""

    note: str = ""


@attrs.frozen
class Node:
    """A record that nests its own class."""

    name: str
    children: tuple[Node, ...] = ()
    parent: Node | None = None


def completed(n: int = 0) -> Engine:
    """An engine that saw order ``n``'s whole history (it ends in ``order.complete``)."""
    engine = Engine()
    for doc in order_history(n):
        engine.handle(parse_input(doc))
    return engine


def order_id(engine: Engine) -> str:
    (only,) = engine.orders
    return only


class TestPack:
    def test_round_trip_keeps_every_value_and_type(self) -> None:
        engine = completed()
        state = engine.orders[order_id(engine)]
        back = unpack(pack(state))
        assert back == state
        assert repr(back) == repr(state)
        amounts = [ln.amount for ln in back.lines]
        assert amounts
        assert all(str(a) == "20.0" for a in amounts)

    def test_decimal_exponent_survives(self) -> None:
        state = completed().orders.values().__iter__().__next__()
        line = evolve(state.lines[0], amount=Decimal("1.500"), tax_amount=Decimal("2"))
        changed = evolve(state, lines=(line, *state.lines[1:]))
        back = unpack(pack(changed))
        assert str(back.lines[0].amount) == "1.500"
        assert str(back.lines[0].tax_amount) == "2"

    def test_a_record_of_a_subclass_keeps_its_class(self) -> None:
        state = completed().orders["900000000000"]
        line = state.lines[0]
        fancy = FancyLine(**attrs.asdict(line, recurse=False), note="gift")
        changed = evolve(state, lines=(fancy, *state.lines[1:]))
        back = unpack(pack(changed))
        assert type(back.lines[0]) is FancyLine
        assert back.lines[0] == fancy
        assert back == changed

    def test_a_record_nesting_its_own_class(self) -> None:
        tree = Node("a", (Node("b"), Node("c", (Node("d"),))), Node("root"))
        state = OrderState(order_id="o", model=Engine().model)
        odd = evolve(state, details=tree)
        back: object = unpack(pack(odd)).details
        assert back == tree

    def test_is_much_smaller_than_the_records(self) -> None:
        engine = completed()
        # As records, the same order holds about 7.4 KB, and 10.3 KB with the sums it
        # keeps for its next input (docs/benchmarks.md, row 4).
        assert len(pack(engine.orders[order_id(engine)])) < 1500

    def test_unpack_loads_no_class(self) -> None:
        """Bytes that name a class are refused: unpacking can never run code."""
        state = OrderState(order_id="o", model=Engine().model)
        with pytest.raises(TypeError, match="packed data names"):
            unpack(pickle.dumps(state))

    def test_refuses_what_it_cannot_rebuild(self) -> None:
        state = OrderState(order_id="o", model=Engine().model)
        odd = evolve(state, details=frozenset({"a"}))
        with pytest.raises(TypeError, match="cannot pack a frozenset"):
            pack(odd)


class TestEnginePacking:
    def test_a_completed_order_is_held_packed(self) -> None:
        engine = completed()
        oid = order_id(engine)
        assert engine.orders.packed == 1
        assert settled(engine.orders[oid])
        plain = Engine(pack_when=None)
        for doc in order_history(0):
            plain.handle(parse_input(doc))
        assert plain.orders.packed == 0
        assert engine.orders[oid] == plain.orders[oid]

    def test_an_order_in_progress_is_not_packed(self) -> None:
        engine = Engine()
        for doc in order_history(0)[:-2]:
            engine.handle(parse_input(doc))
        assert engine.orders.packed == 0

    def test_a_duplicate_for_a_packed_order_changes_nothing(self) -> None:
        engine = completed()
        oid = order_id(engine)
        before = engine.orders[oid]
        out = engine.handle(parse_input(order_history(0)[-1]))
        assert out.outcome == "duplicate"
        assert out.commands == ()
        assert engine.orders.packed == 1
        assert engine.orders[oid] == before

    def test_a_refused_input_leaves_a_packed_order_as_it_was(self) -> None:
        engine = completed()
        oid = order_id(engine)
        before = engine.orders[oid]
        report = {
            "request": "report_shipment",
            "requestId": "too-many",
            "orderId": oid,
            "items": [{"itemId": before.lines[0].item_id, "quantity": 99}],
        }
        with pytest.raises(InputRefused):
            engine.handle(parse_input(report))
        assert engine.orders.packed == 1
        assert engine.orders[oid] == before

    def test_a_packed_order_no_longer_to_pack_is_held_as_records(self) -> None:
        engine = completed()
        oid = order_id(engine)
        engine.pack_when = lambda s: False
        # The next input is decided on the unpacked state, which is kept as records.
        doc = order_history(0)[0]
        redelivered = {**doc, "id": "e0-acc-again"}
        out = engine.handle(parse_input(redelivered))
        assert out.outcome == "applied"
        assert engine.orders.packed == 0
        assert "e0-acc-again" in engine.orders[oid].seen

    def test_orders_view(self) -> None:
        engine = completed(0)
        for doc in order_history(1)[:3]:
            engine.handle(parse_input(doc))
        orders = engine.orders
        assert isinstance(orders, EngineOrders)
        assert len(orders) == 2
        assert orders.packed == 1
        assert set(orders) == {"900000000000", "900000000001"}
        assert "900000000001" in orders
        assert "nope" not in orders
        with pytest.raises(KeyError):
            orders["nope"]

    def test_seeded_settled_orders_are_packed(self) -> None:
        state = completed().orders["900000000000"]
        engine = Engine(orders=[state])
        assert engine.orders.packed == 1
        assert engine.orders["900000000000"] == state
