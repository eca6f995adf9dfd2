"""The webhook endpoint under concurrent load with a durable inbox: a real SQLite store.

300 signed deliveries (every fifth a racing duplicate), 32 in flight, served by a real
uvicorn on loopback into a :class:`SqliteStore` in a temporary file (WAL,
``synchronous=FULL``: every stored event is on disk before its 202). Every delivery is
answered 202, every distinct event is stored exactly once, and no answer comes near
DR's 3000 ms budget. Run with ``-s`` to see the figures; ``tests/webhook_load.py
--store sqlite`` runs the same at bigger sizes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.adapters.webhook import DEFAULT_PATH, make_app
from drfulfillment.domain.ports import InboxStatus
from webhook_load import (
    DR_BUDGET_SECONDS,
    LoadFigures,
    RecordingInbox,
    problems,
    run_load,
    serve,
    stored_once,
)

SECRET = "whsec_load_test"
N = 300
CONCURRENCY = 32
#: The whole test (start, load, stop) must end well within this.
WALL_LIMIT_SECONDS = 20.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A fresh SQLite store in a temporary file."""
    made = SqliteStore(tmp_path / "load.sqlite3")
    yield made
    made.close()


def test_concurrent_signed_deliveries_into_sqlite(store: SqliteStore) -> None:
    """All 202, each distinct event stored once (and kept to apply), max latency
    under DR's budget."""
    started = time.monotonic()
    recorder = RecordingInbox(store)
    app = make_app(recorder, secrets=[SECRET])
    with serve(app, start_timeout=5.0) as base:
        figures = run_load(
            base + DEFAULT_PATH, SECRET, N, CONCURRENCY, timeout=WALL_LIMIT_SECONDS - 5
        )
    print(f"\nwebhook load (SQLite inbox): {figures.summary()}")

    inbox = store.inbox()
    assert problems(figures, recorder) == []
    assert stored_once(figures, [e.event_id for e in inbox]) == []
    assert figures.statuses == (202,) * N
    assert len(inbox) == len(figures.distinct_ids) == N - N // 5
    assert {e.status for e in inbox} == {InboxStatus.RECEIVED}
    assert all(e.event_type == "order.accepted" for e in inbox)
    assert figures.max_latency < DR_BUDGET_SECONDS
    assert time.monotonic() - started < WALL_LIMIT_SECONDS


def test_stored_once_flags_doubles_losses_and_strangers() -> None:
    """The durable-inbox check reports an id stored twice, one lost, one never sent."""
    figures = LoadFigures(
        n=3,
        concurrency=1,
        elapsed=1.0,
        latencies=(0.1, 0.1, 0.1),
        statuses=(202, 202, 202),
        answers=(("a", False), ("b", False), ("c", False)),
    )
    found = stored_once(figures, ["a", "a", "b", "z"])
    assert "a: stored 2 times" in found
    assert any("never stored" in p and "'c'" in p for p in found)
    assert any("never sent" in p and "'z'" in p for p in found)
    assert stored_once(figures, ["c", "b", "a"]) == []
