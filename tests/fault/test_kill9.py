"""Crash safety: ``kill -9`` the worker at random points; nothing lost, nothing sent twice.

A local fake DR (:class:`fakedr.FakeDr`) is seeded with orders of
:func:`multi_orders.history` (``ORDERS`` at a time, more whenever their events are all
delivered and kills are still due); their events (orders interleaved, some delivered
twice) arrive in a SQLite store a chunk per round. Round after round a real worker
(``python -m drfulfillment work --until-idle --lease 0.3``) is started and killed with
``SIGKILL``: after a random delay (often at start-up), within a few ms of its first
commit (kills land in apply), or soon after DR received its first request (kills land
in dispatch, some mid-request: some requests are made slow, so DR finishes them after
the worker died). After each kill the lease is waited out, then the next worker
starts. A last worker runs to completion.

Then: every received event is applied (none lost); each order's state is the pure
engine's replay of its history; the outbox holds exactly the engine's commands; each
API command is ``SENT`` (DR's effect recorded exactly once) or, only for the commands
DR cannot be asked about (fulfillment cancellations and returns), ``FAILED`` with a
reason starting ``ambiguous`` (DR's effect at most once); no DR effect is unexplained
or repeated. A summary (kills, where they landed, reconciliations, ambiguous commands)
is printed (``-s`` shows it).

The guarantee assumes DR finishes a request within the lease: the slow requests here
last at most ``SLOW_MAX`` < ``LEASE``. :func:`test_a_request_dr_finishes_after_the_lease`
shows what happens otherwise (a strict xfail).

Run it much longer by hand (the number of kills, and any seed)::

    DRFULFILLMENT_KILL9_ROUNDS=400 DRFULFILLMENT_KILL9_SEED=7 \\
        python -m pytest -q -s -p no:cacheprovider tests/fault/test_kill9.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

import pytest

import multi_orders
from drfulfillment.adapters.drapi import request_for
from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.codecs import dump_state, parse_input
from drfulfillment.codecs.commands import load_command
from drfulfillment.domain import Engine, IntegrationModel
from drfulfillment.domain.commands import (
    ApiCommand,
    CreateFulfillment,
    CreateFulfillmentCancellation,
    CreateFulfillmentReturn,
)
from drfulfillment.domain.decide import input_id
from drfulfillment.domain.ports import InboxStatus, OutboxEntry, OutboxStatus
from fakedr import FakeDr

#: Orders added at a time (13 deliveries and 4 DR calls each).
ORDERS = 12
#: Workers killed in the default campaign; ORDERS' deliveries are spread over them.
KILLS = 25
KILLS_WANTED = int(os.environ.get("DRFULFILLMENT_KILL9_ROUNDS", KILLS))
SEED = int(os.environ.get("DRFULFILLMENT_KILL9_SEED", "9"))
LEASE = 0.3
#: The longest a slowed DR request takes; must stay below LEASE (see module doc).
SLOW_MAX = 0.2
SECRET = "sk_test_kill9"
#: Seconds any one worker may run before the test gives up on it.
WORKER_TIMEOUT = 60.0
#: How long DR takes, in the xfail test, to answer the request the killed worker made.
SLOW_LATE = 3.0
_UNCHECKABLE = (CreateFulfillmentCancellation, CreateFulfillmentReturn)
_API = get_args(ApiCommand)


def deliveries(rng: random.Random, orders: range) -> list[tuple[str, str, bytes]]:
    """Every event of the histories ``orders`` as ``(id, type, body)``: orders
    interleaved (each order's own events in order), one in six delivered again later."""
    queues = [multi_orders.history(n) for n in orders]
    out: list[tuple[str, str, bytes]] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        body = queue.pop(0)
        doc = json.loads(body)
        out.append((str(doc["id"]), str(doc.get("type") or doc.get("request")), body))
    for item in list(out):
        if rng.random() < 1 / 6:
            at = out.index(item)
            out.insert(rng.randint(at + 1, len(out)), item)
    return out


def replay(count: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The pure engine on each history in order: final state JSON and command keys per
    order (first delivery of each id only)."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    keys: dict[str, list[str]] = {}
    for n, history in enumerate(multi_orders.histories(count)):
        seen: set[str] = set()
        for body in history:
            inp = parse_input(body)
            if input_id(inp) not in seen:
                seen.add(input_id(inp))
                keys.setdefault(multi_orders.order_id(n), []).extend(
                    c.key for c in engine.handle(inp).commands
                )
    states = {oid: dump_state(engine.orders[oid]) for oid in keys}
    return states, keys


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True)


def effects_per_key(dr: FakeDr, outbox: list[OutboxEntry]) -> Counter[str]:
    """How many times each outbox command took effect at DR, by matching each effect's
    body to the body the client sends for the command; unexplained effects fail."""
    by_body: dict[str, str] = {}
    for entry in outbox:
        command = load_command(entry.command)
        if isinstance(command, _API):
            method, path, body = request_for(command)
            by_body[_canonical([method, path, body])] = entry.key
    assert len(by_body) == sum(e.kind in {t.__name__ for t in _API} for e in outbox)
    counts: Counter[str] = Counter()
    for effect in dr.effects:
        found = by_body.get(_canonical([effect.method, effect.path, effect.body]))
        assert found is not None, f"DR effect of no command: {effect}"
        counts[found] += 1
    return counts


class Campaign:
    """One store, one fake DR, and workers started and killed round after round."""

    def __init__(self, dr: FakeDr, tmp: Path, rng: random.Random) -> None:
        self.dr, self.rng = dr, rng
        self.db = str(tmp / "kill9.sqlite3")
        self.log = tmp / "workers.log"
        self.store = SqliteStore(self.db)
        self.env = {**os.environ, "DR_SECRET_KEY": SECRET, "DR_BASE_URL": dr.url}
        self.env.pop("DRFULFILLMENT_STORE", None)
        self.stats: Counter[str] = Counter()
        #: Every delivery made or planned, and how many orders they cover.
        self.sent: list[tuple[str, str, bytes]] = []
        self.orders = 0

    def more_orders(self, per_round: int) -> list[list[tuple[str, str, bytes]]]:
        """``ORDERS`` new orders seeded at DR; their deliveries, cut into chunks."""
        new = range(self.orders, self.orders + ORDERS)
        for n in new:
            self.dr.add_order(multi_orders.order_id(n), {multi_orders.line_id(n): 2})
        self.orders = new.stop
        stream = deliveries(self.rng, new)
        self.sent += stream
        return [stream[i : i + per_round] for i in range(0, len(stream), per_round)]

    def argv(self) -> list[str]:
        """The worker's command line."""
        return [sys.executable, "-m", "drfulfillment", "work", "--store", self.db]

    def receive(self, chunk: list[tuple[str, str, bytes]]) -> None:
        """Deliver events to the store, as the webhook endpoint would."""
        for event_id, kind, body in chunk:
            self.stats[
                "received" if self.store.receive(event_id, kind, body) else "dup"
            ] += 1

    @contextmanager
    def worker(self) -> Iterator[subprocess.Popen[bytes]]:
        """A worker process; killed and reaped on the way out whatever happens."""
        argv = [*self.argv(), "--until-idle", "--lease", str(LEASE)]
        with open(self.log, "ab") as err:
            proc = subprocess.Popen(
                argv,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=self.log.parent,
            )
            try:
                yield proc
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)

    def trigger(self, proc: subprocess.Popen[bytes], watch: sqlite3.Connection) -> str:
        """Wait for a random point of the worker's run; its name ("" if it ended)."""
        mode = self.rng.choices(["timer", "commit", "request"], weights=[2, 3, 5])[0]
        deadline = time.monotonic() + WORKER_TIMEOUT
        if mode == "commit":
            version = watch.execute("PRAGMA data_version").fetchone()[0]

            def moved() -> bool:
                return bool(
                    watch.execute("PRAGMA data_version").fetchone()[0] != version
                )

            extra = self.rng.uniform(0.0, 0.006)
        elif mode == "request":
            calls = len(self.dr.calls)

            def moved() -> bool:
                return len(self.dr.calls) > calls

            extra = self.rng.uniform(0.0, 0.25)
        else:

            def moved() -> bool:
                return True

            extra = self.rng.uniform(0.0, 1.0)
        if not _wait_until(moved, proc, deadline):
            return ""
        try:
            proc.wait(timeout=extra)
        except subprocess.TimeoutExpired:
            return mode
        return ""

    def round(self, chunk: list[tuple[str, str, bytes]]) -> None:
        """Deliver ``chunk``, start a worker, kill it somewhere, wait the lease out."""
        self.receive(chunk)
        if self.rng.random() < 0.4:
            seconds = self.rng.uniform(0.05, SLOW_MAX)
            self.dr.inject("POST", "/", "slow", seconds=seconds)
        if self.rng.random() < 0.15:
            self.dr.inject("GET", "/", "slow", seconds=self.rng.uniform(0.05, SLOW_MAX))
        before = self.store.outbox()
        kill_time, effects = 0.0, 0
        applied = sum(e.status is InboxStatus.APPLIED for e in self.store.inbox())
        watch = sqlite3.connect(self.db, isolation_level=None)
        try:
            with self.worker() as proc:
                mode = self.trigger(proc, watch)
                if mode:
                    proc.send_signal(signal.SIGKILL)
                    effects = len(self.dr.effects)
                    self.stats[f"kill:{mode}"] += 1
                    self.stats["kills"] += 1
                    kill_time = time.monotonic()
                else:
                    assert proc.wait(timeout=WORKER_TIMEOUT) == 0, self.log.read_text()
                    self.stats["ended before the kill"] += 1
        finally:
            watch.close()
        if mode:
            time.sleep(max(0.0, kill_time + LEASE + 0.05 - time.monotonic()))
            self.classify(before, applied, late=len(self.dr.effects) > effects)

    def classify(self, before: list[OutboxEntry], applied: int, *, late: bool) -> None:
        """Where the last kill landed, from what the store shows after it."""
        after = self.store.outbox()
        now_applied = sum(e.status is InboxStatus.APPLIED for e in self.store.inbox())
        tried = {e.key: e.attempts for e in before}
        claims = sum(e.attempts - tried.get(e.key, 0) for e in after)
        if any(
            e.status is OutboxStatus.IN_FLIGHT and e.attempts > tried.get(e.key, 0)
            for e in after
        ):
            self.stats["landed with commands in flight"] += 1
        if late:
            self.stats["landed while DR was processing a request"] += 1
        if claims:
            self.stats["landed in dispatch"] += 1
        elif now_applied > applied or len(after) > len(before):
            self.stats["landed in apply"] += 1
        else:
            self.stats["landed before any change"] += 1

    def finish(self) -> None:
        """Run workers to completion until nothing is left to send (each exits 0)."""
        for _ in range(3):
            with self.worker() as proc:
                assert proc.wait(timeout=WORKER_TIMEOUT) == 0, self.log.read_text()
            self.stats["final runs"] += 1
            left = [
                e
                for e in self.store.outbox()
                if e.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
            ]
            if not left:
                return
            due = max(e.next_attempt_at for e in left) - time.time()
            time.sleep(min(max(due, LEASE), 10.0))


