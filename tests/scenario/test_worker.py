"""The worker over a real store: the same decisions as the in-memory engine, once each.

Histories are fed through the store's inbox (as the webhook endpoint and ``ingest`` do),
applied by :class:`Worker`, and dispatched to a recording DR API. The outcome must equal
the pure engine's: the same final state per order and the same commands, each sent once,
whatever the duplication and order of delivery.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drfulfillment.adapters.memory import MemoryStore
from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.codecs import dump_state, load_state, parse_input
from drfulfillment.codecs.commands import load_command
from drfulfillment.domain import Engine, IntegrationModel
from drfulfillment.domain.commands import ApiCommand, Command
from drfulfillment.domain.decide import input_id
from drfulfillment.domain.ports import (
    InboxStatus,
    OutboxStatus,
    SendResult,
    SendStatus,
    Store,
)
from stores import postgres_store_or_skip

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "distributed.jsonl"
BAD = ROOT / "examples" / "bad-input.jsonl"


class RecordingApi:
    """A DR API that records each call; ``script`` gives answers per key, in order."""

    def __init__(self, script: dict[str, list[SendStatus]] | None = None) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.script = script or {}
        self.lock = threading.Lock()

    def send(self, command: ApiCommand, *, reconcile_first: bool = False) -> SendResult:
        """Record, then answer from the script (``SENT`` by default)."""
        with self.lock:
            self.calls.append((command.key, reconcile_first))
            answers = self.script.get(command.key, [])
            status = answers.pop(0) if answers else SendStatus.SENT
        return SendResult(status, reason=status.value, http_status=201, attempts=1)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """One store of each kind."""
    opened: list[Store] = []
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        made: Store = SqliteStore(tmp_path / "w.sqlite3")
        opened.append(made)
    else:
        made = postgres_store_or_skip(opened)()
    yield made
    for s in opened:
        s.close()


def lines(path: Path) -> list[bytes]:
    """The non-blank lines of a JSON Lines file."""
    return [ln for ln in path.read_bytes().splitlines() if ln.strip()]


def receive_all(store: Store, bodies: list[bytes]) -> None:
    """Put each body in the inbox as the webhook endpoint would (it answers 400 to a
    body that is not JSON, so such a body never reaches the inbox)."""
    for body in bodies:
        try:
            doc: dict[str, Any] = json.loads(body)
        except ValueError:
            continue
        event_id = str(doc.get("id"))
        store.receive(event_id, str(doc.get("type") or doc.get("request")), body)


def drain(worker: Worker) -> None:
    """Apply until the inbox has nothing due."""
    while worker.apply_pending(25):
        pass


def engine_replay(bodies: list[bytes]) -> tuple[Engine, list[Command]]:
    """The pure engine on the same bodies (first delivery of each id only)."""
    engine = Engine(IntegrationModel.DISTRIBUTED)
    commands: list[Command] = []
    seen: set[str] = set()
    for body in bodies:
        inp = parse_input(body)
        if input_id(inp) in seen:
            continue
        seen.add(input_id(inp))
        commands += engine.handle(inp).commands
    return engine, commands


def test_example_matches_the_engine_and_sends_each_call_once(store: Store) -> None:
    """``examples/distributed.jsonl`` through the store: same state and commands as the
    engine; dispatch sends each API command once and notifies the rest."""
    bodies = lines(EXAMPLE)
    receive_all(store, bodies)
    notified: list[Command] = []
    api = RecordingApi()
    worker = Worker(store, api=api, notify=notified.append, clock=lambda: 1000.0)
    drain(worker)
    engine, commands = engine_replay(bodies)
    row = store.load("204440790336")
    assert row is not None
    assert load_state(row.state) == engine.orders["204440790336"]
    assert [load_command(e.command) for e in store.outbox()] == commands
    while worker.dispatch_due():
        pass
    api_keys = [
        c.key for c in commands if not type(c).__name__.startswith(("Notify", "Handle"))
    ]
    assert [key for key, _ in api.calls] == api_keys
    assert [c.key for c in notified] == [
        c.key for c in commands if c.key not in api_keys
    ]
    assert {e.status for e in store.outbox()} == {OutboxStatus.SENT}
    assert worker.dispatch_due() == 0


@pytest.mark.parametrize("seed", range(6))
def test_any_delivery_order_gives_the_same_outcome(seed: int, tmp_path: Path) -> None:
    """Duplicated and shuffled DR events (the merchant's request kept in place): the
    worker makes exactly the engine's commands for that delivery order, and the final
    state is the in-order replay's."""
    bodies = lines(EXAMPLE)
    cut = next(i for i, b in enumerate(bodies) if b'"request"' in b)
    rng = random.Random(seed)
    parts = []
    for part in (bodies[:cut], bodies[cut + 1 :]):
        shuffled = [b for b in part for _ in range(rng.randint(1, 3))]
        rng.shuffle(shuffled)
        parts.append(shuffled)
    store = SqliteStore(tmp_path / "s.sqlite3")
    worker = Worker(store)
    for batch in (parts[0], [bodies[cut]], parts[1]):
        receive_all(store, batch)
        drain(worker)
    _, same_order = engine_replay([*parts[0], bodies[cut], *parts[1]])
    in_order, _ = engine_replay(bodies)
    row = store.load("204440790336")
    assert row is not None
    assert dump_state(load_state(row.state)) == dump_state(
        in_order.orders["204440790336"]
    )
    assert [e.key for e in store.outbox()] == [c.key for c in same_order]
    store.close()


def test_bad_input_is_refused_with_its_reason_and_nothing_is_lost(store: Store) -> None:
    """The refusals of ``examples/bad-input.jsonl`` are kept with their reasons; the
    event for an unknown fulfillment order stays parked; the rest applied."""
    receive_all(store, lines(BAD))
    drain(Worker(store))
    by_status: dict[InboxStatus, list[str]] = {}
    for entry in store.inbox():
        by_status.setdefault(entry.status, []).append(entry.event_id)
    assert by_status[InboxStatus.PARKED] == ["evt_waits_for_fo"]
    assert set(by_status[InboxStatus.REFUSED]) >= {"evt_overship", "evt_unknown_line"}
    refused = {
        e.event_id: e.detail for e in store.inbox() if e.status is InboxStatus.REFUSED
    }
    assert "exceed its quantity 2" in refused["evt_overship"]


def test_a_retry_reconciles_first_and_is_not_sent_twice(store: Store) -> None:
    """A command answered RETRY is claimed again later, with ``reconcile_first``; one
    answered MOOT or FAILED is never sent again."""
    receive_all(store, lines(EXAMPLE))
    clock = [1000.0]
    api = RecordingApi(
        {
            "fulfillment-order:204440790336": [SendStatus.RETRY],
            "fulfillment:shipment:29016544906": [SendStatus.MOOT],
        }
    )
    worker = Worker(store, api=api, clock=lambda: clock[0], retry_seconds=30.0)
    drain(worker)
    while worker.dispatch_due():
        pass
    first = list(api.calls)
    assert ("fulfillment-order:204440790336", False) in first
    clock[0] += 31.0
    assert worker.dispatch_due() == 1
    assert api.calls[-1] == ("fulfillment-order:204440790336", True)
    statuses = {e.key: e.status for e in store.outbox()}
    assert statuses["fulfillment:shipment:29016544906"] is OutboxStatus.MOOT
    assert statuses["fulfillment-order:204440790336"] is OutboxStatus.SENT
    clock[0] += 10_000.0
    assert worker.dispatch_due() == 0
