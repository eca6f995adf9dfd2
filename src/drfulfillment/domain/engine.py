"""``Engine``: many orders in memory, each input routed to its order and decided.

The engine is the convenience most integrations want: it keeps one
:class:`~drfulfillment.domain.state.OrderState` per order, finds the order an event
belongs to (fulfillment-order events name the order by ``upstreamId``; a cancellation
event may name only its fulfillment order), and keeps events for fulfillment orders it
does not know yet until they become known. It does no I/O; each :meth:`Engine.handle`
either applies completely or raises :class:`InputRefused` and changes nothing.

Orders that have settled (by default: complete or cancelled, nothing waiting) are held
packed (:mod:`.packing`), about a fifth of their size as records; the next input for one
unpacks it first, so packing never changes a decision. :attr:`Engine.orders` reads
either kind.

Stores persist ``OrderState`` per order and call :func:`decide` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import attrs

from drfulfillment.domain.commands import Command
from drfulfillment.domain.decide import (
    decide_routed,
    input_id,
    is_skipped,
    named_order,
)
from drfulfillment.domain.errors import ConflictingInput, InputRefused, MalformedInput
from drfulfillment.domain.inputs import (
    BackorderObserved,
    CancellationObserved,
    ChargeObserved,
    FulfillmentObserved,
    FulfillmentOrderObserved,
    FulfillmentReturnObserved,
    Input,
    RefundObserved,
    ShipmentObserved,
)
from drfulfillment.domain.packing import pack, settled, unpack
from drfulfillment.domain.state import IntegrationModel, OrderState, Waiting

__all__ = ["Engine", "EngineOrders", "Outcome", "fulfillment_order_of", "route"]


@attrs.frozen
class Outcome:
    """What one :meth:`Engine.handle` did: commands to carry out, in order, and why."""

    commands: tuple[Command, ...]
    outcome: str
    order_id: str | None = None
    released: tuple[str, ...] = ()
    dropped: tuple[InputRefused, ...] = ()


def fulfillment_order_of(inp: Input) -> str | None:
    """The fulfillment order an event names, if any."""
    match inp:
        case FulfillmentOrderObserved():
            return inp.fulfillment_order.id
        case BackorderObserved():
            return inp.fulfillment_order_id
        case ShipmentObserved():
            return inp.shipment.fulfillment_order_id
        case CancellationObserved():
            return inp.cancellation.fulfillment_order_id
        case FulfillmentReturnObserved():
            return inp.fulfillment_return.fulfillment_order_id
        case _:
            return None


def route(
    inp: Input, owner_of: Callable[[str], str | None]
) -> tuple[str | None, str | None]:
    """``(order id, fulfillment order id)`` of ``inp``; the order id is ``None`` when
    only an unknown fulfillment order names it (the input must wait for it).

    ``owner_of`` tells which order owns a known fulfillment order (the engine's index,
    or a store's). Refuses an input naming an order other than its fulfillment order's
    owner, one naming neither, and a fulfillment-order event without its order id.
    """
    named = named_order(inp)
    fo_id = fulfillment_order_of(inp)
    known = owner_of(fo_id) if fo_id is not None else None
    if known is not None and named is not None and named[0] != known:
        raise ConflictingInput(
            input_id(inp),
            named[1],
            f"fulfillment order {fo_id} belongs to order {known}, not {named[0]}",
        )
    order_id = named[0] if named is not None else known
    if order_id is None and fo_id is None:
        raise MalformedInput(
            input_id(inp),
            "data.object.orderId"
            if isinstance(inp, ChargeObserved | RefundObserved | FulfillmentObserved)
            else "data.object.id",
            "names neither a fulfillment order nor an order",
        )
    if order_id is None and isinstance(inp, FulfillmentOrderObserved):
        raise MalformedInput(
            input_id(inp),
            "data.object.upstreamId",
            "the order id (upstreamId) is missing",
        )
    return order_id, fo_id


class EngineOrders(Mapping[str, OrderState]):
    """Read-only view of an engine's orders by order id, packed ones unpacked on read
    (a fresh copy each time). Iteration gives the orders held as records first."""

    __slots__ = ("_live", "_packed")

    def __init__(self, live: dict[str, OrderState], packed: dict[str, bytes]) -> None:
        self._live = live
        self._packed = packed

    def __getitem__(self, order_id: str) -> OrderState:
        state = self._live.get(order_id)
        if state is not None:
            return state
        return unpack(self._packed[order_id])

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._live or order_id in self._packed

    def __iter__(self) -> Iterator[str]:
        yield from self._live
        yield from self._packed

    def __len__(self) -> int:
        return len(self._live) + len(self._packed)

    @property
    def packed(self) -> int:
        """How many of the orders are held packed."""
        return len(self._packed)


class Engine:
    """Routes inputs to per-order state and applies them with :func:`decide`.

    ``pack_when`` tells which orders to hold packed (:mod:`.packing`); ``None`` holds
    every order as records. An order with inputs waiting is never packed.
    """

    def __init__(
        self,
        model: IntegrationModel = IntegrationModel.DISTRIBUTED,
        *,
        catalog: Mapping[str, bool] | None = None,
        orders: Iterable[OrderState] = (),
        pack_when: Callable[[OrderState], bool] | None = settled,
    ) -> None:
        self.model = model
        self.catalog = dict(catalog or {})
        self.pack_when = pack_when
        self._live: dict[str, OrderState] = {}
        self._packed: dict[str, bytes] = {}
        self._fo_index: dict[str, str] = {}
        self._unrouted: dict[str, list[Waiting]] = {}
        for state in orders:
            self._store(state)

    @property
    def orders(self) -> EngineOrders:
        """Every order the engine holds, by order id."""
        return EngineOrders(self._live, self._packed)

    def _keep(self, state: OrderState) -> None:
        """Hold ``state`` as its order's state, packed if ``pack_when`` says so."""
        order_id = state.order_id
        if self.pack_when is not None and not state.waiting and self.pack_when(state):
            self._packed[order_id] = pack(state)
            self._live.pop(order_id, None)
        else:
            self._live[order_id] = state
            if self._packed:
                self._packed.pop(order_id, None)

    def _store(self, state: OrderState) -> list[str]:
        self._keep(state)
        new = [fo.id for fo in state.fulfillment_orders if fo.id not in self._fo_index]
        for fo_id in new:
            self._fo_index[fo_id] = state.order_id
        return new

    def handle(self, inp: Input) -> Outcome:
        """Apply one event or request; raise :class:`InputRefused` if it is impossible."""
        if is_skipped(inp):
            return Outcome((), "skipped")
        order_id, fo_id = route(inp, self._fo_index.get)
        if order_id is None:
            assert fo_id is not None
            parked = self._unrouted.setdefault(fo_id, [])
            iid = input_id(inp)
            if any(w.input_id == iid for w in parked):
                return Outcome((), "duplicate")
            parked.append(Waiting(iid, inp, f"fulfillment order {fo_id}"))
            return Outcome((), "waiting")
        state = self._live.get(order_id)
        if state is None:
            packed = self._packed.get(order_id)
            state = (
                unpack(packed)
                if packed is not None
                else OrderState(order_id=order_id, model=self.model)
            )
        # Routed by the order it names, if any: decide's own checks are done.
        decision = decide_routed(state, inp, self.catalog)
        if decision.state.fulfillment_orders is state.fulfillment_orders:
            # No fulfillment order became known: nothing to index or release.
            # An unchanged packed order (a duplicate) stays packed as it was.
            if decision.state is not state or order_id not in self._packed:
                self._keep(decision.state)
            return Outcome(
                decision.commands,
                decision.outcome,
                order_id,
                decision.released,
                decision.dropped,
            )
        commands = decision.commands
        released = list(decision.released)
        dropped = list(decision.dropped)
        for new_fo in self._store(decision.state):
            for w in self._unrouted.pop(new_fo, []):
                try:
                    more = self.handle(w.input)
                except InputRefused as exc:
                    dropped.append(exc)
                    continue
                commands += more.commands
                # Routed now, it may still wait (in its order) for something else.
                if more.outcome != "waiting":
                    released.append(w.input_id)
                released += more.released
                dropped += more.dropped
        return Outcome(
            commands, decision.outcome, order_id, tuple(released), tuple(dropped)
        )

    def waiting(self) -> list[Waiting]:
        """Every input still waiting for what it depends on, by input id."""
        # A packed order has nothing waiting.
        out = [w for s in self._live.values() for w in s.waiting]
        out += [w for ws in self._unrouted.values() for w in ws]
        return sorted(out, key=lambda w: w.input_id)