def _wait_until(
    cond: Callable[[], bool], proc: subprocess.Popen[bytes], deadline: float
) -> bool:
    """Poll ``cond`` until it holds (``True``), or the process ends or time runs out."""
    while time.monotonic() < deadline:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    return False


def check(camp: Campaign) -> dict[str, int]:
    """Every assertion of the campaign; the numbers for the report."""
    store, dr = camp.store, camp.dr
    inbox = store.inbox()
    assert sorted(e.event_id for e in inbox) == sorted({i for i, _, _ in camp.sent})
    assert [e for e in inbox if e.status is not InboxStatus.APPLIED] == []
    states, keys = replay(camp.orders)
    for oid, state in states.items():
        row = store.load(oid)
        assert row is not None, oid
        assert row.state == state, oid
        assert [e.key for e in store.outbox(oid)] == keys[oid]
    outbox = store.outbox()
    per_key = effects_per_key(dr, outbox)
    report: Counter[str] = Counter()
    for entry in outbox:
        command = load_command(entry.command)
        report["attempts > 1"] += entry.attempts > 1
        if not isinstance(command, _API):
            assert entry.status is OutboxStatus.SENT, entry
            continue
        report["api commands"] += 1
        if entry.status is OutboxStatus.SENT:
            assert per_key[entry.key] == 1, (entry, per_key[entry.key])
            report["reconciled"] += entry.detail.startswith("found at DR")
            continue
        assert isinstance(command, _UNCHECKABLE), entry
        assert entry.status is OutboxStatus.FAILED, entry
        assert entry.detail.startswith("ambiguous"), entry
        assert per_key[entry.key] <= 1, (entry, per_key[entry.key])
        report["ambiguous"] += 1
        report["ambiguous that reached DR"] += per_key[entry.key]
    for n in range(camp.orders):
        oid = multi_orders.order_id(n)
        lines = [
            i
            for e in store.outbox(oid)
            if isinstance(c := load_command(e.command), CreateFulfillment)
            for i in c.items
        ]
        order = dr.order(oid)
        line = multi_orders.line_id(n)
        assert order.fulfilled[line] == sum(i.quantity or 0 for i in lines)
        assert order.cancelled[line] == sum(i.cancel_quantity or 0 for i in lines)
    return dict(report)


