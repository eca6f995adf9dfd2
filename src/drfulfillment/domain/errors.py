"""Typed errors for refused inputs.

Every refusal names the input (event id or request id), the field at fault (a JSON-ish
path such as ``items[0].quantity``, or ``None``) and a reason a person can act on. A
refused input never changes state.
"""

from __future__ import annotations

__all__ = [
    "ConflictingInput",
    "IllegalTransition",
    "InputRefused",
    "LedgerViolation",
    "MalformedInput",
    "QuantityExceeded",
    "UnknownReference",
    "UnsupportedInModel",
]


class InputRefused(Exception):  # noqa: N818 - a refusal, named for what it is
    """An event or request that cannot be applied; state is left exactly as it was."""

    def __init__(self, input_id: str | None, field: str | None, reason: str) -> None:
        self.input_id = input_id
        self.field = field
        self.reason = reason
        where = f" at {field}" if field else ""
        super().__init__(f"{input_id or '-'}{where}: {reason}")


class MalformedInput(InputRefused):
    """The JSON is not valid, or a field has the wrong type or is missing."""


class UnknownReference(InputRefused):
    """An id (order, fulfillment order, line item) that the engine does not know."""


class QuantityExceeded(InputRefused):
    """More units shipped, cancelled or requested than the line has available."""


class LedgerViolation(InputRefused):
    """Quantities that cannot be true: buckets not adding up, negative units."""


class IllegalTransition(InputRefused):
    """A lifecycle change that the declared lifecycle does not allow."""


class ConflictingInput(InputRefused):
    """An input that contradicts what an earlier accepted input established."""


class UnsupportedInModel(InputRefused):
    """A request that the configured integration model does not allow."""
