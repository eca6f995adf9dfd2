"""Concurrent, duplicated, reordered deliveries of many orders, and what must come of them.

Used by ``tests/concurrency/``: several receivers put deliveries of several orders
(:mod:`multi_orders`) into one store while several workers apply and dispatch them; the
outcome must be the single-threaded engine's.

**Deliveries.** For each order, every line of its history is delivered 1-3 times,
shuffled (seeded), under the constraints of the real world (``docs/delivery.md``):

* the first ``order.accepted`` comes first: in the distributed model the merchant
  creates the fulfillment order after accepting the order, so DR cannot send events
  about it before. (Without this the engine rightly skips ``POST /fulfillment-orders``
  when DR's fulfillment order is already known, and the command set depends on the
  order of delivery.)
* the merchant's request comes after every DR event before it in the history has been
  received, and before any after it (DR cannot answer a request before it is made).

Receivers run concurrently; a delivery is handed to ``receive`` only once every
delivery of an earlier phase of its order (accepted / before / request / after) has been
received. Within a phase, the order across receivers is whatever the threads make it.

**Checks** (:func:`problems`): every input applied, each order's final state equal to
the pure in-order engine replay, the outbox keys equal to the replay's command keys,
every command settled ``sent``, and every API command's POST reaching DR exactly once.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import get_args

from drfulfillment import Engine, IntegrationModel
from drfulfillment.codecs import dump_state, load_state, parse_input
from drfulfillment.domain.commands import ApiCommand
from drfulfillment.domain.decide import input_id
from drfulfillment.domain.ports import InboxStatus, OutboxStatus, Store
from fakedr import FakeDr
from multi_orders import line_id, order_id

_API = get_args(ApiCommand)

#: Phases of one order's deliveries, in the order they must be received.
ACCEPTED, BEFORE, REQUEST, AFTER = range(4)


@dataclass(frozen=True)
class Delivery:
    """One delivery of one input of one order."""

    order: int
    phase: int
    body: bytes


def order_deliveries(
    n: int, history: Sequence[bytes], rng: random.Random
) -> list[Delivery]:
    """Order ``n``'s deliveries: each line 1-3 times, shuffled within its phase."""
    cut = next(i for i, body in enumerate(history) if b'"request"' in body)
    before = [b for b in history[:cut] for _ in range(rng.randint(1, 3))]
    after = [b for b in history[cut + 1 :] for _ in range(rng.randint(1, 3))]
    rng.shuffle(before)
    rng.shuffle(after)
    before.remove(history[0])  # one copy of order.accepted leads
    return [
        Delivery(n, ACCEPTED, history[0]),
        *(Delivery(n, BEFORE, b) for b in before),
        Delivery(n, REQUEST, history[cut]),
        *(Delivery(n, AFTER, b) for b in after),
    ]


def interleave(
    per_order: Sequence[Sequence[Delivery]], rng: random.Random
) -> list[Delivery]:
    """All orders' deliveries in one random sequence, each order's kept in its order."""
    turns = [n for n, deliveries in enumerate(per_order) for _ in deliveries]
    rng.shuffle(turns)
    cursors = [iter(deliveries) for deliveries in per_order]
    return [next(cursors[n]) for n in turns]


def receive_body(store: Store, body: bytes) -> bool:
    """Put one body in the inbox, as the webhook endpoint and ``ingest`` do."""
    doc = json.loads(body)
    return store.receive(
        str(doc["id"]), str(doc.get("type") or doc.get("request")), body
    )


@dataclass
class Receivers:
    """Threads that receive a delivery sequence concurrently, phase gates kept."""

    deliveries: list[Delivery]
    receive: Callable[[bytes], object]
    threads: int = 4
    timeout: float = 20.0
    #: Seconds each receiver waits after each delivery (spreads receiving over time).
    pause: float = 0.0
    errors: list[BaseException] = field(default_factory=list)
    _todo: Counter[tuple[int, int]] = field(default_factory=Counter)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _next: int = 0
    _running: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Start receiving in the background."""
        for d in self.deliveries:
            self._todo[d.order, d.phase] += 1
        self._running = [
            threading.Thread(target=self._run, name=f"receiver-{k}", daemon=True)
            for k in range(self.threads)
        ]
        for thread in self._running:
            thread.start()

    def _ready(self, d: Delivery) -> bool:
        return all(self._todo[d.order, p] == 0 for p in range(d.phase))

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            with self._cond:
                if self._next >= len(self.deliveries) or self.errors:
                    return
                d = self.deliveries[self._next]
                self._next += 1
                # Only earlier-taken deliveries can gate this one: no deadlock.
                if not self._cond.wait_for(
                    functools.partial(self._ready, d), deadline - time.monotonic()
                ):
                    self.errors.append(TimeoutError("a phase gate never opened"))
                    return
            try:
                self.receive(d.body)
            except BaseException as exc:
                with self._cond:
                    self.errors.append(exc)
                    self._cond.notify_all()
                return
            with self._cond:
                self._todo[d.order, d.phase] -= 1
                self._cond.notify_all()
            if self.pause:
                time.sleep(self.pause)

    def join(self) -> None:
        """Wait for every receiver; raise the first receiver's error."""
        for thread in self._running:
            thread.join(timeout=self.timeout)
        assert not any(t.is_alive() for t in self._running), "receivers still running"
        if self.errors:
            raise self.errors[0]


