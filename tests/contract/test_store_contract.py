"""One contract suite for every store: in-memory, SQLite and PostgreSQL.

Each test runs against each store (the ``store`` fixture). PostgreSQL runs when
``DRFULFILLMENT_TEST_POSTGRES`` holds a connection URL (``.ci/run`` starts a server and
sets it); without it those cases skip, saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drfulfillment.domain.ports import (
    AlreadySettled,
    Change,
    InboxStatus,
    OutboxStatus,
    StaleVersion,
    Store,
)
from stores import store_factory

Factory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory of stores of one kind; SQLite and PostgreSQL reopen the same data."""
    opened: list[Store] = []
    factory = store_factory(request.param, tmp_path / "store.sqlite3", opened)
    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Factory) -> Store:
    """A fresh store."""
    return make_store()


def change(
    event_id: str = "evt-1",
    version: int = 0,
    *,
    order_id: str = "ord-1",
    state: str = '{"s": 1}',
    fos: tuple[str, ...] = (),
    commands: tuple[tuple[str, str, str], ...] = (),
    released: tuple[str, ...] = (),
    dropped: tuple[tuple[str, str], ...] = (),
) -> Change:
    """A commit of ``event_id`` to ``order_id`` decided on ``version``."""
    return Change(
        order_id=order_id,
        expected_version=version,
        state=state,
        fulfillment_orders=fos,
        event_id=event_id,
        detail="applied",
        commands=commands,
        released=released,
        dropped=dropped,
    )


class TestInbox:
    def test_receive_keeps_each_event_once(self, store: Store) -> None:
        """The same event id twice is kept once; ``False`` says it was a duplicate."""
        assert store.receive("evt-1", "order.accepted", b"{}") is True
        assert store.receive("evt-1", "order.accepted", b"{}") is False
        assert [e.event_id for e in store.inbox()] == ["evt-1"]

    def test_inputs_come_out_in_arrival_order(self, store: Store) -> None:
        """``next_inputs`` is oldest first, limited, and bodies are kept byte for byte."""
        for n in (3, 1, 2):
            store.receive(f"evt-{n}", "t", f'{{"n": {n}}}'.encode())
        taken = store.next_inputs(2)
        assert [e.event_id for e in taken] == ["evt-3", "evt-1"]
        assert taken[0].body == b'{"n": 3}'

    def test_refused_input_leaves_the_queue(self, store: Store) -> None:
        """A settled input is not offered again and keeps its reason."""
        store.receive("evt-1", "t", b"{}")
        store.settle("evt-1", InboxStatus.REFUSED, "evt-1: not valid")
        assert store.next_inputs(10) == []
        (entry,) = store.inbox()
        assert (entry.status, entry.detail) == (InboxStatus.REFUSED, "evt-1: not valid")


