"""``domain.evolve``: equal to ``attrs.evolve``, and never skipping validation."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from drfulfillment.domain.evolve import evolve
from drfulfillment.domain.lifecycles import OrderStatus
from drfulfillment.domain.state import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    IntegrationModel,
    OrderLine,
    OrderState,
    Shipment,
    ShipmentLine,
)

STATE = OrderState(
    order_id="o1",
    model=IntegrationModel.DISTRIBUTED,
    status=OrderStatus.ACCEPTED,
    lines=(OrderLine(item_id="i1", sku_id="s", quantity=2, physical=True),),
    seen=("e1",),
)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"status": OrderStatus.FULFILLED},
        {"seen": ("e1", "e2"), "fulfillment_order_requested": True},
        {"order_id": "o2", "waiting": ()},
    ],
)
def test_equal_to_attrs_evolve(changes: dict[str, Any]) -> None:
    mine = evolve(STATE, **changes)
    theirs = attrs.evolve(STATE, **changes)
    assert mine == theirs
    assert mine is not STATE
    assert attrs.asdict(mine, recurse=False) == attrs.asdict(theirs, recurse=False)
    assert hash(mine) == hash(theirs)


def test_the_original_is_untouched() -> None:
    evolve(STATE, status=OrderStatus.CANCELLED)
    assert STATE.status is OrderStatus.ACCEPTED


def test_the_copy_is_still_frozen() -> None:
    copy = evolve(STATE, status=OrderStatus.CANCELLED)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        copy.status = OrderStatus.ACCEPTED  # type: ignore[misc]


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no_such_field"):
        evolve(STATE, no_such_field=1)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (OrderLine(item_id="i", sku_id=None, quantity=1, physical=True), "fulfilled"),
        (
            FulfillmentOrderLine(
                id="l", upstream_id="i", inventory_item_id=None, quantity=1
            ),
            "seen_shipped",
        ),
    ],
)
def test_validators_still_run(record: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        evolve(record, **{field: -1})


def test_nested_records() -> None:
    fo = FulfillmentOrder(id="f", order_id="o1", lines=())
    assert evolve(fo, order_id="o2") == attrs.evolve(fo, order_id="o2")
    s = Shipment(
        id="s",
        fulfillment_order_id="f",
        lines=(
            ShipmentLine(
                id="x", fulfillment_order_item_id="l", item_id="i", quantity=1
            ),
        ),
    )
    assert evolve(s, reported=True) == attrs.evolve(s, reported=True)


@pytest.mark.parametrize(
    "changes",
    [{"fulfilled": 1}, {"cancelled": 2, "fulfilled": 0}, {"quantity": 5}, {}],
)
def test_equal_to_attrs_evolve_with_validators(changes: dict[str, Any]) -> None:
    line = OrderLine(item_id="i", sku_id="s", quantity=3, physical=True, fulfilled=1)
    mine = evolve(line, **changes)
    assert mine == attrs.evolve(line, **changes)
    assert attrs.asdict(mine) == attrs.asdict(attrs.evolve(line, **changes))


def test_a_validator_sees_the_changed_value_on_the_new_record() -> None:
    seen: list[tuple[object, object]] = []

    @attrs.frozen
    class Probe:
        a: int = attrs.field(
            validator=lambda inst, att, value: seen.append((inst.b, value))
        )
        b: str = "b"

    probe = Probe(1)
    seen.clear()
    copy = evolve(probe, a=2)
    assert seen == [("b", 2)]
    assert copy == Probe(2)


def test_every_validator_runs_as_in_attrs_evolve() -> None:
    """A validator of an unchanged field that reads a changed one still refuses."""

    def within_limit(inst: Any, att: Any, value: int) -> None:
        if value > inst.limit:
            raise ValueError(f"{att.name} over limit")

    @attrs.frozen
    class Bounded:
        used: int = attrs.field(validator=within_limit)
        limit: int = 5

    record = Bounded(3)
    with pytest.raises(ValueError, match="used over limit"):
        attrs.evolve(record, limit=2)
    with pytest.raises(ValueError, match="used over limit"):
        evolve(record, limit=2)