@dataclass(frozen=True)
class Expected:
    """The single-threaded, in-order engine outcome of one order's history."""

    order_id: str
    state: str
    keys: frozenset[str]
    api_keys: frozenset[str]
    event_ids: frozenset[str]


def expected(n: int, history: Sequence[bytes]) -> Expected:
    """Replay order ``n``'s history through the pure engine, in order, once each."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    keys: set[str] = set()
    api: set[str] = set()
    seen: set[str] = set()
    for body in history:
        inp = parse_input(body)
        if input_id(inp) in seen:
            continue
        seen.add(input_id(inp))
        for command in engine.handle(inp).commands:
            keys.add(command.key)
            if isinstance(command, _API):
                api.add(command.key)
    oid = order_id(n)
    return Expected(
        oid,
        dump_state(engine.orders[oid]),
        frozenset(keys),
        frozenset(api),
        frozenset(seen),
    )


def seed_fake(fake: FakeDr, count: int) -> None:
    """Seed ``fake`` with orders ``0 .. count-1``, one line of 2 units each."""
    for n in range(count):
        fake.add_order(order_id(n), {line_id(n): 2})


def posts_by_key(fake: FakeDr) -> Counter[str]:
    """How many POSTs reached ``fake`` per command key (``upstream-id`` header)."""
    return Counter(
        c.headers.get("upstream-id", "?") for c in fake.calls if c.method == "POST"
    )


def settled(store: Store, inputs: int) -> bool:
    """``inputs`` received, none left to apply, and no command still to send."""
    inbox = store.inbox()
    if len(inbox) < inputs or any(
        e.status in (InboxStatus.RECEIVED, InboxStatus.PARKED) for e in inbox
    ):
        return False
    return all(
        e.status not in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
        for e in store.outbox()
    )


def wait_settled(
    store: Store, inputs: int, timeout: float, alive: Callable[[], None] = lambda: None
) -> None:
    """Poll until :func:`settled` (``alive`` raises if a worker died); bounded."""
    deadline = time.monotonic() + timeout
    while not settled(store, inputs):
        alive()
        if time.monotonic() > deadline:
            inbox = Counter(e.status.value for e in store.inbox())
            outbox = Counter(e.status.value for e in store.outbox())
            msg = f"not settled in {timeout} s: inbox {dict(inbox)}, outbox {dict(outbox)}"
            raise TimeoutError(msg)
        time.sleep(0.1)


def problems(
    store: Store, wanted: Sequence[Expected], posts: Counter[str]
) -> list[str]:
    """Every way the store's outcome differs from ``wanted``; empty when all is well."""
    found: list[str] = []
    inbox = store.inbox()
    ids = {e.event_id for e in inbox}
    all_ids = frozenset().union(*(w.event_ids for w in wanted))
    if ids != all_ids:
        found.append(f"inbox ids differ: {sorted(ids ^ all_ids)[:5]}")
    for entry in inbox:
        if entry.status is not InboxStatus.APPLIED:
            found.append(f"input {entry.event_id}: {entry.status.value} {entry.detail}")
    outbox = store.outbox()
    for command in outbox:
        if command.status is not OutboxStatus.SENT:
            found.append(
                f"command {command.key}: {command.status.value} {command.detail}"
            )
    api_keys: set[str] = set()
    for w in wanted:
        row = store.load(w.order_id)
        if row is None:
            found.append(f"order {w.order_id}: not stored")
            continue
        if dump_state(load_state(row.state)) != w.state:
            found.append(f"order {w.order_id}: final state differs from the replay")
        keys = {e.key for e in outbox if e.order_id == w.order_id}
        if keys != w.keys:
            found.append(
                f"order {w.order_id}: commands differ: {sorted(keys ^ w.keys)}"
            )
        api_keys |= w.api_keys
    if set(posts) != api_keys:
        found.append(
            f"POSTs reached DR for {sorted(set(posts) ^ api_keys)} unexpectedly"
        )
    found += [f"{key}: POSTed {n} times" for key, n in sorted(posts.items()) if n != 1]
    return found
