"""The one home of hypothesis strategies for the tests: the public kit's, re-exported.

:mod:`drfulfillment.testing` is what integrators use; our own property tests use exactly
the same strategies, so the kit is proven by the suite that proves the engine.
"""

from drfulfillment.testing import (
    ChargeTruth,
    History,
    LineTruth,
    deliveries,
    histories,
    orders,
)

__all__ = ["ChargeTruth", "History", "LineTruth", "deliveries", "histories", "orders"]
