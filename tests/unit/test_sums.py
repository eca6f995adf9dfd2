"""``carry``: a state reuses the facts summed for another only where every sum is the same."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.mix import order_history

from drfulfillment import Engine, IntegrationModel, OrderState
from drfulfillment.codecs import parse_input
from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.ledger import _derive, check_invariants, line_ledger
from drfulfillment.domain.lifecycles import FulfillmentReturnStatus, ReturnStatus
from drfulfillment.domain.records import FulfillmentReturn, Return, ReturnLine
from drfulfillment.domain.state import MerchantReport, ReportKind, ShipmentLine
from drfulfillment.domain.sums import Facts, carry, facts_of

_held = OrderState._facts.__get__  # type: ignore[attr-defined]


def held(state: OrderState) -> Facts | None:
    """The facts ``state`` holds, without summing any."""
    try:
        facts: Facts = _held(state)
    except AttributeError:
        return None
    return facts


def shipped_order() -> OrderState:
    """The benchmark's order after its first shipment (and its duplicate)."""
    engine = Engine(pack_when=None)
    history = order_history(0)
    for doc in history[:5]:
        engine.handle(parse_input(doc))
    state = engine.orders[history[0]["data"]["object"]["id"]]
    assert state.shipments
    return evolve(state)  # a copy holding no facts yet


def test_nothing_is_carried_from_a_state_with_none() -> None:
    state = shipped_order()
    target = evolve(state, seen=())
    carry(state, target)
    assert held(target) is None


def test_same_units_share_the_very_same_facts() -> None:
    state = shipped_order()
    facts = facts_of(state)
    target = evolve(state, seen=(), waiting=())
    carry(state, target)
    assert held(target) is facts


def test_reported_flags_and_order_lines_may_differ() -> None:
    state = shipped_order()
    facts = facts_of(state)
    line = state.lines[0]
    target = evolve(
        state,
        shipments=tuple(evolve(s, reported=not s.reported) for s in state.shipments),
        lines=(evolve(line, fulfilled=line.fulfilled + 1), *state.lines[1:]),
    )
    carry(state, target)
    twin = held(target)
    assert twin is not None
    assert twin is not facts
    assert twin.shipped is facts.shipped
    assert twin.lines[line.item_id] is target.lines[0]
    assert twin.lines == Facts(target).lines


def _other_units(state: OrderState) -> dict[str, Any]:
    first = state.shipments[0]
    sl = first.lines[0]
    fewer = evolve(
        first, lines=(evolve(sl, quantity=sl.quantity - 1), *first.lines[1:])
    )
    return {"shipments": (fewer, *state.shipments[1:])}


def _other_shipment_order(state: OrderState) -> dict[str, Any]:
    first = state.shipments[0]
    moved = evolve(first, fulfillment_order_id="another")
    return {"shipments": (moved, *state.shipments[1:])}


def _with_returns(state: OrderState) -> OrderState:
    """``state`` with a fulfillment return and a return: none of the mix has them."""
    fo = state.fulfillment_orders[0]
    back = (ReturnLine(line_id=fo.lines[0].id, quantity=1),)
    return evolve(
        state,
        fulfillment_returns=(
            FulfillmentReturn(
                id="fr1",
                fulfillment_order_id=fo.id,
                status=FulfillmentReturnStatus.ACCEPTED,
                lines=back,
            ),
        ),
        returns=(
            Return(
                id="ret1",
                status=ReturnStatus.ACCEPTED,
                lines=(ReturnLine(line_id=state.lines[0].item_id, quantity=1),),
            ),
        ),
    )


@pytest.mark.parametrize("name", ["cancellations", "fulfillment_returns", "returns"])
def test_equal_collections_that_are_not_the_same_are_summed_afresh(name: str) -> None:
    """Only identity tells that nothing changed: an equal copy is summed again."""
    engine = Engine(pack_when=None)
    history = order_history(0)
    for doc in history[:7]:  # up to the accepted fulfillment cancellation
        engine.handle(parse_input(doc))
    state = _with_returns(engine.orders[history[0]["data"]["object"]["id"]])
    assert getattr(state, name)
    facts_of(state)
    copy = (*getattr(state, name),)
    assert copy is not getattr(state, name)
    target = evolve(state, **{name: copy})
    assert target == state
    carry(state, target)
    assert held(target) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda s: {"shipments": s.shipments[1:]},
        _other_units,
        _other_shipment_order,
    ],
    ids=["one shipment fewer", "a shipment's units", "a shipment's fulfillment order"],
)
def test_other_shipments_are_summed_afresh(change: Any) -> None:
    state = shipped_order()
    facts_of(state)
    target = evolve(state, **change(state))
    carry(state, target)
    assert held(target) is None


