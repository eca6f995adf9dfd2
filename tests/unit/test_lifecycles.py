"""Unit tests of the declared lifecycles and the shared ``Rulebook``.

The expectations are computed here, independently of ``Rulebook``'s compiled tables:
from DR's OpenAPI enums (the wire strings) and from the declared transition tuples.
"""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from drfulfillment.domain.errors import IllegalTransition
from drfulfillment.domain.lifecycles import (
    CAPTURE,
    CHARGE,
    CHARGE_CANCEL,
    CHARGE_REFUND,
    FULFILLMENT_CANCELLATION,
    FULFILLMENT_ORDER,
    FULFILLMENT_RETURN,
    LIFECYCLES,
    LINE_ITEM,
    ORDER,
    POST_FULFILLMENTS_ALLOWED,
    REFUND,
    RETURN,
    CancellationStatus,
    FulfillmentOrderStatus,
    LineItemStatus,
    OrderStatus,
    Rulebook,
    TransitionSpec,
    derive_fulfillment_order_status,
)
from drfulfillment.domain.lifecycles.fulfillment_cancellation import (
    FULFILLMENT_CANCELLATION_TRANSITIONS,
)
from drfulfillment.domain.lifecycles.fulfillment_order import (
    FULFILLMENT_ORDER_TRANSITIONS,
)
from drfulfillment.domain.lifecycles.line_item import LINE_ITEM_TRANSITIONS
from drfulfillment.domain.lifecycles.order import ORDER_TRANSITIONS

OPENAPI = Path(__file__).parents[1] / "fixtures" / "openapi-2021-12-13.json"

#: (rulebook, its declared table, its enum, the OpenAPI schema whose ``state`` it mirrors)
DECLARED: list[tuple[Rulebook[Any], Sequence[TransitionSpec], type[enum.Enum], str]] = [
    (ORDER, ORDER_TRANSITIONS, OrderStatus, "Order"),
    (
        FULFILLMENT_ORDER,
        FULFILLMENT_ORDER_TRANSITIONS,
        FulfillmentOrderStatus,
        "GlobalFulfillmentOrder",
    ),
    (LINE_ITEM, LINE_ITEM_TRANSITIONS, LineItemStatus, "LineItem"),
    (
        FULFILLMENT_CANCELLATION,
        FULFILLMENT_CANCELLATION_TRANSITIONS,
        CancellationStatus,
        "GlobalFulfillmentCancellationResponse",
    ),
]
IDS = ["order", "fulfillment_order", "line_item", "fulfillment_cancellation"]


def _openapi_state_enum(schema: str) -> set[str]:
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    values: list[str] = spec["components"]["schemas"][schema]["properties"]["state"][
        "enum"
    ]
    return set(values)


def _sources(spec: TransitionSpec) -> list[str]:
    source = spec["source"]
    return [source] if isinstance(source, str) else list(source)


def _declared_steps(
    table: Sequence[TransitionSpec],
) -> dict[tuple[str, str], set[str]]:
    """``(source value, trigger) -> destination values``, read from the declaration."""
    steps: dict[tuple[str, str], set[str]] = {}
    for spec in table:
        for source in _sources(spec):
            steps.setdefault((source, str(spec["trigger"])), set()).add(
                str(spec["dest"])
            )
    return steps


def _declared_closure(
    values: Sequence[str], table: Sequence[TransitionSpec]
) -> dict[str, set[str]]:
    """Reflexive-transitive closure by Warshall's algorithm over the declared edges."""
    reach = {v: {v} for v in values}
    for spec in table:
        for source in _sources(spec):
            reach[source].add(str(spec["dest"]))
    for k in values:
        for i in values:
            if k in reach[i]:
                reach[i] |= reach[k]
    return reach


