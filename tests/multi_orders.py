"""Many orders from one example: ``examples/distributed.jsonl`` copied with fresh ids.

Copy ``n`` of the history renames every id it holds (order, lines, fulfillment order
and its lines, shipment, charges, events, the merchant's request) by appending ``n`` as
digits, so numeric ids stay numbers and every idempotency key differs between copies.
Products (SKU, inventory item) are shared, as in a real catalogue. The fault and
concurrency suites use these as realistic multi-order loads with a known outcome.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "distributed.jsonl"
ORDER = "204440790336"
LINE = "127911830336"

#: Ids kept as they are in every copy: shared products and the selling entity.
_SHARED = frozenset({"ed7b06bd-7b2e-4525-9156-cd6fcbe7fe42", "C5_INC-ENTITY"})


def _ids(value: Any, key: str | None, found: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _ids(v, k, found)
    elif isinstance(value, list):
        for v in value:
            _ids(v, key, found)
    elif key and (key == "id" or key.endswith("Id")) and value is not None:
        found.add(str(value))


@cache
def _pattern() -> re.Pattern[str]:
    found: set[str] = set()
    for line in EXAMPLE.read_text("utf-8").splitlines():
        if line.strip():
            _ids(json.loads(line), None, found)
    names = sorted(found - _SHARED, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")(?![\w-])")


def order_id(n: int) -> str:
    """The order id of copy ``n``."""
    return f"{ORDER}{n:04d}"


def line_id(n: int) -> str:
    """The order line id of copy ``n``."""
    return f"{LINE}{n:04d}"


def history(n: int) -> list[bytes]:
    """Copy ``n`` of the example history, one JSON document per element, in order."""
    text = _pattern().sub(lambda m: f"{m.group(1)}{n:04d}", EXAMPLE.read_text("utf-8"))
    return [ln.encode() for ln in text.splitlines() if ln.strip()]


def histories(count: int) -> list[list[bytes]]:
    """Copies ``0 .. count-1``."""
    return [history(n) for n in range(count)]
