"""Any duplication and reordering of a valid history converges (issue 2, point 8).

For every generated valid history of every integration model, and every way DR may
deliver it (duplicates,
redeliveries under new ids, any order), the engine ends in the same state as an
in-order delivery, has told DR exactly what the history says per line (units shipped
captured, units cancelled cancelled), and at no point captured a shipment twice,
captured past what shipped, cancelled past what the fulfiller cancelled, or emitted two
different commands under one idempotency key.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import Json
from drfulfillment import Command, Engine, IntegrationModel
from drfulfillment.codecs import command_json, parse_input
from drfulfillment.testing import assert_calls_sound, totals
from strategies import deliveries, histories

MODELS = list(IntegrationModel)


def run(events: list[Json], model: IntegrationModel) -> tuple[Engine, list[Command]]:
    """Feed ``events`` through a fresh engine; every one must be accepted."""
    engine = Engine(model)
    commands: list[Command] = []
    for event in events:
        outcome = engine.handle(parse_input(event))
        assert not outcome.dropped
        commands += outcome.commands
    return engine, commands


def calls(commands: list[Command]) -> list[dict[str, Any]]:
    """The commands as the DR calls an integration would make."""
    return [command_json(c) for c in commands]


def check_keys(commands: list[Command]) -> None:
    """No idempotency key names two different commands."""
    by_key: dict[str, Command] = {}
    for c in commands:
        assert by_key.setdefault(c.key, c) == c, f"two commands share key {c.key}"


@pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
@given(data=st.data())
def test_in_order_delivery_reports_exactly_the_truth(
    model: IntegrationModel, data: Any
) -> None:
    """Delivered once, in order: every shipped unit captured, every cancelled unit released."""
    history = data.draw(histories(model))
    engine, commands = run(list(history.events), model)
    check_keys(commands)
    assert_calls_sound(history, calls(commands))
    assert engine.waiting() == []


@pytest.mark.parametrize("model", MODELS, ids=[m.value for m in MODELS])
@given(data=st.data())
def test_any_delivery_converges(model: IntegrationModel, data: Any) -> None:
    """Duplicated, redelivered and reordered: same final state, same totals, never unsafe."""
    history = data.draw(histories(model))
    baseline, base_commands = run([*history.events, *history.aliases], model)
    engine, commands = run(data.draw(deliveries(history)), model)
    check_keys(commands)
    assert_calls_sound(history, calls(commands))
    assert totals(calls(commands)) == totals(calls(base_commands))
    assert engine.orders == baseline.orders
    assert engine.waiting() == baseline.waiting() == []
