"""Any duplication and reordering of a valid history converges (issue 2, point 8).

For every generated valid history and every way DR may deliver it (duplicates,
redeliveries under new ids, any order), the engine ends in the same state as an
in-order delivery, has told DR exactly what the history says per line (units shipped
captured, units cancelled cancelled), and at no point captured a shipment twice,
captured past what shipped, cancelled past what the fulfiller cancelled, or emitted two
different commands under one idempotency key.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from builders import Json
from drfulfillment import (
    Command,
    CreateFulfillment,
    CreateFulfillmentOrder,
    Engine,
    IntegrationModel,
    OrderState,
)
from drfulfillment.codecs import parse_input
from strategies import History, deliveries, histories


def run(events: list[Json]) -> tuple[Engine, list[Command]]:
    """Feed ``events`` through a fresh engine; every one must be accepted."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    commands: list[Command] = []
    for event in events:
        outcome = engine.handle(parse_input(event))
        assert not outcome.dropped
        commands += outcome.commands
    return engine, commands


def totals(commands: list[Command]) -> dict[tuple[str, str], tuple[int, int]]:
    """Units captured and cancelled per (order, line) by ``commands``."""
    out: Counter[tuple[str, str, str]] = Counter()
    for c in commands:
        if isinstance(c, CreateFulfillment):
            for item in c.items:
                out[(c.order_id, item.item_id, "captured")] += item.quantity or 0
                out[(c.order_id, item.item_id, "cancelled")] += (
                    item.cancel_quantity or 0
                )
    keys = {(o, i) for (o, i, _) in out}
    return {k: (out[(*k, "captured")], out[(*k, "cancelled")]) for k in keys}


def check_safety(history: History, commands: list[Command]) -> None:
    """Nothing captured twice, past what shipped, or cancelled past what was cancelled."""
    by_key: dict[str, Command] = {}
    for c in commands:
        assert by_key.setdefault(c.key, c) == c, f"two commands share key {c.key}"
    shipments = [
        c.shipment_id
        for c in commands
        if isinstance(c, CreateFulfillment) and c.shipment_id
    ]
    assert len(shipments) == len(set(shipments)), "a shipment was captured twice"
    creates = [c.order_id for c in commands if isinstance(c, CreateFulfillmentOrder)]
    assert len(creates) == len(set(creates)), "two fulfillment orders for one order"
    sums = totals(commands)
    for line in history.lines:
        captured, cancelled = sums.get((line.order_id, line.item_id), (0, 0))
        assert captured <= line.shipped
        assert cancelled <= line.cancelled
        assert captured + cancelled <= line.quantity


def expected_totals(history: History) -> dict[tuple[str, str], tuple[int, int]]:
    """What DR must end up told, per line: the history's truth."""
    return {
        (ln.order_id, ln.item_id): (ln.shipped, ln.cancelled)
        for ln in history.lines
        if ln.shipped or ln.cancelled
    }


def states(engine: Engine) -> dict[str, OrderState]:
    """The engine's per-order states."""
    return dict(engine.orders)


@given(history=histories())
def test_in_order_delivery_reports_exactly_the_truth(history: History) -> None:
    """Delivered once, in order: every shipped unit captured, every cancelled unit cancelled."""
    engine, commands = run(list(history.events))
    check_safety(history, commands)
    assert totals(commands) == expected_totals(history)
    assert engine.waiting() == []


@given(data=st.data(), history=histories())
def test_any_delivery_converges(data: Any, history: History) -> None:
    """Duplicated, redelivered and reordered: same final state, same totals, never unsafe."""
    baseline, base_commands = run([*history.events, *history.aliases])
    delivered = data.draw(deliveries(history))
    engine, commands = run(delivered)
    check_safety(history, commands)
    assert totals(commands) == totals(base_commands) == expected_totals(history)
    assert states(engine) == states(baseline)
    assert engine.waiting() == baseline.waiting() == []
