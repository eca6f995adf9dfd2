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
  (DR makes them itself);
* an idempotency key sent twice (when calls carry ``idempotencyKey``, as the CLI's do);
* a line asked back (``POST /fulfillment-returns``, mapped from fulfillment-order line to
  order line, plus ``POST /returns``) past what the merchant asked, or by the wrong
  route (a fulfillment return for a line no fulfillment order holds, or the reverse);
* a line refunded (``POST /refunds``) past the units accepted back from fulfillment
  returns, any ``POST /refunds`` in the third-party model (DR refunds those itself), a
  return accepted (``POST /returns/{id}``) twice or never accepted by the merchant;
* a capture failure handled twice or one that never failed (the
  ``{"command": "HandleCaptureFailure", "captureId": ...}`` lines of the CLI);
* with ``complete=True``: also a line asked back or refunded short of the truth, an
  accepted return never sent, a failed capture never handled.

:func:`assert_calls_sound` raises ``AssertionError`` listing them, for use in tests.
:func:`totals` and :func:`return_totals` sum the units per line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from drfulfillment.domain.state import IntegrationModel
from drfulfillment.testing.truth import History

__all__ = ["assert_calls_sound", "check_calls", "return_totals", "totals"]


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


def return_totals(
    history: History, calls: Iterable[Mapping[str, Any]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """Units asked back and units refunded by ``POST /refunds``, per ``(order, line)``.

    ``POST /fulfillment-returns`` names fulfillment-order lines: they are mapped to order
    lines through ``history``; ``POST /returns`` and ``POST /refunds`` name order lines.
    """
    by_fo_line = {
        ln.fo_line: (ln.order_id, ln.item_id) for ln in history.lines if ln.fo_line
    }
    units: Counter[tuple[str, str, int]] = Counter()
    for path, body in _calls(calls):
        for item in body.get("items", ()):
            n = int(item.get("quantity") or 0)
            if path == "/fulfillment-returns":
                fo_line = str(item.get("fulfillmentOrderItemId"))
                key = by_fo_line.get(fo_line, (str(body.get("upstreamId")), fo_line))
                units[(*key, 0)] += n
            elif path in ("/returns", "/refunds"):
                key = (str(body.get("orderId")), str(item.get("itemId")))
                units[(*key, 0 if path == "/returns" else 1)] += n
    keys = {(o, i) for (o, i, _) in units}
    return {k: (units[(*k, 0)], units[(*k, 1)]) for k in sorted(keys)}


def _routes(history: History, made: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Return calls that take the wrong route for their line."""
    held = {(ln.order_id, ln.item_id) for ln in history.lines if ln.fo_line}
    fo_lines = {ln.fo_line for ln in history.lines if ln.fo_line}
    found = []
    for path, body in made:
        for item in body.get("items", ()):
            if path == "/fulfillment-returns":
                line = str(item.get("fulfillmentOrderItemId"))
                if line not in fo_lines:
                    found.append(
                        f"fulfillment return of {line}, in no fulfillment order"
                    )
            elif path == "/returns":
                key = (str(body.get("orderId")), str(item.get("itemId")))
                if key in held:
                    found.append(
                        f"order {key[0]} line {key[1]}: POST /returns for a line a "
                        "fulfillment order holds (use POST /fulfillment-returns)"
                    )
    return found


def _aftercare(
    history: History, calls: list[Mapping[str, Any]], complete: bool
) -> list[str]:
    """Violations of the return, refund and capture-failure rules."""
    made = _calls(calls)
    found = _routes(history, made)
    keys = Counter(
        str(c["idempotencyKey"])
        for c in calls
        if "idempotencyKey" in c
        and ("path" in c or c.get("command") == "HandleCaptureFailure")
    )
    found += [f"idempotency key {k} sent {n} times" for k, n in keys.items() if n > 1]
    if history.model is IntegrationModel.THIRD_PARTY:
        found += [
            "third-party model: POST /refunds must never be called (DR refunds "
            "accepted returns itself)"
            for path, _ in made
            if path == "/refunds"
        ]
    accepted = Counter(
        path.removeprefix("/returns/")
        for path, _ in made
        if path.startswith("/returns/")
    )
    for rid, n in sorted(accepted.items()):
        if n > 1:
            found.append(f"return {rid} accepted {n} times")
        if rid not in history.accepted_returns:
            found.append(f"return {rid} accepted but the merchant never accepted it")
    if complete:
        found += [
            f"return {rid}: the merchant accepted it but it was never sent"
            for rid in history.accepted_returns
            if rid not in accepted
        ]
    handled = Counter(
        str(c.get("captureId"))
        for c in calls
        if c.get("command") == "HandleCaptureFailure"
    )
    failed = set(history.failed_captures)
    for cid, n in sorted(handled.items()):
        if n > 1:
            found.append(f"capture {cid}: its failure handled {n} times")
        if cid not in failed:
            found.append(f"capture {cid}: handled as failed but it never failed")
    if complete:
        found += [
            f"capture {cid} failed but its failure was never handled"
            for cid in sorted(failed - set(handled))
        ]
    sums = return_totals(history, calls)
    known = {(ln.order_id, ln.item_id) for ln in history.lines}
    found += [
        f"order {o} line {i}: returned or refunded but not in the history"
        for (o, i) in sums
        if (o, i) not in known
    ]
    for line in history.lines:
        asked, refunded = sums.get((line.order_id, line.item_id), (0, 0))
        where = f"order {line.order_id} line {line.item_id}"
        if asked > line.return_requested:
            found.append(
                f"{where}: {asked} asked back but the merchant asked {line.return_requested}"
            )
        if refunded > line.refund_requested:
            found.append(
                f"{where}: {refunded} refunded by POST /refunds but "
                f"{line.refund_requested} accepted back from fulfillment returns"
            )
        if complete and asked < line.return_requested:
            found.append(
                f"{where}: the merchant asked {line.return_requested} back but only "
                f"{asked} were asked of DR"
            )
        if complete and refunded < line.refund_requested:
            found.append(
                f"{where}: {line.refund_requested} accepted back but only {refunded} "
                "refunded"
            )
    return found


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
    return found + _aftercare(history, calls, complete)


def assert_calls_sound(
    history: History, calls: Iterable[Mapping[str, Any]], *, complete: bool = True
) -> None:
    """Raise ``AssertionError`` listing every violation :func:`check_calls` finds."""
    found = check_calls(history, calls, complete=complete)
    if found:
        raise AssertionError("DR calls break the money rules:\n  " + "\n  ".join(found))
