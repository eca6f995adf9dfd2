"""Workers share the load by orders: one order is decided by one worker at a time, and
its inputs in arrival order, whoever applies them.

The scenario that broke an earlier design (workers claiming single inbox entries): a
worker applied a merchant request for order X, refused because X's fulfillment order
was unknown, while another worker still held the earlier ``fulfillment_order.pending``
for X. Here another worker holds X (:meth:`Store.hold`) while a worker makes a pass: it
must leave every input of X, the request included, and still apply other orders'.
Then four worker threads race on eight orders, with ``decide`` watched: no two deciding
for one order at once, each order's inputs decided in arrival order, and the outcome
of the single-threaded engine. Every case runs on memory, SQLite and PostgreSQL; on
PostgreSQL, a worker killed while holding an order holds it no longer.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from concurrency_support import expected, receive_body
from drfulfillment.adapters import worker as worker_module
from drfulfillment.adapters.postgres import PostgresStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.codecs.state import dump_state, load_state
from drfulfillment.domain.decide import decide, input_id
from drfulfillment.domain.ports import InboxStatus, Store
from drfulfillment.testing.events import (
    Json,
    fo_line,
    fulfillment_order,
    order_event,
    request,
)
from multi_orders import histories
from stores import fresh_schema_url, postgres_store_or_skip, store_factory

X, ITEM, FO, LINE = "204440790336", "127911830336", "5774321009", "650398674428"
Factory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Stores of one kind on the same data, one per worker (memory: one shared)."""
    opened: list[Store] = []
    factory = store_factory(request.param, tmp_path / "holds.sqlite3", opened)
    yield factory
    for store in opened:
        store.close()


def put(store: Store, doc: Json) -> None:
    """Receive ``doc`` as the webhook endpoint (or ``ingest``) would."""
    kind = str(doc.get("type") or doc.get("request"))
    store.receive(str(doc["id"]), kind, json.dumps(doc).encode())


def status(store: Store, event_id: str) -> InboxStatus:
    """Where one input is."""
    (entry,) = [e for e in store.inbox() if e.event_id == event_id]
    return entry.status


class OtherWorker:
    """Another worker, in a thread of its own, holding one order until let go."""

    def __init__(self, store: Store, order_id: str) -> None:
        self.store, self.order_id = store, order_id
        self.held = threading.Event()
        self.let_go = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.held.wait(10), "the other worker could not hold the order"

    def _run(self) -> None:
        if self.store.hold(self.order_id):
            self.held.set()
            self.let_go.wait(30)
            self.store.release(self.order_id)

    def release(self) -> None:
        """Let go of the order, and wait until it has."""
        self.let_go.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def x_waiting_for_its_fulfillment_order(store: Store) -> None:
    """X accepted (applied); then its fulfillment order, order Y, and a merchant
    request for X that X's fulfillment order makes possible (refused without it)."""
    put(store, order_event("evt-acc", "accepted", "2021-11-01T18:23:02Z"))
    assert Worker(store).apply_pending() == 1
    put(
        store,
        fulfillment_order(
            "evt-fo", "fulfillment_order.pending", FO, X, [fo_line(LINE, ITEM, 2)]
        ),
    )
    put(
        store,
        order_event(
            "evt-y", "accepted", "2021-11-01T18:24:00Z", order_id="204440790999"
        ),
    )
    put(
        store,
        request("request_cancellation", "req-1", X, [(ITEM, 1)], reason="by_customer"),
    )


def test_a_pass_leaves_every_input_of_an_order_another_worker_holds(
    make_store: Factory,
) -> None:
    """Nothing of X while it is held (the request is not refused for want of the
    fulfillment order); Y meanwhile; then X's inputs in arrival order."""
    store = make_store()
    x_waiting_for_its_fulfillment_order(store)
    other = OtherWorker(make_store(), X)
    worker = Worker(store)
    assert worker.apply_pending() == 1
    assert [status(store, e) for e in ("evt-fo", "evt-y", "req-1")] == [
        InboxStatus.RECEIVED,
        InboxStatus.APPLIED,
        InboxStatus.RECEIVED,
    ]
    assert worker.apply_pending() == 0  # still held: nothing to do, nothing done
    other.release()
    assert worker.apply_pending() == 2
    assert status(store, "evt-fo") is InboxStatus.APPLIED
    assert status(store, "req-1") is InboxStatus.APPLIED
    assert [e.kind for e in store.outbox(X)] == [
        "CreateFulfillmentOrder",
        "CreateFulfillmentCancellation",
    ]