def _report(kind: ReportKind, units: int) -> MerchantReport:
    from drfulfillment.domain.inputs import RequestedUnits

    return MerchantReport(
        request_id="r1",
        kind=kind,
        items=(RequestedUnits(item_id="i1", quantity=units),),
    )


@pytest.mark.parametrize(
    ("other", "carried"),
    [
        (lambda r: (evolve(r, reported=not r.reported),), True),
        (lambda r: (evolve(r, items=(*r.items,)),), False),
        (lambda r: (evolve(r, kind=ReportKind.CANCELLATION),), False),
        (lambda r: (), False),
        (lambda r: (r, evolve(r, request_id="r2")), False),
    ],
    ids=["reported flag", "items", "kind", "one fewer", "one more"],
)
def test_merchant_reports_carry_by_their_units(other: Any, carried: bool) -> None:
    state = evolve(
        OrderState(order_id="1", model=IntegrationModel.THIRD_PARTY),
        reports=(_report(ReportKind.SHIPMENT, 2),),
    )
    facts_of(state)
    target = evolve(state, reports=other(state.reports[0]))
    carry(state, target)
    assert (held(target) is not None) is carried
    if carried:
        assert facts_of(target).merchant_shipped == Facts(target).merchant_shipped


def _backordered_more(state: OrderState) -> OrderState:
    """``state`` with its first FO's last line showing one more unit backordered."""
    fo = state.fulfillment_orders[0]
    last = fo.lines[-1]
    bumped = evolve(last, total_backordered=last.total_backordered + 1)
    return evolve(
        state,
        fulfillment_orders=(
            evolve(fo, lines=(*fo.lines[:-1], bumped)),
            *state.fulfillment_orders[1:],
        ),
    )


def test_other_fulfillment_orders_keep_the_sums_not_the_totals_over_them() -> None:
    """No sum is taken over fulfillment orders: a state whose FOs differ shares them,
    takes its own per-order-line totals, and keeps the ledgers of the very same lines
    only, in a dict of its own."""
    state = shipped_order()
    facts = facts_of(state)
    before = {
        (fo.id, ln.id): line_ledger(state, fo, ln)
        for fo in state.fulfillment_orders
        for ln in fo.lines
    }
    check_invariants(state, None)  # takes both totals
    assert facts.moved is not None
    assert facts.cancelled is not None
    target = _backordered_more(state)
    carry(state, target)
    twin = held(target)
    assert twin is not None
    assert twin is not facts
    assert twin.shipped is facts.shipped
    assert twin.accepted is facts.accepted
    assert twin.moved is None
    assert twin.cancelled is None
    assert twin.ledgers == facts.ledgers
    assert twin.ledgers is not facts.ledgers
    fo = target.fulfillment_orders[0]
    assert line_ledger(target, fo, fo.lines[0]) is before[(fo.id, fo.lines[0].id)]
    changed = line_ledger(target, fo, fo.lines[-1])
    assert changed == _derive(Facts(target), fo, fo.lines[-1], None)
    assert changed != before[(fo.id, fo.lines[-1].id)]
    # The old state's ledger of that line is still its own.
    old_fo = state.fulfillment_orders[0]
    assert (
        line_ledger(state, old_fo, old_fo.lines[-1]) is before[(fo.id, fo.lines[-1].id)]
    )


def test_shipment_lines_are_what_the_facts_sum() -> None:
    """The units of a shipment's lines (``ShipmentLine``) are what ``shipped`` sums."""
    state = shipped_order()
    total = sum(sl.quantity for s in state.shipments for sl in s.lines)
    assert sum(facts_of(state).shipped.values()) == total
    assert all(isinstance(sl, ShipmentLine) for s in state.shipments for sl in s.lines)
