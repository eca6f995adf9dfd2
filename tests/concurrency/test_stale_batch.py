"""A worker applying a stale batch: inputs another worker already settled.

``Store.next_inputs`` hands the same received inputs to every worker that asks (there
is no claim on inbox entries; workers hold orders, one at a time each), so a slow
worker can come to inputs another worker settled after it read its batch. Simulated
here without threads: worker B takes its batch, worker A applies everything (and
more), then B applies its batch. Two ways B can meet it: B checks, once it holds the
order, that the input is still to apply (``Store.load`` with the input's id); or B
checked before A settled it (workers in two processes on one SQLite file do not see
each other's holds: ``late`` makes that check pass), and its commit finds it settled.

What holds: the order's state and outbox are not changed by B's redundant decisions,
and B's commits do not overwrite what A recorded (``Store.commit`` applies only an
input still waiting to be applied, else raises ``AlreadySettled`` and changes nothing).
Before that guard, an input A's commit *refused* (dropped as impossible when its
fulfillment order arrived) became ``applied``/``duplicate``, hiding the refusal from a
person, and an input applied once read ``duplicate``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drfulfillment.adapters import worker as worker_module
from drfulfillment.adapters.memory import MemoryStore
from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.domain.decide import decide, input_id
from drfulfillment.domain.ports import InboxEntry, InboxStatus, Store
from drfulfillment.testing.events import (
    Json,
    fo_line,
    fulfillment_order,
    order_event,
    shipped,
)
from stores import postgres_store_or_skip

ORDER, ITEM, FO, LINE = "204440790336", "127911830336", "5774321009", "650398674428"
ACCEPTED = order_event("evt-acc", "accepted", "2021-11-01T18:23:02Z")
#: Three units shipped on a two-unit line: waits for its fulfillment order, then is
#: dropped as impossible (refused) when the fulfillment order arrives.
OVERSHIP = shipped("evt-over", "shp-1", FO, ORDER, [("shp-1-i", LINE, ITEM, 3)])
FO_PENDING = fulfillment_order(
    "evt-fo", "fulfillment_order.pending", FO, ORDER, [fo_line(LINE, ITEM, 2)]
)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """One store of each kind."""
    opened: list[Store] = []
    if request.param == "memory":
        made: Store = MemoryStore()
    elif request.param == "sqlite":
        made = SqliteStore(tmp_path / "stale.sqlite3")
        opened.append(made)
    else:
        made = postgres_store_or_skip(opened)()
    yield made
    for s in opened:
        s.close()


@pytest.fixture(params=["checked", "late"])
def store(
    request: pytest.FixtureRequest, any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> Store:
    """Each store, its check that an input is waiting (``load`` with the input's id)
    either true to the inbox or always passed (B's check came before A settled it)."""
    if request.param == "late":
        load = any_store.load
        monkeypatch.setattr(
            any_store, "load", lambda order_id, event_id=None: load(order_id)
        )
    return any_store


def _receive(store: Store, doc: Json) -> None:
    store.receive(doc["id"], doc["type"], json.dumps(doc).encode())


def _race(store: Store) -> tuple[dict[str, InboxEntry], str, list[str]]:
    """B takes a batch; A applies it, then the fulfillment order; B applies its batch.

    Returns the inbox after A (by id), the order's state after A, and B's outcomes.
    """
    a, b = Worker(store), Worker(store)
    _receive(store, ACCEPTED)
    _receive(store, OVERSHIP)
    stale = store.next_inputs(10)
    assert [e.event_id for e in stale] == ["evt-acc", "evt-over"]
    a.apply_pending()
    _receive(store, FO_PENDING)
    a.apply_pending()
    after_a = {e.event_id: e for e in store.inbox()}
    row = store.load(ORDER)
    assert row is not None
    outcomes = [b.apply(entry) for entry in stale]
    return after_a, row.state, outcomes


def test_a_stale_batch_changes_no_state_or_command(store: Store) -> None:
    """B's decisions are duplicates: the state and the outbox stay as A left them."""
    after_a, state, outcomes = _race(store)
    assert after_a["evt-over"].status is InboxStatus.REFUSED
    assert "exceed" in after_a["evt-over"].detail
    assert outcomes == ["duplicate", "duplicate"]
    row = store.load(ORDER)
    assert row is not None
    assert row.state == state
    assert [e.key for e in store.outbox()] == [f"fulfillment-order:{ORDER}"]


def test_a_stale_batch_keeps_a_refusal(store: Store) -> None:
    """The refusal A's commit recorded survives B's redundant decision."""
    after_a, _, _ = _race(store)
    now = {e.event_id: e for e in store.inbox()}
    assert now["evt-over"].status is InboxStatus.REFUSED
    assert now["evt-over"].detail == after_a["evt-over"].detail


def test_a_stale_batch_keeps_what_was_recorded(store: Store) -> None:
    """An input received and applied once still reads ``applied``."""
    _race(store)
    now = {e.event_id: e for e in store.inbox()}
    assert (now["evt-acc"].status, now["evt-acc"].detail) == (
        InboxStatus.APPLIED,
        "applied",
    )


def test_a_checked_stale_batch_decides_nothing(
    any_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's check once it holds the order (``load`` with the input's id) finds each
    stale input settled: B decides none of them again (no decision made on a state
    later than the input, even one its commit would then refuse)."""
    decided: list[str] = []

    def watched(state: Any, inp: Any, **kwargs: Any) -> Any:
        decided.append(input_id(inp))
        return decide(state, inp, **kwargs)

    a, b = Worker(any_store), Worker(any_store)
    _receive(any_store, ACCEPTED)
    _receive(any_store, OVERSHIP)
    stale = any_store.next_inputs(10)
    a.apply_pending()
    _receive(any_store, FO_PENDING)
    a.apply_pending()
    monkeypatch.setattr(worker_module, "decide", watched)
    assert [b.apply(entry) for entry in stale] == ["duplicate", "duplicate"]
    assert decided == []