class TestWireValues:
    """The lifecycle enums are DR's wire strings, no more and no fewer."""

    @pytest.mark.parametrize(("book", "table", "states", "schema"), DECLARED, ids=IDS)
    def test_enum_values_equal_openapi_state_enum(
        self,
        book: Rulebook[Any],
        table: Sequence[TransitionSpec],
        states: type[enum.Enum],
        schema: str,
    ) -> None:
        """Each enum's values are exactly the ``state`` enum of its OpenAPI schema."""
        assert {s.value for s in states} == _openapi_state_enum(schema)
        assert book.states is states

    def test_order_wire_values_literal(self) -> None:
        """The order enum maps each member to DR's exact spelling."""
        assert {s.name: s.value for s in OrderStatus} == {
            "PENDING_PAYMENT": "pending_payment",
            "IN_REVIEW": "in_review",
            "ACCEPTED": "accepted",
            "BLOCKED": "blocked",
            "CANCELLED": "cancelled",
            "FULFILLED": "fulfilled",
            "COMPLETE": "complete",
            "RETURNED": "returned",
            "DISPUTE": "dispute",
        }

    def test_registry_names_every_lifecycle_once(self) -> None:
        """``LIFECYCLES`` maps each lifecycle name to its rulebook."""
        assert LIFECYCLES == {
            "order": ORDER,
            "fulfillment_order": FULFILLMENT_ORDER,
            "line_item": LINE_ITEM,
            "fulfillment_cancellation": FULFILLMENT_CANCELLATION,
            "fulfillment_return": FULFILLMENT_RETURN,
            "return": RETURN,
            "refund": REFUND,
            "charge": CHARGE,
            "capture": CAPTURE,
            "charge_cancel": CHARGE_CANCEL,
            "charge_refund": CHARGE_REFUND,
        }

    def test_initial_states(self) -> None:
        """Each lifecycle starts where DR's first state is."""
        assert ORDER.initial is OrderStatus.PENDING_PAYMENT
        assert FULFILLMENT_ORDER.initial is FulfillmentOrderStatus.PENDING
        assert LINE_ITEM.initial is LineItemStatus.PENDING
        assert FULFILLMENT_CANCELLATION.initial is CancellationStatus.PENDING

    def test_post_fulfillments_only_when_accepted(self) -> None:
        """DR accepts ``POST /fulfillments`` only for an ``accepted`` order."""
        assert frozenset({OrderStatus.ACCEPTED}) == POST_FULFILLMENTS_ALLOWED


