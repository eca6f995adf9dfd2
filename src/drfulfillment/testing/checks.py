"""Checkers: did an integration tell DR exactly what a history says, and nothing twice?

Give :func:`check_calls` the :class:`~drfulfillment.testing.History` and the DR calls an
integration made for it (``{"method", "path", "body"}`` dicts, as sent; the replay
CLI's JSON lines and :func:`drfulfillment.codecs.command_json` fit too). It returns
every violation found, each naming the order, the line and the figures:

* a shipment captured twice, or two fulfillment orders for one order;
* a line captured past what shipped, cancelled past what was cancelled, or reported
  past its quantity;
* with ``complete=True`` (the history was delivered in full): a shipped unit never
  captured, a cancelled unit never released;
* in the orchestrated model, any ``POST /fulfillment-orders`` or ``POST /fulfillments``
  (DR makes them itself).

:func:`assert_calls_sound` raises ``AssertionError`` listing them, for use in tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from drfulfillment.domain.state import IntegrationModel
from drfulfillment.testing.truth import History

__all__ = ["assert_calls_sound", "check_calls", "totals"]


def _calls(calls: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for call in calls:
        path, body = call.get("path"), call.get("body")
        if (
            isinstance(path, str)
            and isinstance(body, Mapping)
            and call.get("method", "POST") == "POST"
        ):
            out.append((path, body))
    return out


def totals(
    calls: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str], tuple[int, int]]:
    """Units captured and cancelled per ``(order id, line id)`` by ``POST /fulfillments``."""
    units: Counter[tuple[str, str, int]] = Counter()
    for path, body in _calls(calls):
        if path != "/fulfillments":
            continue
        for item in body.get("items", ()):
            key = (str(body.get("orderId")), str(item.get("itemId")))
            units[(*key, 0)] += int(item.get("quantity") or 0)
            units[(*key, 1)] += int(item.get("cancelQuantity") or 0)
    keys = {(o, i) for (o, i, _) in units}
    return {k: (units[(*k, 0)], units[(*k, 1)]) for k in sorted(keys)}


def check_calls(
    history: History, calls: Iterable[Mapping[str, Any]], *, complete: bool = True
) -> list[str]:
    """Every way ``calls`` break the money rules for ``history`` (empty when sound)."""
    calls = list(calls)
    found: list[str] = []
    made = _calls(calls)
    if history.model is IntegrationModel.ORCHESTRATED:
        found += [
            f"orchestrated model: {path} must never be called (DR makes it itself)"
            for path, _ in made
            if path in ("/fulfillments", "/fulfillment-orders")
        ]
    shipments = Counter(
        str(body["shipmentId"])
        for path, body in made
        if path == "/fulfillments" and body.get("shipmentId")
    )
    found += [
        f"shipment {sid} captured {n} times"
        for sid, n in sorted(shipments.items())
        if n > 1
    ]
    creations = Counter(
        str(body.get("upstreamId"))
        for path, body in made
        if path == "/fulfillment-orders"
    )
    found += [
        f"order {oid}: {n} fulfillment orders created"
        for oid, n in sorted(creations.items())
        if n > 1
    ]
    sums = totals(calls)
    known = {(ln.order_id, ln.item_id) for ln in history.lines}
    found += [
        f"order {o} line {i}: reported but not in the history"
        for (o, i) in sums
        if (o, i) not in known
    ]
    for line in history.lines:
        captured, cancelled = sums.get((line.order_id, line.item_id), (0, 0))
        where = f"order {line.order_id} line {line.item_id}"
        if captured > line.shipped:
            found.append(f"{where}: {captured} captured but {line.shipped} shipped")
        if cancelled > line.cancelled:
            found.append(
                f"{where}: {cancelled} cancelled but {line.cancelled} were cancellable"
            )
        if captured + cancelled > line.quantity:
            found.append(
                f"{where}: {captured + cancelled} reported of {line.quantity} ordered"
            )
        if complete and history.model is not IntegrationModel.ORCHESTRATED:
            if captured < line.shipped:
                found.append(
                    f"{where}: {line.shipped} shipped but only {captured} captured"
                )
            if cancelled < line.cancelled:
                found.append(
                    f"{where}: {line.cancelled} cancelled but only {cancelled} released"
                )
    return found


def assert_calls_sound(
    history: History, calls: Iterable[Mapping[str, Any]], *, complete: bool = True
) -> None:
    """Raise ``AssertionError`` listing every violation :func:`check_calls` finds."""
    found = check_calls(history, calls, complete=complete)
    if found:
        raise AssertionError("DR calls break the money rules:\n  " + "\n  ".join(found))
