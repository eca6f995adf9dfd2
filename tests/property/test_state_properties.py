"""Properties of every state the engine reaches: ledger conservation, JSON round trip,
idempotence of every input (issue 2, points 2, 8 and 10)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drfulfillment import Engine, IntegrationModel, OrderState, decide, line_ledger
from drfulfillment.codecs import dump_state, load_state, parse_input
from strategies import deliveries, histories

MODELS = list(IntegrationModel)
IDS = [m.value for m in MODELS]


def reached_states(
    events: list[dict[str, Any]], model: IntegrationModel
) -> list[OrderState]:
    """Every per-order state after each event, including ones with inputs waiting."""
    engine = Engine(model)
    seen: list[OrderState] = []
    for event in events:
        outcome = engine.handle(parse_input(event))
        if outcome.order_id is not None:
            seen.append(engine.orders[outcome.order_id])
    return seen


def check_ledger(state: OrderState) -> None:
    """Every FO line's buckets add up to its quantity, none negative; reports fit."""
    for fo in state.fulfillment_orders:
        for line in fo.lines:
            ledger = line_ledger(state, fo, line)
            buckets = (
                ledger.pending,
                ledger.backordered,
                ledger.shipped,
                ledger.cancelled,
                ledger.returned,
            )
            assert all(b >= 0 for b in buckets)
            assert sum(buckets) == line.quantity
    for order_line in state.lines:
        assert order_line.fulfilled >= 0
        assert order_line.cancelled >= 0
        assert order_line.fulfilled + order_line.cancelled <= order_line.quantity


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@given(data=st.data())
def test_ledger_is_conserved_at_every_step(model: IntegrationModel, data: Any) -> None:
    """Units are conserved per line after every input, in any delivery order."""
    history = data.draw(histories(model))
    for state in reached_states(data.draw(deliveries(history)), model):
        check_ledger(state)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@given(data=st.data())
def test_state_round_trips_through_json(model: IntegrationModel, data: Any) -> None:
    """load_state(dump_state(s)) == s for every reachable state, waiting inputs included."""
    history = data.draw(histories(model, max_orders=1))
    delivered = data.draw(deliveries(history))
    cut = data.draw(st.integers(0, len(delivered)))
    for state in reached_states(delivered[:cut], model):
        assert load_state(dump_state(state)) == state


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@given(data=st.data())
def test_every_input_is_idempotent(model: IntegrationModel, data: Any) -> None:
    """Applying any input (event or merchant request) a second time changes nothing."""
    history = data.draw(histories(model, max_orders=1))
    events = data.draw(deliveries(history))
    order_id = history.lines[0].order_id
    state = OrderState(order_id=order_id, model=model)
    for event in events:
        inp = parse_input(event)
        once = decide(state, inp)
        twice = decide(once.state, inp)
        assert twice.state == once.state
        assert twice.commands == ()
        state = once.state