class TestCommit:
    def test_new_order_then_next_version(self, store: Store) -> None:
        """A commit on version 0 creates the order at 1; the next commit needs 1."""
        store.receive("evt-1", "t", b"{}")
        store.receive("evt-2", "t", b"{}")
        store.commit(change("evt-1", 0))
        row = store.load("ord-1")
        assert row is not None
        assert (row.state, row.version) == ('{"s": 1}', 1)
        store.commit(change("evt-2", 1, state='{"s": 2}'))
        row = store.load("ord-1")
        assert row is not None
        assert (row.state, row.version) == ('{"s": 2}', 2)
        assert {e.event_id: e.status for e in store.inbox()} == {
            "evt-1": InboxStatus.APPLIED,
            "evt-2": InboxStatus.APPLIED,
        }

    def test_stale_commit_changes_nothing(self, store: Store) -> None:
        """A commit decided on an old version is refused whole: state, inbox, outbox."""
        store.receive("evt-1", "t", b"{}")
        store.receive("evt-2", "t", b"{}")
        store.commit(change("evt-1", 0))
        with pytest.raises(StaleVersion):
            store.commit(
                change("evt-2", 0, state="lost", commands=(("k2", "C", "{}"),))
            )
        row = store.load("ord-1")
        assert row is not None
        assert (row.state, row.version) == ('{"s": 1}', 1)
        assert [e.event_id for e in store.next_inputs(10)] == ["evt-2"]
        assert store.outbox() == []

    def test_an_input_settled_by_another_worker_is_not_committed_again(
        self, store: Store
    ) -> None:
        """A second commit of an applied input (a slower worker's) changes nothing."""
        store.receive("evt-1", "t", b"{}")
        store.commit(change("evt-1", 0))
        with pytest.raises(AlreadySettled):
            store.commit(
                change("evt-1", 1, state="redundant", commands=(("k9", "C", "{}"),))
            )
        row = store.load("ord-1")
        assert row is not None
        assert (row.state, row.version) == ('{"s": 1}', 1)
        assert store.outbox() == []
        store.settle("evt-1", InboxStatus.REFUSED, "late refusal")
        assert [(e.status, e.detail) for e in store.inbox()] == [
            (InboxStatus.APPLIED, "applied")
        ]

    def test_commands_are_enqueued_once_per_key(self, store: Store) -> None:
        """A key already in the outbox is skipped, whatever commit brings it again."""
        for n in (1, 2):
            store.receive(f"evt-{n}", "t", b"{}")
        store.commit(
            change("evt-1", 0, commands=(("k1", "A", "one"), ("k2", "B", "two")))
        )
        store.commit(
            change("evt-2", 1, commands=(("k1", "A", "again"), ("k3", "C", "3")))
        )
        entries = store.outbox("ord-1")
        assert [(e.key, e.command) for e in entries] == [
            ("k1", "one"),
            ("k2", "two"),
            ("k3", "3"),
        ]
        assert all(e.status is OutboxStatus.PENDING for e in entries)

    def test_released_and_dropped_inputs_are_marked(self, store: Store) -> None:
        """Waiting inputs released by a commit say so; dropped ones become refused."""
        for n in (1, 2, 3):
            store.receive(f"evt-{n}", "t", b"{}")
        store.commit(change("evt-1", 0))
        store.commit(change("evt-2", 1))
        store.commit(
            change("evt-3", 2, released=("evt-1",), dropped=(("evt-2", "no"),))
        )
        by_id = {e.event_id: e for e in store.inbox("ord-1")}
        assert by_id["evt-1"].detail == "applied (after evt-3)"
        assert (by_id["evt-2"].status, by_id["evt-2"].detail) == (
            InboxStatus.REFUSED,
            "no",
        )

    def test_concurrent_commits_on_one_version_one_wins(self, store: Store) -> None:
        """Eight threads commit on version 1 at once: exactly one succeeds."""
        for n in range(9):
            store.receive(f"evt-{n}", "t", b"{}")
        store.commit(change("evt-0", 0))
        wins: list[int] = []
        stale: list[int] = []
        barrier = threading.Barrier(8)

        def attempt(n: int) -> None:
            barrier.wait()
            try:
                store.commit(change(f"evt-{n + 1}", 1, state=str(n)))
                wins.append(n)
            except StaleVersion:
                stale.append(n)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert (len(wins), len(stale)) == (1, 7)
        row = store.load("ord-1")
        assert row is not None
        assert (row.state, row.version) == (str(wins[0]), 2)


class TestParking:
    def test_parked_until_the_fulfillment_order_is_owned(self, store: Store) -> None:
        """Parked inputs wait out of the queue and return when a commit owns the FO."""
        store.receive("evt-ship", "t", b"{}")
        store.receive("evt-fo", "t", b"{}")
        assert store.park("evt-ship", "fo-1") is True
        assert [e.event_id for e in store.next_inputs(10)] == ["evt-fo"]
        store.commit(change("evt-fo", 0, fos=("fo-1",)))
        assert store.owner_of("fo-1") == "ord-1"
        assert [e.event_id for e in store.next_inputs(10)] == ["evt-ship"]

    def test_parking_on_an_owned_order_is_refused(self, store: Store) -> None:
        """``park`` says ``False`` when the FO is already owned; the input stays due."""
        store.receive("evt-fo", "t", b"{}")
        store.receive("evt-ship", "t", b"{}")
        store.commit(change("evt-fo", 0, fos=("fo-1",)))
        assert store.park("evt-ship", "fo-1") is False
        assert [e.event_id for e in store.next_inputs(10)] == ["evt-ship"]


def elsewhere(call: Callable[[], bool]) -> bool:
    """``call`` made by another worker: in a thread of its own."""
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    thread.join(timeout=30)
    assert len(answers) == 1, "the other worker did not answer"
    return answers[0]


