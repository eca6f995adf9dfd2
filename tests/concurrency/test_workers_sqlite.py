"""Four worker threads on one SQLite file, while four receivers deliver concurrently.

Eight orders' histories (:mod:`multi_orders`), every event delivered 1-3 times and
shuffled (:mod:`concurrency_support` says which orderings are real), received by four
threads while four :class:`Worker` threads, each with its own :class:`SqliteStore` on
the same file and its own :class:`DrClient`, apply and dispatch to a fake DR on
loopback. SQLite's single writer (``BEGIN IMMEDIATE``) plus the optimistic version check
must give the single-threaded engine's outcome, with each DR call made once.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from concurrency_support import (
    Expected,
    Receivers,
    expected,
    interleave,
    order_deliveries,
    posts_by_key,
    problems,
    receive_body,
    seed_fake,
    wait_settled,
)
from drfulfillment.adapters.drapi import DrClient
from drfulfillment.adapters.memory import MemoryStore
from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.domain.commands import ApiCommand
from drfulfillment.domain.ports import SendResult, SendStatus, Store
from fakedr import FakeDr
from multi_orders import histories

ORDERS = 8
WORKERS = 4
SECRET = "sk_test_concurrency"


@pytest.fixture
def fake() -> Iterator[FakeDr]:
    """A fake DR seeded with the orders."""
    with FakeDr(secret=SECRET) as dr:
        seed_fake(dr, ORDERS)
        yield dr


class WorkerThreads:
    """``count`` workers, each on its own store and client, run until stopped."""

    def __init__(self, path: Path, base_url: str, count: int) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.stores = [SqliteStore(path) for _ in range(count)]
        self.clients = [
            DrClient(secret_key=SECRET, base_url=base_url, timeout=1.0, send_budget=3.0)
            for _ in range(count)
        ]
        self.threads = [
            threading.Thread(
                target=self._run,
                args=(Worker(store, api=client, lease_seconds=5.0),),
                name=f"worker-{k}",
                daemon=True,
            )
            for k, (store, client) in enumerate(
                zip(self.stores, self.clients, strict=True)
            )
        ]

    def _run(self, worker: Worker) -> None:
        try:
            worker.run(self.stop, poll_seconds=0.05)
        except BaseException as exc:
            self.errors.append(exc)

    def start(self) -> None:
        """Start every worker."""
        for thread in self.threads:
            thread.start()

    def alive(self) -> None:
        """Raise the first error of a worker that died."""
        if self.errors:
            raise self.errors[0]

    def close(self) -> None:
        """Stop the workers, then close their stores and clients."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        assert not any(t.is_alive() for t in self.threads), "a worker did not stop"
        for store in self.stores:
            store.close()
        for client in self.clients:
            client.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_worker_threads_on_sqlite_match_the_single_threaded_replay(
    seed: int, tmp_path: Path, fake: FakeDr
) -> None:
    """Same final states and commands as the in-order engine; each POST made once."""
    rng = random.Random(seed)
    stories = histories(ORDERS)
    wanted = [expected(n, h) for n, h in enumerate(stories)]
    deliveries = interleave(
        [order_deliveries(n, h, rng) for n, h in enumerate(stories)], rng
    )
    path = tmp_path / "concurrent.sqlite3"
    inbox = SqliteStore(path)
    workers = WorkerThreads(path, fake.url, WORKERS)
    receivers = Receivers(
        deliveries, lambda body: receive_body(inbox, body), pause=0.005
    )
    try:
        workers.start()
        receivers.start()
        receivers.join()
        inputs = len(frozenset().union(*(w.event_ids for w in wanted)))
        wait_settled(inbox, inputs, timeout=20.0, alive=workers.alive)
        workers.alive()
    finally:
        workers.close()
    assert len(deliveries) > inputs  # duplicates were delivered
    assert problems(inbox, wanted, posts_by_key(fake)) == []
    inbox.close()


class TestTheChecksCanFail:
    """:func:`problems` reports each kind of wrong outcome."""

    @staticmethod
    def _applied(count: int, skip: bytes | None = None) -> tuple[Store, list[Expected]]:
        store = MemoryStore()
        stories = histories(count)
        for history in stories:
            for body in history:
                if body != skip:
                    receive_body(store, body)
        worker = Worker(store)
        while worker.apply_pending():
            pass
        return store, [expected(n, h) for n, h in enumerate(stories)]

    def test_a_missing_input_a_double_post_and_an_unsent_command(self) -> None:
        """A lost event changes the state; a POST twice and one never made are flagged."""
        last = histories(1)[0][-1]
        store, wanted = self._applied(1, skip=last)
        posts = dict.fromkeys(wanted[0].api_keys, 1)
        twice, never = sorted(posts)[:2]
        posts[twice] = 2
        del posts[never]
        found = problems(store, wanted, Counter(posts))
        assert any("inbox ids differ" in p for p in found)
        assert any("final state differs" in p for p in found)
        assert any(p.startswith(f"{twice}: POSTed 2 times") for p in found)
        assert any(never in p and "unexpectedly" in p for p in found)
        assert any("pending" in p for p in found)  # nothing was dispatched

    def test_a_clean_run_has_no_problem(self) -> None:
        """The same store, dispatched once per command, is clean: the check is fair."""
        store, wanted = self._applied(2)
        worker = Worker(store, api=_Sent(), clock=lambda: 0.0)
        while worker.dispatch_due():
            pass
        posts = {k: 1 for w in wanted for k in w.api_keys}
        assert problems(store, wanted, Counter(posts)) == []


class _Sent:
    """A DR API that accepts everything."""

    def send(self, command: ApiCommand, *, reconcile_first: bool = False) -> SendResult:
        """Always ``SENT``."""
        return SendResult(SendStatus.SENT, attempts=1)
