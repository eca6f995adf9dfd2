"""The worker's routing, refusals, conflict retries and dispatch rules, on MemoryStore."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from drfulfillment.adapters.memory import MemoryStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.domain.commands import ApiCommand
from drfulfillment.domain.ports import (
    Change,
    InboxStatus,
    OutboxStatus,
    SendResult,
    SendStatus,
    StaleVersion,
)
from drfulfillment.testing.events import (
    backordered,
    fo_line,
    fulfillment_order,
    order_event,
    shipped,
)

ORDER, ITEM, FO, FO_LINE = "204440790336", "127911830336", "5774321009", "650398674428"


def put(store: MemoryStore, doc: dict[str, Any]) -> str:
    """Receive ``doc`` under its own id; that id."""
    event_id = str(doc["id"])
    store.receive(event_id, str(doc.get("type")), json.dumps(doc).encode())
    return event_id


def status_of(store: MemoryStore, event_id: str) -> tuple[InboxStatus, str]:
    """``(status, detail)`` of one inbox entry."""
    (entry,) = [e for e in store.inbox() if e.event_id == event_id]
    return entry.status, entry.detail


def accepted_with_fo(store: MemoryStore, worker: Worker) -> None:
    """The order accepted and its fulfillment order known."""
    put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
    put(
        store,
        fulfillment_order(
            "evt-2", "fulfillment_order.pending", FO, ORDER, [fo_line(FO_LINE, ITEM, 2)]
        ),
    )
    worker.apply_pending()


class TestRefusals:
    def test_unknown_event_type_is_skipped(self) -> None:
        """DR adding an event type is not an error: applied as ``skipped``."""
        store = MemoryStore()
        put(store, {"id": "evt-x", "type": "order.new_thing", "data": {"object": {}}})
        assert Worker(store).apply_pending() == 1
        assert status_of(store, "evt-x") == (InboxStatus.APPLIED, "skipped")

    def test_unparseable_input_is_refused_with_its_reason(self) -> None:
        """A body the codec refuses is kept with the codec's reason."""
        store = MemoryStore()
        store.receive("evt-bad", "order.accepted", b'{"id": "evt-bad"}')
        Worker(store).apply_pending()
        status, detail = status_of(store, "evt-bad")
        assert status is InboxStatus.REFUSED
        assert "type" in detail

    def test_body_with_another_id_is_refused(self) -> None:
        """The inbox key and the body's id must agree."""
        store = MemoryStore()
        body = json.dumps(order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
        store.receive("evt-other", "order.accepted", body.encode())
        Worker(store).apply_pending()
        status, detail = status_of(store, "evt-other")
        assert status is InboxStatus.REFUSED
        assert "differs from the id it was received under" in detail

    def test_fulfillment_order_of_another_order_is_refused(self) -> None:
        """An event naming order B for a fulfillment order A owns: refused, A intact."""
        store = MemoryStore()
        worker = Worker(store)
        accepted_with_fo(store, worker)
        before = store.load(ORDER)
        put(
            store,
            shipped("evt-3", "S1", FO, "999", [("S1-1", FO_LINE, ITEM, 1)]),
        )
        worker.apply_pending()
        status, detail = status_of(store, "evt-3")
        assert status is InboxStatus.REFUSED
        assert f"fulfillment order {FO} belongs to order {ORDER}, not 999" in detail
        assert store.load(ORDER) == before

    def test_fulfillment_order_without_its_order_id_is_refused(self) -> None:
        """A fulfillment-order event for an unknown FO with no ``upstreamId``."""
        store = MemoryStore()
        doc = fulfillment_order(
            "evt-2", "fulfillment_order.pending", FO, ORDER, [fo_line(FO_LINE, ITEM, 2)]
        )
        del doc["data"]["object"]["upstreamId"]
        put(store, doc)
        Worker(store).apply_pending()
        status, detail = status_of(store, "evt-2")
        assert status is InboxStatus.REFUSED
        assert "data.object.upstreamId" in detail

    def test_shipment_for_an_unknown_fulfillment_order_is_parked(self) -> None:
        """It waits in the inbox, then applies when the FO becomes known."""
        store = MemoryStore()
        put(store, shipped("evt-3", "S1", FO, ORDER, [("S1-1", FO_LINE, ITEM, 1)]))
        doc = shipped("evt-3", "S1", FO, ORDER, [("S1-1", FO_LINE, ITEM, 1)])
        assert doc["data"]["object"]["fulfillmentOrderUpstreamId"] == ORDER
        worker = Worker(store)
        worker.apply_pending()
        # The shipment names its order, so it waits inside the order, not parked.
        assert status_of(store, "evt-3")[0] is InboxStatus.APPLIED
        accepted_with_fo(store, worker)
        assert [e.kind for e in store.outbox()][-1] == "CreateFulfillment"


class CountingStore(MemoryStore):
    """Counts the questions the worker asks about fulfillment orders and holds."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.held: list[str] = []

    def owner_of(self, fulfillment_order_id: str) -> str | None:
        """Record, then answer."""
        self.asked.append(fulfillment_order_id)
        return super().owner_of(fulfillment_order_id)

    def hold(self, order_id: str) -> bool:
        """Record, then hold."""
        self.held.append(order_id)
        return super().hold(order_id)


class TestOwnersAndHolds:
    def test_a_known_owner_is_asked_for_once(self) -> None:
        """A fulfillment order's owner never changes: the worker asks the store until
        it is known, then remembers it."""
        store = CountingStore()
        worker = Worker(store)
        put(store, shipped("evt-0", "S0", FO, ORDER, [("S0-1", FO_LINE, ITEM, 1)]))
        accepted_with_fo(store, worker)
        put(store, shipped("evt-3", "S3", FO, ORDER, [("S3-1", FO_LINE, ITEM, 1)]))
        worker.apply_pending()
        put(store, backordered("evt-4", FO, ORDER, [(FO_LINE, ITEM, 1, 1)]))
        worker.apply_pending()
        assert status_of(store, "evt-4") == (InboxStatus.APPLIED, "applied")
        assert store.asked == [FO, FO, FO]  # evt-0 and evt-2 before it was known; evt-3

    def test_a_pass_holds_each_order_once_and_lets_go(self) -> None:
        """One hold per order per pass, however many of its inputs; none kept after."""
        store = CountingStore()
        put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
        put(
            store,
            order_event("evt-2", "accepted", "2021-11-01T18:30:00Z", order_id="7"),
        )
        put(
            store,
            fulfillment_order(
                "evt-3",
                "fulfillment_order.pending",
                FO,
                ORDER,
                [fo_line(FO_LINE, ITEM, 2)],
            ),
        )
        assert Worker(store).apply_pending() == 3
        assert store.held == [ORDER, "7"]
        held_elsewhere: list[bool] = []
        other = threading.Thread(
            target=lambda: held_elsewhere.extend([store.hold(ORDER), store.hold("7")])
        )
        other.start()
        other.join(10)
        assert held_elsewhere == [True, True]


class FlakyStore(MemoryStore):
    """Raises :class:`StaleVersion` on the first ``stale`` commits."""

    def __init__(self, stale: int) -> None:
        super().__init__()
        self.stale = stale
        self.commits = 0

    def commit(self, change: Change) -> None:
        """Fail the first commits as a concurrent writer would make them fail."""
        self.commits += 1
        if self.commits <= self.stale:
            raise StaleVersion(change.order_id)
        super().commit(change)


class TestConflicts:
    def test_a_stale_commit_is_decided_again(self) -> None:
        """Two conflicts, then the third decision commits."""
        store = FlakyStore(stale=2)
        put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
        Worker(store).apply_pending()
        assert store.commits == 3
        assert status_of(store, "evt-1")[0] is InboxStatus.APPLIED

    def test_endless_conflicts_leave_the_input_to_apply(self) -> None:
        """After ``max_conflicts`` the input stays received for a later pass."""
        store = FlakyStore(stale=100)
        put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
        worker = Worker(store, max_conflicts=3)
        (entry,) = store.next_inputs(1)
        assert worker.apply(entry) == "conflict"
        assert [e.event_id for e in store.next_inputs(5)] == ["evt-1"]


class Api:
    """Answers every call with ``status``."""

    def __init__(self, status: SendStatus, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        self.sent: list[str] = []

    def send(self, command: ApiCommand, *, reconcile_first: bool = False) -> SendResult:
        """Record and answer."""
        self.sent.append(command.key)
        return SendResult(self.status, reason="scripted", retry_after=self.retry_after)


class TestDispatch:
    def test_api_commands_need_a_client(self) -> None:
        """Without a DR client an API command cannot be dispatched: a clear error."""
        store = MemoryStore()
        put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
        worker = Worker(store)
        worker.apply_pending()
        with pytest.raises(RuntimeError, match="no DR API client"):
            worker.dispatch_due()

    def test_failed_is_final_and_retry_waits_retry_after(self) -> None:
        """FAILED is never sent again; RETRY comes back after DR's ``retry_after``."""
        store = MemoryStore()
        put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
        clock = [100.0]
        api = Api(SendStatus.RETRY, retry_after=7.0)
        worker = Worker(store, api=api, clock=lambda: clock[0])
        worker.apply_pending()
        assert worker.dispatch_due() == 1
        (entry,) = store.outbox()
        assert (entry.status, entry.next_attempt_at) == (OutboxStatus.PENDING, 107.0)
        clock[0] = 106.9
        assert worker.dispatch_due() == 0
        clock[0] = 107.0
        api.status = SendStatus.FAILED
        assert worker.dispatch_due() == 1
        assert store.outbox()[0].status is OutboxStatus.FAILED
        clock[0] = 10_000.0
        assert worker.dispatch_due() == 0
        assert len(api.sent) == 2


def test_run_stops_when_told() -> None:
    """``run`` applies what arrives and returns once the event is set."""
    store = MemoryStore()
    put(store, order_event("evt-1", "accepted", "2021-11-01T18:30:00Z"))
    stop = threading.Event()
    worker = Worker(store, api=Api(SendStatus.SENT))
    thread = threading.Thread(
        target=worker.run, args=(stop,), kwargs={"poll_seconds": 0.01}
    )
    thread.start()
    try:
        for _ in range(500):
            if store.outbox() and store.outbox()[0].status is OutboxStatus.SENT:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert store.outbox()[0].status is OutboxStatus.SENT
