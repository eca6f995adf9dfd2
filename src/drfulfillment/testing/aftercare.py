"""The later life of a generated order: its closing events, returns and refunds.

Once every line is shipped or cancelled (:func:`close`): ``order.fulfilled`` (or
``order.cancelled``), sometimes ``order.complete`` (never after a failed capture), and
sometimes a dispute and its resolution (DR's prose: back to the pre-dispute state; its
example: ``accepted`` after ``complete``, DR reference §6.1, CONFLICT).

Then (:func:`returns`), on some orders with units shipped, the merchant asks to return
some of them (``request_return``, in one or two requests; delivered after the shipments
it returns and before the events it causes):

* a line held in a fulfillment order (DR-coordinated): ``fulfillment_return.created``,
  sometimes ``.pending``, then ``.accepted`` (sometimes only in part:
  ``quantityAccepted < quantity``), ``.rejected``, or nothing yet. Accepted units are
  owed one ``POST /refunds``; DR's refund follows (``refund.pending``, mostly
  ``refund.complete``) with its charge refunds;
* any other line (third-party model, digital lines): ``return.created``; mostly the
  merchant's ``accept_return`` (after ``return.created``, before ``return.accepted``),
  ``return.accepted``, and the refund DR makes itself.

Sometimes the order is disputed in the middle of all this (``order.dispute``, then
``order.dispute.resolved``), so return calls and refunds are owed while DR would refuse
them; and an order that got units back sometimes ends with ``order.refunded`` (state
``returned``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from hypothesis import strategies as st

from drfulfillment.domain.state import IntegrationModel
from drfulfillment.testing.events import Json, request
from drfulfillment.testing.money_events import fulfillment_return, refund, return_event
from drfulfillment.testing.truth import doc_id
from drfulfillment.testing.wallet import Builder, Wallet

__all__ = ["Order", "close", "returns"]

_REASONS = ("requested_by_customer", "Incorrect size", "damaged in transit")


class Order(Builder, Protocol):
    """The order being built, as :func:`returns` uses it."""

    model: IntegrationModel
    fo_id: str
    fo_lines: dict[str, str]
    in_fo: dict[str, bool]
    """Whether a line is held in the fulfillment order (else the merchant reports it)."""
    items: list[tuple[str, int, bool]]
    events: list[Json]
    after: list[tuple[str, tuple[str, ...]]]
    before: list[tuple[str, tuple[str, ...]]]
    first_order_event: str
    fo_pending: str
    shipped_by: dict[str, list[str]]
    status: str
    wallet: Wallet
    accepted_returns: list[str]

    def order_event(
        self, state: str, transitions: tuple[str, ...], event_type: str | None = None
    ) -> Json:
        """Emit an order event."""


#: Per line: units asked back, units accepted back, units owed a ``POST /refunds``.
Back = dict[str, list[int]]


def close(o: Order, *, fulfilled: bool) -> None:
    """The order's closing events, once every line is shipped or cancelled."""
    draw = o.draw
    last = "fulfilled" if fulfilled else "cancelled"
    o.order_event(last, ("accepted", last))
    if last == "fulfilled" and not o.wallet.failures and draw(st.booleans()):
        o.order_event("complete", ("accepted", "fulfilled", "complete"))
        last = "complete"
    if last != "cancelled" and draw(st.booleans()):
        seen = ("accepted", "fulfilled", "dispute")
        o.order_event("dispute", seen)
        o.order_event(
            draw(st.sampled_from(["accepted", last])), seen, "order.dispute.resolved"
        )


def returns(o: Order, shipped: dict[str, int], *, closed: bool) -> Back:
    """Generate the order's returns; ``closed``: the order was fulfilled."""
    draw = o.draw
    back: Back = {item: [0, 0, 0] for item, _, _ in o.items}
    if not any(shipped.values()) or draw(st.integers(0, 4)) == 0:
        return back
    asks: dict[int, dict[str, int]] = {}
    for item, s in sorted(shipped.items()):
        left = s - draw(st.integers(0, s))  # shrinks towards returning it all
        while left:
            part = draw(st.integers(1, left))
            slot = asks.setdefault(draw(st.integers(0, 1)), {})
            slot[item] = slot.get(item, 0) + part
            left -= part
    start = len(o.events)
    for k, units in sorted(asks.items()):
        _request(o, k, sorted(units.items()), back)
    _dispute(o, start)
    if closed and any(b[1] for b in back.values()) and draw(st.booleans()):
        o.order_event(
            "returned", ("accepted", "fulfilled", "returned"), "order.refunded"
        )
    return back


