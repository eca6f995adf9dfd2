"""The reconciliation report as JSON (``drfulfillment replay --report``).

One object per order: per line what the engine reported to DR and what DR recorded,
returned and refunded; per charge its money by state; the order's totals; and every
difference found (:func:`drfulfillment.domain.money.reconciliation`). Field names are
camelCase like DR's; money is a JSON number; a figure DR never showed is ``null``.
"""

from __future__ import annotations

from typing import Any

from drfulfillment.codecs.json import make_converter
from drfulfillment.domain.money import Reconciliation

__all__ = ["reconciliation_json"]

_CONVERTER = make_converter()


def reconciliation_json(report: Reconciliation) -> dict[str, Any]:
    """``report`` as a JSON-ready dict, with ``settled`` and ``balanced`` spelled out."""
    data: dict[str, Any] = _CONVERTER.unstructure(report)
    for charge, balance in zip(data["charges"], report.charges, strict=True):
        charge["settled"] = balance.settled
    data["balanced"] = report.balanced
    return data
