"""Packing an order never changes what the engine decides (issue 7, memory).

The engine holds settled orders packed (:mod:`drfulfillment.domain.packing`). For any
delivery of any generated history, an engine that packs every order it may (all but
those with inputs waiting) and one that packs none give the same outcome for every
input, the same commands, the same orders and the same waiting inputs; and every state
met along the way packs and unpacks to itself, down to each ``Decimal``'s exponent and
each record's class (``repr`` shows both; ``==`` alone would not).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drfulfillment import Engine, IntegrationModel, OrderState
from drfulfillment.domain.packing import pack, unpack
from harness import outcome_of
from strategies import deliveries, histories

MODELS = list(IntegrationModel)


def always(state: OrderState) -> bool:
    """Pack every order the engine may."""
    return True


@pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
@given(data=st.data())
def test_packing_never_changes_a_decision(model: IntegrationModel, data: Any) -> None:
    history = data.draw(histories(model))
    delivered = data.draw(deliveries(history))
    plain = Engine(model, pack_when=None)
    packed = Engine(model, pack_when=always)
    for document in delivered:
        assert outcome_of(packed, document) == outcome_of(plain, document)
        for order_id, state in plain.orders.items():
            assert repr(unpack(pack(state))) == repr(state)
            assert repr(packed.orders[order_id]) == repr(state)
        assert packed.waiting() == plain.waiting()
    assert plain.orders.packed == 0
    assert dict(packed.orders) == dict(plain.orders)
    assert packed.waiting() == plain.waiting()
    # Orders with nothing waiting were packed: the property is not vacuous.
    assert packed.orders.packed == sum(
        1 for s in plain.orders.values() if not s.waiting
    )