def test_an_order_let_go_of_during_a_pass_stays_left_for_that_pass(
    make_store: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other worker lets go of X while the pass is at Y (after X's fulfillment
    order, before the request): the pass must not apply the request before the
    fulfillment order, which it skipped. The next pass applies both, in order."""
    store = make_store()
    x_waiting_for_its_fulfillment_order(store)
    other = OtherWorker(make_store(), X)
    hold = store.hold

    def letting_go_at_y(order_id: str) -> bool:
        if order_id != X:
            other.release()
        return hold(order_id)

    monkeypatch.setattr(store, "hold", letting_go_at_y)
    worker = Worker(store)
    assert worker.apply_pending() == 1
    assert status(store, "evt-fo") is InboxStatus.RECEIVED
    assert status(store, "req-1") is InboxStatus.RECEIVED
    assert worker.apply_pending() == 2
    assert [(e.event_id, e.status) for e in store.inbox(X)] == [
        ("evt-acc", InboxStatus.APPLIED),
        ("evt-fo", InboxStatus.APPLIED),
        ("req-1", InboxStatus.APPLIED),
    ]


def test_apply_waits_for_an_order_another_worker_holds(
    make_store: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Worker.apply`` (one input, as ``ingest --apply`` uses it) decides nothing
    while another worker holds the order, then applies the input once it is free."""
    store = make_store()
    x_waiting_for_its_fulfillment_order(store)
    other = OtherWorker(make_store(), X)
    refused = threading.Event()
    hold = store.hold

    def watched(order_id: str) -> bool:
        held = hold(order_id)
        if not held:
            refused.set()
        return held

    monkeypatch.setattr(store, "hold", watched)
    worker = Worker(store)
    worker.hold_poll_seconds = 0.001
    (entry,) = [e for e in store.next_inputs(10) if e.event_id == "evt-fo"]
    outcomes: list[str] = []
    applying = threading.Thread(target=lambda: outcomes.append(worker.apply(entry)))
    applying.start()
    assert refused.wait(10)
    assert status(store, "evt-fo") is InboxStatus.RECEIVED
    other.release()
    applying.join(10)
    assert outcomes == ["applied"]
    assert status(store, "evt-fo") is InboxStatus.APPLIED


class Watch:
    """Wraps the worker's ``decide``: who decides for which order, in what order."""

    def __init__(self, seqs: dict[str, int]) -> None:
        self.seqs = seqs
        self.lock = threading.Lock()
        self.deciding: dict[str, int] = {}
        self.decided: dict[str, list[int]] = {}
        self.overlaps: list[str] = []
        self.decide = decide

    def __call__(self, state: Any, inp: Any, **kwargs: Any) -> Any:
        order_id = state.order_id
        me = threading.get_ident()
        with self.lock:
            other = self.deciding.setdefault(order_id, me)
            if other != me:
                self.overlaps.append(f"{order_id}: {input_id(inp)}")
            self.decided.setdefault(order_id, []).append(self.seqs[input_id(inp)])
        try:
            time.sleep(0.002)  # widens the window another worker could decide in
            return self.decide(state, inp, **kwargs)
        finally:
            with self.lock:
                if self.deciding.get(order_id) == me:
                    del self.deciding[order_id]

    def out_of_order(self) -> list[str]:
        """Orders whose inputs were decided out of arrival order."""
        return [o for o, seqs in self.decided.items() if seqs != sorted(seqs)]


@pytest.mark.parametrize("limit", [5, 50])
def test_racing_workers_decide_each_order_alone_and_in_arrival_order(
    make_store: Factory, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Four workers, eight orders received step by step: one worker per order at a
    time, arrival order per order, and the in-order engine's final states."""
    store = make_store()
    stories = histories(8)
    for step in range(max(len(h) for h in stories)):
        for history in stories:
            if step < len(history):
                receive_body(store, history[step])
    seqs = {e.event_id: e.seq for e in store.inbox()}
    watch = Watch(seqs)
    monkeypatch.setattr(worker_module, "decide", watch)
    stores = [make_store() for _ in range(4)]
    errors: list[BaseException] = []
    deadline = time.monotonic() + 60

    def work(mine: Store) -> None:
        try:
            worker = Worker(mine)
            while mine.next_inputs(1) and time.monotonic() < deadline:
                worker.apply_pending(limit)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert errors == []
    assert watch.overlaps == []
    assert watch.out_of_order() == []
    assert {e.status for e in store.inbox()} == {InboxStatus.APPLIED}
    for n, history in enumerate(stories):
        want = expected(n, history)
        row = store.load(want.order_id)
        assert row is not None
        assert dump_state(load_state(row.state)) == want.state
        assert {e.key for e in store.outbox(want.order_id)} == want.keys


_HOLDER = """
import sys, time
from drfulfillment.adapters.postgres import PostgresStore
store = PostgresStore(sys.argv[1])
assert store.hold(sys.argv[2])
print("held", flush=True)
time.sleep(120)
"""


def test_a_killed_worker_holds_nothing_on_postgresql() -> None:
    """A worker process killed (``kill -9``) while holding an order: the server ends
    its session, which lets go of the order; another worker then holds it."""
    with fresh_schema_url() as url:
        store = PostgresStore(url)
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, url, X],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == b"held\n"
            assert store.hold(X) is False
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            deadline = time.monotonic() + 20
            while not store.hold(X):
                assert time.monotonic() < deadline, "the dead worker still holds X"
                time.sleep(0.05)
            store.release(X)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait(10)
            if holder.stdout is not None:
                holder.stdout.close()
            store.close()


def test_a_failed_hold_on_postgresql_leaves_no_hold_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[Store] = []
    make = postgres_store_or_skip(opened)
    try:
        store = make()
        assert isinstance(store, PostgresStore)

        def broken() -> Any:
            raise ConnectionError("server went away")

        with monkeypatch.context() as m:
            m.setattr(store, "_statement", broken)
            with pytest.raises(ConnectionError):
                store.hold("o-1")
        # Another thread is not kept out by a hold that never happened.
        other: list[bool] = []
        t = threading.Thread(target=lambda: other.append(store.hold("o-1")))
        t.start()
        t.join()
        assert other == [True]
    finally:
        for s in reversed(opened):
            s.close()
