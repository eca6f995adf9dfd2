"""The webhook endpoint under concurrent load, served by a real uvicorn on loopback.

300 signed deliveries (every fifth a racing duplicate), 32 in flight: every one is
answered 202, every distinct event is stored exactly once, and no answer comes near
DR's 3000 ms budget (a bound, not a benchmark). Run with ``-s`` to see the figures;
``tests/webhook_load.py`` runs the same at bigger sizes.
"""

from __future__ import annotations

import time

import pytest

from drfulfillment.adapters.webhook import DEFAULT_PATH, make_app
from drfulfillment.domain.ports import Inbox
from webhook_load import (
    DR_BUDGET_SECONDS,
    LoadFigures,
    MemoryInbox,
    RecordingInbox,
    problems,
    run_load,
    serve,
)

SECRET = "whsec_load_test"
N = 300
CONCURRENCY = 32
#: The whole test (start, load, stop) must end well within this.
WALL_LIMIT_SECONDS = 15.0


@pytest.fixture
def load_inbox() -> Inbox:
    """The inbox under load: in memory here; swap in a durable store to load it."""
    return MemoryInbox()


def test_concurrent_signed_deliveries(load_inbox: Inbox) -> None:
    """All 202, each distinct event stored once, max latency under DR's budget."""
    started = time.monotonic()
    recorder = RecordingInbox(load_inbox)
    app = make_app(recorder, secrets=[SECRET])
    with serve(app, start_timeout=5.0) as base:
        figures = run_load(
            base + DEFAULT_PATH, SECRET, N, CONCURRENCY, timeout=WALL_LIMIT_SECONDS - 3
        )
    print(f"\nwebhook load: {figures.summary()}")

    assert problems(figures, recorder) == []
    assert figures.statuses == (202,) * N
    assert len(figures.distinct_ids) == N - N // 5
    assert sum(recorder.fresh.values()) == len(figures.distinct_ids)
    assert sum(recorder.calls.values()) == N
    assert figures.max_latency < DR_BUDGET_SECONDS
    if isinstance(load_inbox, MemoryInbox):
        assert set(load_inbox.events) == figures.distinct_ids
    assert time.monotonic() - started < WALL_LIMIT_SECONDS


class TestHarnessCanFail:
    """The harness's own checks report failures, so a clean run means something."""

    def test_problems_flags_lost_double_and_bad_answers(self) -> None:
        """A double store, a refusal and a slow answer are each reported."""
        recorder = RecordingInbox(MemoryInbox())
        recorder.receive("a", "t", b"{}")
        recorder.fresh["a"] += 1  # as if a broken inbox said "new" twice
        figures = LoadFigures(
            n=3,
            concurrency=1,
            elapsed=1.0,
            latencies=(0.1, 0.1, DR_BUDGET_SECONDS),
            statuses=(202, 202, 401),
            answers=(("a", False), ("a", False), ("b", None)),
        )
        found = problems(figures, recorder)
        assert any("non-202" in p and "401" in p for p in found)
        assert any(p.startswith("a:") for p in found)
        assert any(p.startswith("b:") for p in found)
        assert any("budget" in p for p in found)

    def test_wrong_secret_is_refused_under_load(self) -> None:
        """Deliveries signed with another secret all come back 401, none stored."""
        recorder = RecordingInbox(MemoryInbox())
        app = make_app(recorder, secrets=[SECRET])
        with serve(app, start_timeout=5.0) as base:
            figures = run_load(base + DEFAULT_PATH, "not-the-secret", 20, 4, timeout=10)
        assert figures.statuses == (401,) * 20
        assert sum(recorder.calls.values()) == 0