def _request(o: Order, k: int, rows: list[tuple[str, int]], back: Back) -> None:
    rid = f"req-{o.order_id}-return-{k}"
    reason = o.draw(st.sampled_from(_REASONS))
    o.emit(request("request_return", rid, o.order_id, rows, reason=reason))
    for item, n in rows:
        back[item][0] += n
    via_fo = [(i, n) for i, n in rows if o.in_fo[i]]
    direct = [(i, n) for i, n in rows if not o.in_fo[i]]
    needs = [o.first_order_event, *([o.fo_pending] if via_fo else [])]
    needs += [d for i, _ in rows for d in o.shipped_by[i]]
    causes: list[str] = []
    if via_fo:
        causes += _fulfillment_return(o, k, via_fo, back)
    if direct:
        causes += _return(o, k, direct, back)
    o.after.append((rid, tuple(dict.fromkeys(needs))))
    o.before.append((rid, tuple(causes)))


def _fulfillment_return(
    o: Order, k: int, rows: list[tuple[str, int]], back: Back
) -> list[str]:
    draw = o.draw
    fr = f"fr_{o.order_id}_{k}"
    upstream = o.order_id if draw(st.booleans()) else None
    ids: list[str] = []

    def event(state: str, accepted: dict[str, int] | None = None) -> None:
        lines = [
            (o.fo_lines[i], n, accepted[i] if accepted is not None else None)
            for i, n in rows
        ]
        doc = fulfillment_return(
            f"evt-{fr}-{state}", state, fr, o.fo_id, upstream, lines, o.tick()
        )
        ids.append(doc_id(o.emit(doc)))

    event("created")
    if draw(st.booleans()):
        event("pending")
    outcome = draw(st.sampled_from(["accepted", "accepted", "rejected", "open"]))
    if outcome == "rejected":
        event("rejected")
    if outcome != "accepted":
        return ids
    accepted = {
        i: draw(st.integers(0, n)) if draw(st.integers(0, 2)) == 0 else n
        for i, n in rows
    }
    event("accepted", accepted)
    for i, n in accepted.items():
        back[i][1] += n
        back[i][2] += n
    refunded = [(i, n) for i, n in sorted(accepted.items()) if n]
    if refunded:
        _refund(o, f"{k}f", refunded)
    return ids


def _return(o: Order, k: int, rows: list[tuple[str, int]], back: Back) -> list[str]:
    ret = f"ret_{o.order_id}_{k}"
    created = o.emit(
        return_event(
            f"evt-{ret}-created",
            "created",
            ret,
            o.order_id,
            [(i, n, 0) for i, n in rows],
            o.tick(),
        )
    )
    if o.draw(st.integers(0, 3)) == 0:
        return [doc_id(created)]  # never accepted (yet)
    arid = f"req-{o.order_id}-accept-{k}"
    accept: Json = {
        "request": "accept_return",
        "id": arid,
        "orderId": o.order_id,
        "returnId": ret,
    }
    if o.draw(st.booleans()):
        accept["items"] = [{"itemId": i, "quantity": n} for i, n in rows]
    o.emit(accept)
    accepted = o.emit(
        return_event(
            f"evt-{ret}-accepted",
            "accepted",
            ret,
            o.order_id,
            [(i, n, n) for i, n in rows],
            o.tick(),
        )
    )
    o.after.append((arid, (o.first_order_event, doc_id(created))))
    o.before.append((arid, (doc_id(accepted),)))
    o.accepted_returns.append(ret)
    for i, n in rows:
        back[i][1] += n
    _refund(o, f"{k}r", rows)
    return [doc_id(created), doc_id(accepted)]


def _refund(o: Order, tag: str, rows: list[tuple[str, int]]) -> None:
    """DR's refund of returned units, and the charge refunds it makes."""
    rf = f"re_{o.order_id}_{tag}"
    amount = sum((o.wallet.prices[i] * n for i, n in rows), Decimal(0))
    o.emit(
        refund(
            f"evt-{rf}-pending",
            "refund.pending",
            rf,
            o.order_id,
            rows,
            "pending",
            o.tick(),
            amount,
        )
    )
    o.wallet.refund(rows)
    if o.draw(st.integers(0, 2)) > 0:
        o.emit(
            refund(
                f"evt-{rf}-complete",
                "refund.complete",
                rf,
                o.order_id,
                rows,
                "succeeded",
                o.tick(),
                amount,
            )
        )


def _dispute(o: Order, start: int) -> None:
    """Sometimes a dispute opens and resolves among the events from ``start`` on."""
    section = o.events[start:]
    prior = o.status
    if (
        not section
        or prior not in ("accepted", "fulfilled", "complete")
        or o.draw(st.integers(0, 2)) == 0
    ):
        return
    dispute = o.order_event("dispute", ("accepted", "dispute"))
    resolved = o.order_event(
        o.draw(st.sampled_from(["accepted", prior])),
        ("accepted", "dispute"),
        "order.dispute.resolved",
    )
    i = o.draw(st.integers(0, len(section) - 1))
    j = o.draw(st.integers(i + 1, len(section)))
    o.events[start:] = [
        *section[:i],
        dispute,
        *section[i:j],
        resolved,
        *section[j:],
    ]
