"""Hypothesis strategies: DR orders, valid event histories, and the ways DR delivers them.

A :class:`History` is what DR sends (and what the merchant asks) for one or more orders,
in causal order, in one integration model:

* every model: ``order.pending_payment``/``order.review_opened`` (sometimes), then
  ``order.accepted``; the order's charges (:mod:`.wallet`): captures of what shipped,
  cancels of what was cancelled, now and then a failed capture, store credit plus a
  card on some orders; once every line is shipped or cancelled, the charges' final
  state, ``order.fulfilled`` (or ``order.cancelled``), sometimes ``order.complete``,
  sometimes a dispute and its resolution; then returns and refunds (:mod:`.aftercare`);
* distributed and orchestrated: ``fulfillment_order.pending``; backorders with rising
  ``totalBackordered``; the line's shipped units in one to three shipments, some
  redelivered under a new event id; cancellations by the customer (a merchant
  ``request_cancellation``, then DR's ``fulfillment_cancellation`` events), refused ones,
  and by the fulfiller (cumulative ``fulfillment_order.cancelled`` snapshots); in the
  distributed model, digital lines reported by the merchant (``report_shipment`` /
  ``report_cancellation``);
* third-party: the merchant's ``report_shipment`` / ``report_cancellation`` requests.

Alongside it, the truth per line (:class:`LineTruth`): how many units shipped and how many
were cancelled, which is what DR must end up told, and what was asked back, accepted back
and owed a refund; per charge (:class:`ChargeTruth`), the money it moved. :func:`deliveries`
then delivers a history as DR may (:mod:`.deliveries`): every event at least once, some
several times, in any order, except that a merchant request comes after what it needs (its
order, its fulfillment order, the shipments it returns, the return it accepts) and before
what it causes (the cancellation and return events that answer it).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from drfulfillment.domain.state import IntegrationModel
from drfulfillment.testing.aftercare import close, returns
from drfulfillment.testing.events import (
    Json,
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    request,
    shipped,
)
from drfulfillment.testing.truth import ChargeTruth, History, LineTruth, doc_id
from drfulfillment.testing.wallet import Wallet

__all__ = ["ChargeTruth", "History", "LineTruth", "doc_id", "histories", "orders"]


def _stamp(minute: int) -> str:
    return f"2021-11-{1 + minute // 1440:02d}T{(minute // 60) % 24:02d}:{minute % 60:02d}:00Z"


@st.composite
def orders(
    draw: st.DrawFn, *, max_lines: int = 3, max_quantity: int = 4, digital: bool = True
) -> Json:
    """A DR order object (``data.object`` of ``order.accepted``), ids shaped as DR's."""
    number = draw(st.integers(10_000_000, 99_999_999))
    order_id = f"{number}0336"
    n = draw(st.integers(1, max_lines))
    items = tuple(
        (
            f"{number + 1 + k}0336",
            draw(st.integers(1, max_quantity)),
            draw(st.booleans()) if digital else True,
        )
        for k in range(n)
    )
    event = order_event("-", "accepted", _stamp(0), order_id=order_id, items=items)
    built: Json = event["data"]["object"]
    return built


