"""A send never outlasts its budget, so a worker's lease (twice the budget) outlasts it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from drapi_support import ITEM, ORDER, SECRET, Sleeps, capture, make, posts
from drfulfillment.adapters.drapi import ConfigurationError, DrClient
from drfulfillment.adapters.memory import MemoryStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.domain.ports import SendStatus
from fakedr import FakeDr


@pytest.fixture
def dr() -> Iterator[FakeDr]:
    """The fake DR with one order of 10 units."""
    with FakeDr(secret=SECRET) as fake:
        fake.add_order(ORDER, {ITEM: 10})
        yield fake


def test_a_budget_too_small_for_one_request_is_refused() -> None:
    """``send_budget`` below three request phases is a configuration error."""
    with pytest.raises(ConfigurationError, match="send_budget"):
        DrClient(secret_key=SECRET, timeout=10.0, send_budget=20.0)


def test_no_retry_starts_past_the_budget(dr: FakeDr) -> None:
    """Endless 503s with a long backoff: RETRY after the first answer, not four sends,
    because a second request could end after the budget."""
    dr.inject("POST", "/fulfillments", "503", times=10)
    sleeps = Sleeps()
    with make(dr, sleeps, send_budget=1.0, backoff=5.0, max_attempts=4) as client:
        started = time.monotonic()
        result = client.send(capture())
    assert result.status is SendStatus.RETRY
    assert posts(dr) == 1
    assert sleeps == []
    assert time.monotonic() - started < 1.0


def test_within_the_budget_it_retries(dr: FakeDr) -> None:
    """Short backoff, ample budget: the retry happens and succeeds."""
    dr.inject("POST", "/fulfillments", "503")
    sleeps = Sleeps()
    with make(dr, sleeps, send_budget=30.0) as client:
        result = client.send(capture())
    assert (result.status, posts(dr)) == (SendStatus.SENT, 2)


def test_a_worker_refuses_a_lease_shorter_than_a_send(dr: FakeDr) -> None:
    """A lease the client's sends can outlast would let a second worker send again."""
    with make(dr, Sleeps(), send_budget=10.0) as client:
        with pytest.raises(ValueError, match="must outlast the longest send"):
            Worker(MemoryStore(), api=client, lease_seconds=10.0)
        assert (
            Worker(MemoryStore(), api=client, lease_seconds=20.0).lease_seconds == 20.0
        )