class TestRulebookStep:
    """``Rulebook.step`` follows the declared table and refuses everything else."""

    @pytest.mark.parametrize(("book", "table", "states", "schema"), DECLARED, ids=IDS)
    def test_step_matches_declared_table(
        self,
        book: Rulebook[Any],
        table: Sequence[TransitionSpec],
        states: type[enum.Enum],
        schema: str,
    ) -> None:
        """Every (state, trigger) pair steps to its single declared dest, else refuses."""
        declared = _declared_steps(table)
        triggers = sorted({str(spec["trigger"]) for spec in table} | {"restock"})
        for state in states:
            for trigger in triggers:
                dests = declared.get((state.value, trigger), set())
                if len(dests) == 1:
                    got = book.step(state, trigger, subject="x", input_id="evt-1")
                    assert got.value == next(iter(dests))
                else:
                    with pytest.raises(IllegalTransition) as info:
                        book.step(state, trigger, subject="x", input_id="evt-1")
                    assert info.value.input_id == "evt-1"
                    assert info.value.field is None
                    assert info.value.reason == (
                        f"{book.name} x: {trigger!r} is not allowed in state "
                        f"{state.value!r}"
                    )

    @pytest.mark.parametrize(("book", "table", "states", "schema"), DECLARED, ids=IDS)
    def test_triggers_match_declared_table(
        self,
        book: Rulebook[Any],
        table: Sequence[TransitionSpec],
        states: type[enum.Enum],
        schema: str,
    ) -> None:
        """``triggers(state)`` lists exactly the triggers declared from that state."""
        declared = _declared_steps(table)
        for state in states:
            expected = {t for (s, t) in declared if s == state.value}
            assert book.triggers(state) == expected

    @pytest.mark.parametrize(
        ("source", "trigger", "dest"),
        [
            (
                OrderStatus.PENDING_PAYMENT,
                "order.review_opened",
                OrderStatus.IN_REVIEW,
            ),
            (OrderStatus.PENDING_PAYMENT, "order.accepted", OrderStatus.ACCEPTED),
            (OrderStatus.IN_REVIEW, "order.accepted", OrderStatus.ACCEPTED),
            (OrderStatus.IN_REVIEW, "order.blocked", OrderStatus.BLOCKED),
            (OrderStatus.ACCEPTED, "order.cancelled", OrderStatus.CANCELLED),
            (OrderStatus.ACCEPTED, "order.fulfilled", OrderStatus.FULFILLED),
            (OrderStatus.FULFILLED, "order.complete", OrderStatus.COMPLETE),
            (OrderStatus.COMPLETE, "order.refunded", OrderStatus.RETURNED),
            (OrderStatus.COMPLETE, "order.dispute", OrderStatus.DISPUTE),
        ],
    )
    def test_order_steps_literal(
        self, source: OrderStatus, trigger: str, dest: OrderStatus
    ) -> None:
        """Spot checks of the order table, written out by hand."""
        assert ORDER.step(source, trigger, subject="o", input_id=None) is dest

    @pytest.mark.parametrize(
        ("source", "trigger"),
        [
            (OrderStatus.ACCEPTED, "order.accepted"),
            (OrderStatus.BLOCKED, "order.accepted"),
            (OrderStatus.FULFILLED, "order.cancelled"),
            (OrderStatus.PENDING_PAYMENT, "order.fulfilled"),
            (OrderStatus.ACCEPTED, "order.refunded"),
            (OrderStatus.ACCEPTED, "no.such.trigger"),
        ],
    )
    def test_order_undeclared_steps_refused(
        self, source: OrderStatus, trigger: str
    ) -> None:
        """Undeclared order triggers raise ``IllegalTransition`` naming the order."""
        with pytest.raises(IllegalTransition) as info:
            ORDER.step(source, trigger, subject="ord-1", input_id="evt-9")
        assert info.value.input_id == "evt-9"
        assert info.value.reason == (
            f"order ord-1: {trigger!r} is not allowed in state {source.value!r}"
        )

    def test_dispute_resolution_has_no_single_step(self) -> None:
        """``order.dispute.resolved`` declares three destinations, so ``step`` refuses."""
        with pytest.raises(IllegalTransition):
            ORDER.step(
                OrderStatus.DISPUTE,
                "order.dispute.resolved",
                subject="o",
                input_id=None,
            )
        for dest in (OrderStatus.ACCEPTED, OrderStatus.FULFILLED, OrderStatus.COMPLETE):
            assert ORDER.can_reach(OrderStatus.DISPUTE, dest)

    def test_other_lifecycles_literal(self) -> None:
        """Spot checks of the FO, line-item and cancellation tables."""
        assert (
            FULFILLMENT_ORDER.step(
                FulfillmentOrderStatus.PENDING,
                "fulfillment_order.shipped",
                subject="fo",
                input_id=None,
            )
            is FulfillmentOrderStatus.SHIPPED
        )
        assert (
            LINE_ITEM.step(
                LineItemStatus.BACKORDERED, "restock", subject="l", input_id=None
            )
            is LineItemStatus.PENDING
        )
        assert (
            LINE_ITEM.step(
                LineItemStatus.SHIPPED,
                "fulfillment_return.accepted",
                subject="l",
                input_id=None,
            )
            is LineItemStatus.SHIPPED
        )
        assert (
            FULFILLMENT_CANCELLATION.step(
                CancellationStatus.PENDING,
                "fulfillment_cancellation.rejected",
                subject="c",
                input_id=None,
            )
            is CancellationStatus.REJECTED
        )
        with pytest.raises(IllegalTransition):
            LINE_ITEM.step(
                LineItemStatus.SHIPPED,
                "fulfillment_order.cancelled",
                subject="l",
                input_id=None,
            )