class _Order:
    """Builds one order's history; ``emit`` keeps causal order."""

    def __init__(
        self,
        draw: st.DrawFn,
        index: int,
        model: IntegrationModel,
        clock: list[int],
        digital: bool,
    ) -> None:
        self.draw = draw
        self.model = model
        self.clock = clock
        self.number = 10_000_000 + 1000 * index + draw(st.integers(0, 9)) * 100
        self.order_id = f"{self.number}0336"
        self.fo_id = f"57{self.number}"
        n = draw(st.integers(1, 3))
        allow_digital = digital and model is IntegrationModel.DISTRIBUTED
        self.items = [
            (
                f"{self.number + 1 + k}0336",
                draw(st.integers(1, 4)),
                not (allow_digital and draw(st.integers(0, 3)) == 0),
            )
            for k in range(n)
        ]
        self.fo_lines = {
            item: f"65{self.number + 1 + k}"
            for k, (item, _, _) in enumerate(self.items)
        }
        self.in_fo = {
            i: p and model is not IntegrationModel.THIRD_PARTY for i, _, p in self.items
        }
        self.events: list[Json] = []
        self.aliases: list[Json] = []
        self.after: list[tuple[str, tuple[str, ...]]] = []
        self.before: list[tuple[str, tuple[str, ...]]] = []
        self.first_order_event = ""
        self.fo_pending = ""
        self.status = ""
        self.shipped_by: dict[str, list[str]] = {i: [] for i, _, _ in self.items}
        self.accepted_returns: list[str] = []
        self.wallet = Wallet(self, self.items)

    def tick(self) -> str:
        self.clock[0] += 1 + self.draw(st.integers(0, 3))
        return _stamp(self.clock[0])

    def emit(self, doc: Json) -> Json:
        self.events.append(doc)
        return doc

    def order_event(
        self, state: str, transitions: tuple[str, ...], event_type: str | None = None
    ) -> Json:
        t = self.tick()
        items = tuple(self.items)
        doc = order_event(
            f"evt-{self.order_id}-{state}-{self.clock[0]}",
            state,
            t,
            order_id=self.order_id,
            items=items,
            transitions=transitions,
            event_type=event_type,
        )
        self.wallet.order_object(doc["data"]["object"])
        self.first_order_event = self.first_order_event or doc_id(doc)
        self.status = state
        return self.emit(doc)

    def build(self) -> list[LineTruth]:
        draw = self.draw
        early = draw(
            st.sampled_from(
                [(), ("pending_payment",), ("pending_payment", "in_review")]
            )
        )
        for k, state in enumerate(early):
            self.order_event(state, tuple(early[: k + 1]))
        self.wallet.accept()
        self.order_event("accepted", (*early, "accepted"))
        # per line: shipped s, customer-cancelled cc, fulfiller-cancelled fc, refused r
        plan: dict[str, tuple[int, int, int, int]] = {}
        for item, q, _ in self.items:
            s = draw(st.integers(0, q))
            cc = draw(st.integers(0, q - s))
            fc = draw(st.integers(0, q - s - cc))
            r = draw(st.integers(0, q - s - cc - fc))
            plan[item] = (s, cc, fc, r)
        if self.model is IntegrationModel.THIRD_PARTY:
            self._merchant_reports(plan, list(plan))
        else:
            self._fulfillment_order(plan)
        for item, _, _ in self.items:
            if plan[item][1] + plan[item][2]:
                self.wallet.cancel(item, plan[item][1] + plan[item][2])
        done = all(sum(plan[i][:3]) == q for i, q, _ in self.items)
        shipped = {item: plan[item][0] for item, _, _ in self.items}
        if done:
            self.wallet.settle()
            close(self, fulfilled=any(shipped.values()))
        back = returns(self, shipped, closed=done and any(shipped.values()))
        return [
            LineTruth(
                self.order_id,
                item,
                q,
                physical,
                plan[item][0],
                plan[item][1] + plan[item][2],
                self.fo_lines[item] if self.in_fo[item] else None,
                *back[item],
            )
            for item, q, physical in self.items
        ]

    def _merchant_reports(
        self, plan: dict[str, tuple[int, int, int, int]], items: list[str]
    ) -> None:
        """Reports of the merchant's own fulfiller: shipments, cancellations, in pieces."""
        draw = self.draw
        for item in items:
            s, cc, fc, _ = plan[item]
            for kind, units in (
                ("report_shipment", s),
                ("report_cancellation", cc + fc),
            ):
                left, piece = units, 0
                while left:
                    part = draw(st.integers(1, left))
                    rid = f"req-{self.order_id}-{item}-{kind}-{piece}"
                    extra: dict[str, Any] = (
                        {"trackingCompany": "UPS", "trackingNumber": rid}
                        if kind == "report_shipment"
                        else {}
                    )
                    self.emit(
                        request(kind, rid, self.order_id, [(item, part)], **extra)
                    )
                    self.after.append((rid, (self.first_order_event,)))
                    if kind == "report_shipment":
                        self.shipped_by[item].append(rid)
                        self.wallet.capture({item: part}, f"ful_{rid}")
                    left -= part
                    piece += 1

    def _fulfillment_order(self, plan: dict[str, tuple[int, int, int, int]]) -> None:
        draw = self.draw
        physical = [(i, q) for i, q, p in self.items if p]
        digital = [i for i, _, p in self.items if not p]
        if digital:
            self._merchant_reports(plan, digital)
        if not physical:
            return
        fo_id, order_id = self.fo_id, self.order_id
        pending = self.emit(
            fulfillment_order(
                f"evt-{fo_id}-pending",
                "fulfillment_order.pending",
                fo_id,
                order_id,
                [fo_line(self.fo_lines[i], i, q) for i, q in physical],
                self.tick(),
            )
        )
        self.fo_pending = doc_id(pending)
        caused: list[str] = []
        requests: list[str] = []
        # customer cancellations (accepted) and a refused one, asked first
        for kind, pick in (("accepted", 1), ("rejected", 3)):
            rows = [(i, plan[i][pick]) for i, _ in physical if plan[i][pick]]
            if not rows:
                continue
            rid = f"req-{order_id}-cancel-{kind}"
            requests.append(rid)
            self.emit(
                request(
                    "request_cancellation",
                    rid,
                    order_id,
                    rows,
                    reason="requested_by_customer",
                )
            )
            cid = f"ret_{fo_id}{pick}"
            lines = [(self.fo_lines[i], k, None) for i, k in rows]
            for state in ("created", kind):
                answer = [
                    (fl, k, k if state == "accepted" else None) for fl, k, _ in lines
                ]
                with_order = draw(st.booleans())
                ev = self.emit(
                    cancellation(
                        f"evt-{cid}-{state}",
                        state,
                        cid,
                        fo_id,
                        order_id if with_order else None,
                        answer,
                        self.tick(),
                    )
                )
                caused.append(doc_id(ev))
        # backorders: rising totals
        for item, q in physical:
            total = 0
            for _ in range(draw(st.integers(0, 2))):
                step = draw(st.integers(1, q))
                if total + step > q:
                    break
                total += step
                ev = self.emit(
                    backordered(
                        f"evt-{fo_id}-back-{item}-{total}",
                        fo_id,
                        order_id,
                        [(self.fo_lines[item], item, step, total)],
                        self.tick(),
                    )
                )
        # shipments: each line's shipped units over up to three shipments
        pieces = []
        for item, _ in physical:
            left = plan[item][0]
            while left:
                part = draw(st.integers(1, left))
                pieces.append((item, part))
                left -= part
        groups: dict[int, dict[str, int]] = {}
        for item, part in pieces:
            group = groups.setdefault(draw(st.integers(0, 2)), {})
            group[item] = group.get(item, 0) + part
        dispute_at = draw(st.none() | st.integers(0, 2))
        for g, units in sorted(groups.items()):
            if dispute_at == g:
                self.order_event("dispute", ("accepted", "dispute"))
                self.order_event(
                    "accepted", ("accepted", "dispute"), "order.dispute.resolved"
                )
            sid = f"{fo_id}9{g}"
            rows4 = [
                (f"{sid}{k}", self.fo_lines[i], i, n)
                for k, (i, n) in enumerate(sorted(units.items()))
            ]
            ev = self.emit(
                shipped(f"evt-{sid}", sid, fo_id, order_id, rows4, self.tick())
            )
            if draw(st.booleans()):
                self.aliases.append({**ev, "id": f"{ev['id']}-again"})
            for item in units:
                self.shipped_by[item].append(doc_id(ev))
            self.wallet.capture(units, f"ful_{sid}")
        # the fulfiller's cumulative snapshots: customer units first, then its own
        cumulative = dict.fromkeys((i for i, _ in physical), 0)
        for _ in range(draw(st.integers(0, 2))):
            for item, _ in physical:
                cumulative[item] = draw(
                    st.integers(cumulative[item], plan[item][1] + plan[item][2])
                )
            caused.append(doc_id(self._snapshot(physical, plan, cumulative)))
        if any(plan[i][1] + plan[i][2] for i, _ in physical):
            final = {i: plan[i][1] + plan[i][2] for i, _ in physical}
            caused.append(doc_id(self._snapshot(physical, plan, final)))
        for rid in requests:
            self.after.append((rid, (self.first_order_event, doc_id(pending))))
            self.before.append((rid, tuple(caused)))

    def _snapshot(
        self,
        physical: list[tuple[str, int]],
        plan: dict[str, tuple[int, int, int, int]],
        cumulative: dict[str, int],
    ) -> Json:
        lines = [
            fo_line(
                self.fo_lines[i],
                i,
                q,
                shipped=self.draw(st.integers(0, plan[i][0])),
                cancelled=cumulative[i],
            )
            for i, q in physical
        ]
        t = self.tick()
        return self.emit(
            fulfillment_order(
                f"evt-{self.fo_id}-cancelled-{self.clock[0]}",
                "fulfillment_order.cancelled",
                self.fo_id,
                self.order_id,
                lines,
                t,
            )
        )


@st.composite
def histories(
    draw: st.DrawFn,
    model: IntegrationModel = IntegrationModel.DISTRIBUTED,
    *,
    max_orders: int = 2,
    digital: bool = True,
) -> History:
    """A valid history for one or more orders of ``model``, their events interleaved."""
    clock = [0]
    builders = [
        _Order(draw, k, model, clock, digital)
        for k in range(draw(st.integers(1, max_orders)))
    ]
    truth = [line for b in builders for line in b.build()]
    charges: list[ChargeTruth] = [c for b in builders for c in b.wallet.truth()]
    # interleave the orders' events, keeping each order's causal order
    queues = [list(b.events) for b in builders]
    events: list[Json] = []
    while any(queues):
        live = [q for q in queues if q]
        events.append(draw(st.sampled_from(live)).pop(0))
    return History(
        model=model,
        events=tuple(events),
        aliases=tuple(a for b in builders for a in b.aliases),
        lines=tuple(truth),
        after=tuple(x for b in builders for x in b.after),
        before=tuple(x for b in builders for x in b.before),
        charges=tuple(charges),
        accepted_returns=tuple(r for b in builders for r in b.accepted_returns),
    )
