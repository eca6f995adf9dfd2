"""The one home of hypothesis strategies for the tests: the public kit's, re-exported.

:mod:`drfulfillment.testing` is what integrators use; our own property tests use exactly
the same strategies, so the kit is proven by the suite that proves the engine.
"""

from typing import Any

from hypothesis import strategies as st

from drfulfillment.domain.commands import CreateFulfillment, FulfillmentItem
from drfulfillment.domain.inputs import Tracking
from drfulfillment.testing import (
    ChargeTruth,
    History,
    LineTruth,
    deliveries,
    histories,
    orders,
)

__all__ = [
    "ChargeTruth",
    "History",
    "LineTruth",
    "create_fulfillments",
    "deliveries",
    "histories",
    "json_values",
    "orders",
]

_ids = st.text("0123456789abcdef-", min_size=1, max_size=12)
_maybe_units = st.none() | st.integers(min_value=0, max_value=10**6)


def create_fulfillments() -> st.SearchStrategy[CreateFulfillment]:
    """``CreateFulfillment`` commands, any of their optional fields absent."""
    items = st.builds(
        FulfillmentItem,
        item_id=_ids,
        quantity=_maybe_units,
        cancel_quantity=_maybe_units,
        shipment_item_id=st.none() | _ids,
    )
    tracking = st.builds(
        Tracking,
        company=st.none() | st.text(max_size=8),
        number=st.none() | _ids,
        url=st.none() | st.just("https://t.example/1"),
    )
    return st.builds(
        CreateFulfillment,
        key=_ids,
        order_id=_ids,
        items=st.lists(items, max_size=4).map(tuple),
        shipment_id=st.none() | _ids,
        tracking=tracking,
    )


def json_values() -> st.SearchStrategy[Any]:
    """Values JSON can hold: null, flags, integers of any size, finite floats, text, and
    lists and objects of them."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=20,
    )
