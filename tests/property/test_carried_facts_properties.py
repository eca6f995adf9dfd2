"""Facts carried from one state to the next are the facts of the next (issue 7, speed).

``decide`` lets a state reuse the sums already taken for the state it came from, where
they hold (:func:`drfulfillment.domain.sums.carry`), so the next input for an order
reads its old state's ledgers without summing them again. For any delivery of any
generated history: every order state the engine holds has facts equal to those summed
afresh, and an engine whose states carry nothing decides every input the same way.
"""

from __future__ import annotations

import importlib
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drfulfillment import Engine, IntegrationModel, OrderState
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.ledger import _derive, _moved, cancelled_by_item
from drfulfillment.domain.sums import Facts, facts_of
from harness import outcome_of
from strategies import deliveries, histories

MODELS = list(IntegrationModel)
# The module, not the function ``drfulfillment.domain.decide`` re-exports.
decide_module = importlib.import_module("drfulfillment.domain.decide")
SUMS = (
    "accepted",
    "fr_returned",
    "item_returned",
    "item_shipped",
    "lines",
    "merchant_cancelled",
    "merchant_shipped",
    "shipped",
)


def assert_facts_hold(state: OrderState) -> int:
    """The facts ``state`` holds equal fresh sums; 1 if it held any (carried or not)."""
    held = OrderState._facts.__get__  # type: ignore[attr-defined]
    try:
        facts: Facts = held(state)
    except AttributeError:
        return 0
    fresh = Facts(state)
    for name in SUMS:
        assert getattr(facts, name) == getattr(fresh, name), name
    # The per-order-line totals over fulfillment-order lines, where taken.
    if facts.moved is not None:
        assert facts.moved == _moved(evolve(state))
    if facts.cancelled is not None:
        assert facts.cancelled == cancelled_by_item(evolve(state))
    for fo_id, line_id in facts.ledgers:
        fo = state.fulfillment_order(fo_id)
        line, ledger = facts.ledgers[(fo_id, line_id)]
        if fo is not None and line in fo.lines:
            assert ledger == _derive(fresh, fo, line, None)
    return 1


@pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
@given(data=st.data())
def test_carried_facts_are_the_states_own(model: IntegrationModel, data: Any) -> None:
    history = data.draw(histories(model))
    delivered = data.draw(deliveries(history))
    carrying = Engine(model, pack_when=None)
    plain = Engine(model, pack_when=None)
    held = 0
    for document in delivered:
        expected_outcome = outcome_of(carrying, document)
        with mock.patch.object(decide_module, "carry", return_value=None):
            assert outcome_of(plain, document) == expected_outcome
        for state in carrying.orders.values():
            held += assert_facts_hold(state)
    assert dict(carrying.orders) == dict(plain.orders)
    assert carrying.waiting() == plain.waiting()
    # Held facts were checked: the property is not vacuous.
    assert held > 0 or not any(s.fulfillment_orders for s in plain.orders.values())


def test_facts_are_summed_once_per_state() -> None:
    """Asking twice gives the very same facts; an evolved copy holds none of them."""
    from drfulfillment.domain.evolve import evolve

    state = OrderState(order_id="1", model=IntegrationModel.DISTRIBUTED)
    assert facts_of(state) is facts_of(state)
    assert assert_facts_hold(evolve(state, seen=("x",))) == 0
