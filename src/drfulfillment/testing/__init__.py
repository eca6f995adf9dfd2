"""The property-testing kit: generate DR histories and deliveries, check the calls made.

Needs hypothesis: ``pip install 'drfulfillment[testing]'``. Use it to test your own
integration the way drfulfillment tests itself::

    from hypothesis import given, strategies as st
    from drfulfillment.testing import assert_calls_sound, deliveries, histories

    @given(st.data(), histories())
    def test_my_handler(data, history):
        calls = my_handler_replay(data.draw(deliveries(history)))
        assert_calls_sound(history, calls)

See ``docs/testing-kit.md``.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    msg = "drfulfillment.testing needs hypothesis: pip install 'drfulfillment[testing]'"
    raise ImportError(msg) from exc

from drfulfillment.testing.checks import (
    assert_calls_sound,
    check_calls,
    return_totals,
    totals,
)
from drfulfillment.testing.deliveries import deliveries
from drfulfillment.testing.events import Json
from drfulfillment.testing.histories import (
    ChargeTruth,
    History,
    LineTruth,
    histories,
    orders,
)

__all__ = [
    "ChargeTruth",
    "History",
    "Json",
    "LineTruth",
    "assert_calls_sound",
    "check_calls",
    "deliveries",
    "histories",
    "orders",
    "return_totals",
    "totals",
]
