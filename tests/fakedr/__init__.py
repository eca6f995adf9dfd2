"""A fake Digital River API server on loopback, for testing the adapters.

``from fakedr import FakeDr``; see :mod:`fakedr.server` (HTTP, faults, records) and
:mod:`fakedr.rules` (DR's rules and the fake's choices where DR is silent).
"""

from fakedr.rules import Order, Reply
from fakedr.server import FAULTS, Call, Effect, FakeDr

__all__ = ["FAULTS", "Call", "Effect", "FakeDr", "Order", "Reply"]