class TestRulebookReach:
    """``can_reach`` and ``check`` follow the closure of the declared graph."""

    @pytest.mark.parametrize(("book", "table", "states", "schema"), DECLARED, ids=IDS)
    def test_can_reach_equals_independent_closure(
        self,
        book: Rulebook[Any],
        table: Sequence[TransitionSpec],
        states: type[enum.Enum],
        schema: str,
    ) -> None:
        """``can_reach`` agrees with a Warshall closure of the declared table."""
        reach = _declared_closure([s.value for s in states], table)
        for a in states:
            for b in states:
                assert book.can_reach(a, b) == (b.value in reach[a.value]), (a, b)

    @pytest.mark.parametrize(
        ("source", "dest", "expected"),
        [
            (OrderStatus.PENDING_PAYMENT, OrderStatus.RETURNED, True),
            (OrderStatus.IN_REVIEW, OrderStatus.DISPUTE, True),
            (OrderStatus.COMPLETE, OrderStatus.ACCEPTED, True),
            (OrderStatus.ACCEPTED, OrderStatus.ACCEPTED, True),
            (OrderStatus.ACCEPTED, OrderStatus.IN_REVIEW, False),
            (OrderStatus.ACCEPTED, OrderStatus.BLOCKED, False),
            (OrderStatus.IN_REVIEW, OrderStatus.PENDING_PAYMENT, False),
            (OrderStatus.FULFILLED, OrderStatus.CANCELLED, True),  # via dispute
            (OrderStatus.BLOCKED, OrderStatus.CANCELLED, False),
            (OrderStatus.ACCEPTED, OrderStatus.PENDING_PAYMENT, False),
            (OrderStatus.RETURNED, OrderStatus.DISPUTE, False),
        ],
    )
    def test_order_reach_literal(
        self, source: OrderStatus, dest: OrderStatus, expected: bool
    ) -> None:
        """Spot checks of order reachability, written out by hand."""
        assert ORDER.can_reach(source, dest) is expected

    def test_check_refuses_unreachable_change(self) -> None:
        """``check`` raises ``IllegalTransition`` naming both states."""
        with pytest.raises(IllegalTransition) as info:
            ORDER.check(
                OrderStatus.BLOCKED,
                OrderStatus.ACCEPTED,
                subject="ord-1",
                input_id="evt-2",
            )
        assert (info.value.input_id, info.value.field, info.value.reason) == (
            "evt-2",
            None,
            "order ord-1 cannot go from 'blocked' to 'accepted'",
        )
        ORDER.check(
            OrderStatus.IN_REVIEW,
            OrderStatus.COMPLETE,
            subject="ord-1",
            input_id="evt-2",
        )

    @pytest.mark.parametrize(
        ("book", "absorbing"),
        [
            (
                ORDER,
                (OrderStatus.BLOCKED, OrderStatus.CANCELLED, OrderStatus.RETURNED),
            ),
            (
                FULFILLMENT_CANCELLATION,
                (CancellationStatus.ACCEPTED, CancellationStatus.REJECTED),
            ),
            (
                FULFILLMENT_ORDER,
                (FulfillmentOrderStatus.SHIPPED, FulfillmentOrderStatus.CANCELLED),
            ),
            (LINE_ITEM, (LineItemStatus.SHIPPED, LineItemStatus.CANCELLED)),
        ],
        ids=["order", "fulfillment_cancellation", "fulfillment_order", "line_item"],
    )
    def test_absorbing_finals(
        self, book: Rulebook[Any], absorbing: Sequence[enum.Enum]
    ) -> None:
        """Absorbing finals are declared final and reach nothing but themselves."""
        for final in absorbing:
            assert final in book.finals
            for other in book.states:
                assert book.can_reach(final, other) == (other is final), (final, other)

    def test_declared_finals(self) -> None:
        """The finals are exactly the declared ones."""
        assert ORDER.finals == {
            OrderStatus.BLOCKED,
            OrderStatus.CANCELLED,
            OrderStatus.RETURNED,
        }
        assert ORDER.triggers(OrderStatus.COMPLETE) == {
            "order.refunded",
            "order.dispute",
        }
        assert FULFILLMENT_CANCELLATION.finals == {
            CancellationStatus.ACCEPTED,
            CancellationStatus.REJECTED,
        }
        assert ORDER.triggers(OrderStatus.BLOCKED) == frozenset()
        assert ORDER.triggers(OrderStatus.CANCELLED) == frozenset()
        assert ORDER.triggers(OrderStatus.RETURNED) == frozenset()
        assert FULFILLMENT_CANCELLATION.triggers(CancellationStatus.ACCEPTED) == (
            frozenset()
        )
        assert FULFILLMENT_CANCELLATION.triggers(CancellationStatus.REJECTED) == (
            frozenset()
        )

    def test_complete_is_final_but_not_absorbing(self) -> None:
        """A complete order may still be refunded or disputed (DR reference §6.1)."""
        assert ORDER.triggers(OrderStatus.COMPLETE) == {
            "order.refunded",
            "order.dispute",
        }


class _Toy(enum.Enum):
    A = "a"
    B = "b"


class TestRulebookDeclaration:
    """A rulebook refuses declarations that name states its enum lacks."""

    @pytest.mark.parametrize(
        ("spec", "unknown"),
        [
            ({"trigger": "t", "source": "a", "dest": "c"}, "c"),
            ({"trigger": "t", "source": "c", "dest": "b"}, "c"),
            ({"trigger": "t", "source": ["a", "z"], "dest": "b"}, "z"),
        ],
    )
    def test_unknown_state_raises_value_error(
        self, spec: Mapping[str, str | list[str]], unknown: str
    ) -> None:
        """A transition naming an unknown state raises ``ValueError`` naming it."""
        with pytest.raises(
            ValueError, match=r"^toy: transition 't' names unknown state"
        ) as info:
            Rulebook("toy", _Toy, [spec], initial=_Toy.A, finals=())
        assert str(info.value) == (
            f"toy: transition 't' names unknown state {unknown!r}"
        )

    def test_valid_toy_rulebook(self) -> None:
        """A small valid declaration compiles to the expected tables."""
        book = Rulebook(
            "toy",
            _Toy,
            [{"trigger": "go", "source": "a", "dest": "b"}],
            initial=_Toy.A,
            finals=(_Toy.B,),
        )
        assert book.step(_Toy.A, "go", subject="t", input_id=None) is _Toy.B
        assert book.can_reach(_Toy.A, _Toy.B)
        assert not book.can_reach(_Toy.B, _Toy.A)
        assert book.triggers(_Toy.B) == frozenset()