class TestHolds:
    def test_an_order_is_held_by_one_worker_at_a_time(
        self, make_store: Factory
    ) -> None:
        """Held here, another worker cannot hold it (and letting go of what it does
        not hold changes nothing); other orders are free; released, it can."""
        mine, theirs = make_store(), make_store()
        assert mine.hold("ord-1") is True
        assert elsewhere(lambda: theirs.hold("ord-1")) is False

        def release_and_retry() -> bool:
            theirs.release("ord-1")
            return theirs.hold("ord-1")

        assert elsewhere(release_and_retry) is False

        def hold_other() -> bool:
            held = theirs.hold("ord-2")
            theirs.release("ord-2")
            return held

        assert elsewhere(hold_other) is True
        mine.release("ord-1")

        def hold_and_release() -> bool:
            held = theirs.hold("ord-1")
            theirs.release("ord-1")
            return held

        assert elsewhere(hold_and_release) is True
        assert mine.hold("ord-1") is True
        mine.release("ord-1")

    def test_release_lets_go_of_several_orders_at_once(
        self, make_store: Factory
    ) -> None:
        """``release(a, b)`` frees both; releasing nothing is allowed."""
        mine, theirs = make_store(), make_store()
        assert mine.hold("ord-1")
        assert mine.hold("ord-2")
        mine.release()
        assert elsewhere(lambda: theirs.hold("ord-2")) is False
        mine.release("ord-1", "ord-2")

        def hold_both() -> bool:
            held = theirs.hold("ord-1") and theirs.hold("ord-2")
            theirs.release("ord-1", "ord-2")
            return held

        assert elsewhere(hold_both) is True

    def test_load_with_an_input_checks_it_is_still_to_apply(self, store: Store) -> None:
        """``load(order, event)``: the order's state if the input is received (none
        for a new order); :class:`AlreadySettled` if applied, parked, refused or
        unknown."""
        for event_id in ("evt-1", "evt-2", "evt-3", "evt-4"):
            store.receive(event_id, "t", b"{}")
        assert store.load("ord-1", "evt-1") is None
        store.commit(change("evt-1", 0))
        store.park("evt-2", "fo-9")
        store.settle("evt-3", InboxStatus.REFUSED, "no")

        def waiting(event_id: str) -> bool:
            try:
                store.load("ord-1", event_id)
            except AlreadySettled:
                return False
            return True

        assert [waiting(f"evt-{n}") for n in range(1, 6)] == [
            False,
            False,
            False,
            True,
            False,
        ]
        row = store.load("ord-1", "evt-4")
        assert row is not None
        assert row.version == 1
        assert row == store.load("ord-1")


class TestOutboxClaims:
    def _one(self, store: Store) -> None:
        store.receive("evt-1", "t", b"{}")
        store.commit(change("evt-1", 0, commands=(("k1", "A", "{}"),)))

    def test_claim_puts_due_commands_in_flight(self, store: Store) -> None:
        """A claim counts an attempt and leases the command; nobody else gets it."""
        self._one(store)
        (claimed,) = store.claim(100.0, 10, 30.0)
        assert (claimed.key, claimed.status, claimed.attempts) == (
            "k1",
            OutboxStatus.IN_FLIGHT,
            1,
        )
        assert claimed.lease_until == 130.0
        assert store.claim(129.0, 10, 30.0) == []

    def test_an_expired_lease_is_claimed_again(self, store: Store) -> None:
        """A worker that died mid-send loses its lease; the next claim is attempt 2,
        and the dead worker's late record is ignored."""
        self._one(store)
        store.claim(100.0, 10, 30.0)
        (again,) = store.claim(131.0, 10, 30.0)
        assert again.attempts == 2
        assert store.record("k1", 1, OutboxStatus.SENT) is False
        assert store.record("k1", 2, OutboxStatus.SENT, detail="ok") is True
        (entry,) = store.outbox()
        assert (entry.status, entry.detail) == (OutboxStatus.SENT, "ok")
        assert store.claim(10_000.0, 10, 30.0) == []

    def test_retry_waits_until_it_is_due(self, store: Store) -> None:
        """A command put back with ``next_attempt_at`` is not claimed before then."""
        self._one(store)
        store.claim(100.0, 10, 30.0)
        store.record("k1", 1, OutboxStatus.PENDING, next_attempt_at=160.0, detail="429")
        assert store.claim(159.0, 10, 30.0) == []
        (claimed,) = store.claim(160.0, 10, 30.0)
        assert claimed.attempts == 2


def test_data_survives_reopening(make_store: Factory) -> None:
    """What one store object committed, a new one on the same data sees."""
    first = make_store()
    first.receive("evt-1", "t", b"{}")
    first.commit(change("evt-1", 0, fos=("fo-1",), commands=(("k1", "A", "{}"),)))
    second = make_store()
    assert second.owner_of("fo-1") == "ord-1"
    assert [e.key for e in second.outbox()] == ["k1"]
    assert [e.status for e in second.inbox()] == [InboxStatus.APPLIED]
