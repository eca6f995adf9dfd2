"""Several worker processes on PostgreSQL, while receivers deliver concurrently.

Eight orders' histories (:mod:`multi_orders`), every event delivered 1-3 times and
shuffled (:mod:`concurrency_support` says which orderings are real), received by four
threads into a fresh schema while four ``python -m drfulfillment work`` processes apply
them and send the commands to a fake DR in this process. The final state of every
order must equal the single-threaded engine replay, the outbox must hold exactly the
replay's commands, and every DR call must be made exactly once. Skipped without a
configured server (``DRFULFILLMENT_TEST_POSTGRES``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import psycopg
import pytest

from concurrency_support import (
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
from drfulfillment.adapters.postgres import PostgresStore
from fakedr import FakeDr
from multi_orders import histories
from stores import fresh_schema_url

ORDERS = 8
WORKERS = 4
SECRET = "sk_test_concurrency"


class WorkerProcesses:
    """``count`` ``drfulfillment work`` processes on one store, logs in files."""

    def __init__(self, store_url: str, base_url: str, count: int, logs: Path) -> None:
        #: Each worker's connections carry this ``application_name`` (libpq's PGAPPNAME).
        self.name = f"drf-test-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DR_SECRET_KEY": SECRET,
            "DR_BASE_URL": base_url,
            "PGAPPNAME": self.name,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DRFULFILLMENT_STORE", None)
        self.logs = [logs / f"worker-{k}.log" for k in range(count)]
        self._files: list[IO[bytes]] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        command = [sys.executable, "-m", "drfulfillment", "work"]
        command += ["--store", store_url, "--lease", "5"]
        for log in self.logs:
            out = log.open("wb")
            self._files.append(out)
            self.procs.append(
                subprocess.Popen(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def output(self) -> str:
        """Every worker's output so far, for a failure message."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
            for log in self.logs
        )

    def wait_connected(self, store_url: str, timeout: float) -> None:
        """Wait (bounded) until every worker holds its database connection."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(store_url, autocommit=True) as conn:
            while True:
                self.alive()
                row = conn.execute(
                    "SELECT count(DISTINCT pid) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    (self.name,),
                ).fetchone()
                if row is not None and row[0] >= len(self.procs):
                    return
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"workers not connected in {timeout} s:\n{self.output()}"
                    )
                time.sleep(0.05)

    def alive(self) -> None:
        """Fail if a worker exited: they run until stopped."""
        for proc in self.procs:
            if proc.poll() is not None:
                pytest.fail(f"a worker exited with {proc.returncode}:\n{self.output()}")

    def stop(self) -> None:
        """Interrupt every worker (a clean stop), kill any that lingers; always."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for out in self._files:
            out.close()


@pytest.fixture
def fake() -> Iterator[FakeDr]:
    """A fake DR seeded with the orders."""
    with FakeDr(secret=SECRET) as dr:
        seed_fake(dr, ORDERS)
        yield dr


def test_worker_processes_on_postgres_match_the_single_threaded_replay(
    tmp_path: Path, fake: FakeDr
) -> None:
    """Same final states and commands as the in-order engine; each POST made once."""
    rng = random.Random(6)
    stories = histories(ORDERS)
    wanted = [expected(n, h) for n, h in enumerate(stories)]
    deliveries = interleave(
        [order_deliveries(n, h, rng) for n, h in enumerate(stories)], rng
    )
    inputs = len(frozenset().union(*(w.event_ids for w in wanted)))
    with ExitStack() as stack:
        url = stack.enter_context(fresh_schema_url())
        store = PostgresStore(url)  # creates the tables before the workers start
        stack.callback(store.close)
        workers = WorkerProcesses(url, fake.url, WORKERS, tmp_path)
        stack.callback(workers.stop)
        workers.wait_connected(url, timeout=15.0)
        receivers = Receivers(
            deliveries, lambda body: receive_body(store, body), pause=0.01
        )
        receivers.start()
        receivers.join()
        wait_settled(store, inputs, timeout=20.0, alive=workers.alive)
        workers.alive()
        found = problems(store, wanted, posts_by_key(fake))
        workers.stop()
        codes = [proc.returncode for proc in workers.procs]
        output = workers.output()
    assert len(deliveries) > inputs  # duplicates were delivered
    assert found == []
    assert codes == [0] * WORKERS, output
    assert "Traceback" not in output, output