def test_kill_9_at_random_points_loses_nothing_and_sends_once(tmp_path: Path) -> None:
    """Workers killed with SIGKILL again and again (see module doc): after a last
    full run every event is applied as the engine would, and every DR call took effect
    once (or, for the commands DR cannot be asked about, at most once, flagged)."""
    rng = random.Random(SEED)
    per_round = -(-len(deliveries(random.Random(0), range(ORDERS))) // KILLS)
    started = time.monotonic()
    deadline = started + 60.0 + 6.0 * KILLS_WANTED
    with FakeDr(secret=SECRET) as dr:
        camp = Campaign(dr, tmp_path, rng)
        try:
            chunks: list[list[tuple[str, str, bytes]]] = []
            while camp.stats["kills"] < KILLS_WANTED:
                assert time.monotonic() < deadline, f"out of time: {camp.stats}"
                chunks = chunks or camp.more_orders(per_round)
                camp.round(chunks.pop(0))
            camp.receive([d for chunk in chunks for d in chunk])
            camp.finish()
            report = check(camp)
        finally:
            camp.store.close()
    summary = {**camp.stats, **report, "orders": camp.orders, "seed": SEED}
    print(f"\nkill -9 campaign ({time.monotonic() - started:.1f} s): {summary}")
    assert camp.stats["landed in dispatch"]
    assert camp.stats["landed in apply"]


@pytest.mark.xfail(
    strict=True,
    reason="the known limit of a DR without idempotency keys: a request DR is still "
    "processing when the lease runs out (here 3 s against a 0.3 s lease) is sent again "
    "by the next worker, whose lookup finds nothing yet. The client's own sends fit in "
    "half the lease, so only DR's processing time can exceed it: keep the lease (60 s "
    "by default) far above DR's. Documented in docs/cli.md.",
)
def test_a_request_dr_finishes_after_the_lease(tmp_path: Path) -> None:
    """A worker killed while DR takes longer than the lease to answer a capture: the
    next worker (after the lease) must not make the capture a second time."""
    with FakeDr(secret=SECRET) as dr:
        oid, line = multi_orders.order_id(0), multi_orders.line_id(0)
        dr.add_order(oid, {line: 3})  # room for a second capture
        camp = Campaign(dr, tmp_path, random.Random(0))
        try:
            camp.receive(deliveries(random.Random(0), range(1)))
            while Worker(camp.store).apply_pending():
                pass
            dr.inject("POST", "/fulfillments", "slow", seconds=SLOW_LATE)
            with camp.worker() as proc:
                assert _wait_until(
                    lambda: any(c.path == "/fulfillments" for c in dr.calls),
                    proc,
                    time.monotonic() + WORKER_TIMEOUT,
                )
                proc.send_signal(signal.SIGKILL)
            time.sleep(LEASE + 0.05)
            camp.finish()

            def captures() -> list[Any]:
                return [
                    e
                    for e in dr.effects
                    if e.path == "/fulfillments" and e.body.get("shipmentId")
                ]

            deadline = time.monotonic() + SLOW_LATE + 2.0
            while len(captures()) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)  # give the first request time to end
            assert len(captures()) == 1, captures()
        finally:
            camp.store.close()
