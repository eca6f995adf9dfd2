"""The one home of hypothesis strategies: valid DR event histories and their deliveries.

A *history* is what DR would send, in causal order, for one or more orders in the
distributed model: ``order.accepted`` (maybe after ``pending_payment``/``in_review``),
``fulfillment_order.pending``, backorders with rising ``totalBackordered``, shipments,
fulfiller cancellations revealed by cumulative ``fulfillment_order.cancelled`` snapshots
and by ``fulfillment_cancellation.*`` events, maybe a dispute and its resolution, and,
once every line is shipped or cancelled, ``order.fulfilled`` and ``order.complete``.
Alongside it, the truth per line (quantity, units shipped, units cancelled), which is
what DR must end up told.

A *delivery* is how DR may deliver it: every event at least once, some twice or more,
some shipments again under a new event id, in any order.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from builders import (
    Json,
    backordered,
    cancellation,
    fo_line,
    fulfillment_order,
    order_event,
    shipped,
)

__all__ = ["History", "LineTruth", "deliveries", "histories"]


@attrs.frozen
class LineTruth:
    """What a valid history says of one order line."""

    order_id: str
    item_id: str
    quantity: int
    shipped: int
    cancelled: int


@attrs.frozen
class History:
    """Events in causal order, the alias events DR may add, and the truth per line."""

    events: tuple[Json, ...]
    aliases: tuple[Json, ...]
    lines: tuple[LineTruth, ...]


def _stamp(n: int) -> str:
    return f"2021-11-{1 + n // 1440:02d}T{(n // 60) % 24:02d}:{n % 60:02d}:00Z"


@st.composite
def _order_history(
    draw: st.DrawFn, index: int, clock: list[int]
) -> tuple[list[tuple[int, Json]], list[Json], list[LineTruth]]:
    def tick() -> int:
        clock[0] += 1 + draw(st.integers(0, 3))
        return clock[0]

    order_id = f"{200000 + index}0336"
    fo_id = f"{57700 + index}"
    n_lines = draw(st.integers(1, 3))
    quantities = [draw(st.integers(1, 4)) for _ in range(n_lines)]
    items = [(f"{order_id}{k}", q, True) for k, q in enumerate(quantities)]
    fo_lines = [f"{fo_id}{k}" for k in range(n_lines)]
    timeline: list[tuple[int, Json]] = []
    aliases: list[Json] = []

    def emit(event: Json) -> None:
        timeline.append((len(timeline), event))

    def order_ev(
        state: str, transitions: tuple[str, ...], event_type: str | None = None
    ) -> Json:
        t = tick()
        return order_event(
            f"evt-{order_id}-{state}-{t}",
            state,
            _stamp(t),
            order_id=order_id,
            items=items,
            transitions=transitions,
            event_type=event_type,
        )

    def snapshot(cumulative: list[int]) -> None:
        lines = [
            fo_line(
                fo_lines[k],
                items[k][0],
                q,
                shipped=draw(st.integers(0, shipped_units[k])),
                cancelled=cumulative[k],
            )
            for k, q in enumerate(quantities)
        ]
        t = tick()
        emit(
            fulfillment_order(
                f"evt-{fo_id}-cancelled-{t}",
                "fulfillment_order.cancelled",
                fo_id,
                order_id,
                lines,
                _stamp(t),
            )
        )

    early = draw(
        st.sampled_from([(), ("pending_payment",), ("pending_payment", "in_review")])
    )
    for k, state in enumerate(early):
        emit(order_ev(state, tuple(early[: k + 1])))
    emit(order_ev("accepted", (*early, "accepted")))
    emit(
        fulfillment_order(
            f"evt-{fo_id}-pending",
            "fulfillment_order.pending",
            fo_id,
            order_id,
            [fo_line(fo_lines[k], items[k][0], q) for k, q in enumerate(quantities)],
            _stamp(tick()),
        )
    )

    shipped_units = [0] * n_lines
    cancelled_units = [draw(st.integers(0, q)) for q in quantities]
    for k, q in enumerate(quantities):
        shipped_units[k] = draw(st.integers(0, q - cancelled_units[k]))

    # backorders: rising totals per line
    for k, q in enumerate(quantities):
        total = 0
        for _ in range(draw(st.integers(0, 2))):
            step = draw(st.integers(1, q))
            if total + step > q:
                break
            total += step
            t = tick()
            emit(
                backordered(
                    f"evt-{fo_id}-back-{k}-{total}",
                    fo_id,
                    order_id,
                    [(fo_lines[k], items[k][0], step, total)],
                    _stamp(t),
                )
            )

    # shipments: split each line's shipped units over up to three shipments
    pieces: list[tuple[int, int]] = []
    for k, s in enumerate(shipped_units):
        left = s
        while left:
            part = draw(st.integers(1, left))
            pieces.append((k, part))
            left -= part
    n_shipments = draw(st.integers(1, 3)) if pieces else 0
    groups: dict[int, list[tuple[int, int]]] = {}
    for piece in pieces:
        groups.setdefault(draw(st.integers(0, n_shipments - 1)), []).append(piece)
    dispute_at = draw(st.none() | st.integers(0, max(len(groups), 1)))
    for g, (_, group) in enumerate(sorted(groups.items())):
        if dispute_at == g:
            emit(order_ev("dispute", ("accepted", "dispute")))
            emit(
                order_ev("accepted", ("accepted", "dispute"), "order.dispute.resolved")
            )
        shipment_id = f"{fo_id}9{g}"
        lines_in = [
            (f"{shipment_id}{j}", fo_lines[k], items[k][0], part)
            for j, (k, part) in enumerate(group)
        ]
        merged: dict[str, tuple[str, str, str, int]] = {}
        for sid, fl, up, part in lines_in:
            old = merged.get(fl)
            merged[fl] = (old[0], fl, up, old[3] + part) if old else (sid, fl, up, part)
        t = tick()
        event = shipped(
            f"evt-{shipment_id}",
            shipment_id,
            fo_id,
            order_id,
            list(merged.values()),
            _stamp(t),
        )
        emit(event)
        if draw(st.booleans()):
            aliases.append({**event, "id": f"{event['id']}-again"})

    # cancellations: cumulative FO snapshots and the fulfiller's cancellation events
    cumulative = [0] * n_lines
    for _ in range(draw(st.integers(0, 2))):
        for k in range(n_lines):
            cumulative[k] = draw(st.integers(cumulative[k], cancelled_units[k]))
        snapshot(cumulative)
    if any(cancelled_units):
        accepted = [draw(st.integers(0, c)) for c in cancelled_units]
        rows = [
            (fo_lines[k], cancelled_units[k], accepted[k])
            for k in range(n_lines)
            if cancelled_units[k]
        ]
        with_order = draw(st.booleans())
        emit(
            cancellation(
                f"evt-{fo_id}-canc-created",
                "created",
                f"ret_{fo_id}",
                fo_id,
                order_id if with_order else None,
                [(fl, q, None) for fl, q, _ in rows],
                _stamp(tick()),
            )
        )
        emit(
            cancellation(
                f"evt-{fo_id}-canc-accepted",
                "accepted",
                f"ret_{fo_id}",
                fo_id,
                order_id if with_order else None,
                rows,
                _stamp(tick()),
            )
        )
        snapshot(cancelled_units)
    if draw(st.booleans()):
        emit(
            cancellation(
                f"evt-{fo_id}-rej",
                "rejected",
                f"ret_{fo_id}_r",
                fo_id,
                order_id,
                [(fo_lines[0], 1, None)],
                _stamp(tick()),
            )
        )

    done = all(
        s + c == q
        for s, c, q in zip(shipped_units, cancelled_units, quantities, strict=True)
    )
    if done:
        close = ("fulfilled",) if any(shipped_units) else ("cancelled",)
        emit(order_ev(close[0], ("accepted", close[0])))
        last = close[0]
        if last == "fulfilled" and draw(st.booleans()):
            emit(order_ev("complete", ("accepted", "fulfilled", "complete")))
            last = "complete"
        if last != "cancelled" and draw(st.booleans()):
            # DR's prose: a resolved dispute reverts to the pre-dispute state; its
            # example shows ``accepted`` after ``complete`` (reference 6.1, CONFLICT).
            seen = ("accepted", "fulfilled", "dispute")
            emit(order_ev("dispute", seen))
            back = draw(st.sampled_from(["accepted", last]))
            emit(order_ev(back, seen, "order.dispute.resolved"))
    truth = [
        LineTruth(
            order_id, items[k][0], quantities[k], shipped_units[k], cancelled_units[k]
        )
        for k in range(n_lines)
    ]
    return timeline, aliases, truth


@st.composite
def histories(draw: st.DrawFn, max_orders: int = 2) -> History:
    """A valid distributed-model history for one or more orders, interleaved."""
    clock = [0]
    events: list[Json] = []
    aliases: list[Json] = []
    truth: list[LineTruth] = []
    for index in range(draw(st.integers(1, max_orders))):
        timeline, more, lines = draw(_order_history(index, clock))
        events += [e for _, e in timeline]
        aliases += more
        truth += lines
    return History(tuple(events), tuple(aliases), tuple(truth))


@st.composite
def deliveries(draw: st.DrawFn, history: History) -> list[Json]:
    """Every event at least once, some more than once, aliases added, in any order."""
    out: list[Json] = []
    for event in (*history.events, *history.aliases):
        out += [event] * draw(st.integers(1, 3))
    return draw(st.permutations(out))