class TestMachines:
    """Exactly one ``transitions.Machine`` per lifecycle, holding no records."""

    @pytest.mark.parametrize(("book", "table", "states", "schema"), DECLARED, ids=IDS)
    def test_machine_has_no_models_and_all_states(
        self,
        book: Rulebook[Any],
        table: Sequence[TransitionSpec],
        states: type[enum.Enum],
        schema: str,
    ) -> None:
        """Each rulebook's machine has no model and exactly the enum's states."""
        assert book.machine.models == []
        assert set(book.machine.states) == {s.value for s in states}

    def test_machines_are_distinct(self) -> None:
        """The four lifecycles do not share a machine."""
        books: list[Rulebook[Any]] = [book for (book, *_) in DECLARED]
        assert len({id(book.machine) for book in books}) == 4

    def test_one_machine_per_lifecycle_after_import(self) -> None:
        """A fresh interpreter that imports the package holds one machine per lifecycle."""
        code = (
            "import gc\n"
            "import drfulfillment\n"
            "from transitions import Machine\n"
            "from drfulfillment.domain.lifecycles import LIFECYCLES\n"
            "found = [o for o in gc.get_objects() if isinstance(o, Machine)]\n"
            "mine = {id(b.machine) for b in LIFECYCLES.values()}\n"
            "print(len(found), sorted(id(m) for m in found) == sorted(mine),"
            " [len(m.models) for m in found])\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
        result = subprocess.run(
            [sys.executable, "-I", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        n = len(LIFECYCLES)
        assert n == 11
        assert result.stdout == f"{n} True {[0] * n}\n"


class TestDeriveFulfillmentOrderStatus:
    """The FO state derived from its lines' states."""

    @pytest.mark.parametrize(
        ("lines", "expected"),
        [
            ((), FulfillmentOrderStatus.PENDING),
            ((LineItemStatus.PENDING,), FulfillmentOrderStatus.PENDING),
            ((LineItemStatus.BACKORDERED,), FulfillmentOrderStatus.PENDING),
            ((LineItemStatus.CANCELLED,), FulfillmentOrderStatus.CANCELLED),
            (
                (LineItemStatus.CANCELLED, LineItemStatus.CANCELLED),
                FulfillmentOrderStatus.CANCELLED,
            ),
            (
                (LineItemStatus.CANCELLED, LineItemStatus.PENDING),
                FulfillmentOrderStatus.PENDING,
            ),
            (
                (LineItemStatus.CANCELLED, LineItemStatus.BACKORDERED),
                FulfillmentOrderStatus.PENDING,
            ),
            ((LineItemStatus.SHIPPED,), FulfillmentOrderStatus.SHIPPED),
            (
                (LineItemStatus.PENDING, LineItemStatus.SHIPPED),
                FulfillmentOrderStatus.SHIPPED,
            ),
            (
                (LineItemStatus.CANCELLED, LineItemStatus.SHIPPED),
                FulfillmentOrderStatus.SHIPPED,
            ),
            (
                (LineItemStatus.BACKORDERED, LineItemStatus.SHIPPED),
                FulfillmentOrderStatus.SHIPPED,
            ),
        ],
    )
    def test_rules(
        self, lines: tuple[LineItemStatus, ...], expected: FulfillmentOrderStatus
    ) -> None:
        """All cancelled -> cancelled; any shipped -> shipped; otherwise pending."""
        assert derive_fulfillment_order_status(lines) is expected

    def test_accepts_a_generator(self) -> None:
        """A one-shot iterable is read once and still judged on all lines."""
        statuses = iter([LineItemStatus.CANCELLED, LineItemStatus.CANCELLED])
        assert derive_fulfillment_order_status(statuses) is (
            FulfillmentOrderStatus.CANCELLED
        )
