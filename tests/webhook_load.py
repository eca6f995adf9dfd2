"""Load harness for the webhook endpoint: a real uvicorn server, signed concurrent deliveries.

Used by ``tests/scenario/test_webhook_load.py`` (in-memory inbox) and
``tests/scenario/test_webhook_load_sqlite.py`` (a SQLite store) at a small size, and
runnable by hand at bigger ones (loopback only; ``--store sqlite`` puts the deliveries
in a fresh SQLite store in a temporary directory, ``memory`` in a dictionary)::

    .venv/bin/python tests/webhook_load.py --n 5000 --concurrency 64
    .venv/bin/python tests/webhook_load.py --n 5000 --concurrency 64 --store sqlite

It prints p50/p95/max latency and requests per second and exits non-zero if any
delivery was not answered 202 or any distinct event was not stored exactly once.
Client and server share one process (and its GIL), so the figures are a lower bound
on what the endpoint can do, not a benchmark.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette

from drfulfillment.adapters.signature import SIGNATURE_HEADER, sign
from drfulfillment.adapters.webhook import DEFAULT_PATH, make_app
from drfulfillment.domain.ports import Inbox

#: DR's answer budget for a delivery (README §7, S14).
DR_BUDGET_SECONDS = 3.0


class MemoryInbox:
    """A thread-safe in-memory :class:`Inbox`: ``id -> (type, body)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: dict[str, tuple[str, bytes]] = {}

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Keep the first delivery of each id; ``False`` for later ones."""
        with self._lock:
            if event_id in self.events:
                return False
            self.events[event_id] = (event_type, body)
            return True


class RecordingInbox:
    """Wraps any :class:`Inbox` and counts, per event id, how often it said "new"."""

    def __init__(self, inner: Inbox) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.fresh: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Delegate, then record the answer."""
        result = self._inner.receive(event_id, event_type, body)
        with self._lock:
            self.calls[event_id] += 1
            self.fresh[event_id] += int(result)
        return result


@contextmanager
def serve(app: Starlette, *, start_timeout: float = 10.0) -> Iterator[str]:
    """Run ``app`` under uvicorn on ``127.0.0.1`` (a free port); yield its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        http="h11",
        loop="asyncio",
        backlog=1024,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=start_timeout)


@dataclass(frozen=True)
class LoadFigures:
    """What a load run saw: one entry per delivery, in sending order."""

    n: int
    concurrency: int
    elapsed: float
    latencies: tuple[float, ...]
    #: HTTP status per delivery (0: no answer: a transport error or timeout).
    statuses: tuple[int, ...]
    #: ``(event id sent, "duplicate" in the answer or None)`` per delivery.
    answers: tuple[tuple[str, bool | None], ...]

    @property
    def distinct_ids(self) -> frozenset[str]:
        """The event ids sent (each duplicate counted once)."""
        return frozenset(event_id for event_id, _ in self.answers)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of latency in seconds (nearest rank)."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    @property
    def max_latency(self) -> float:
        """The slowest answer, in seconds."""
        return max(self.latencies)

    @property
    def requests_per_second(self) -> float:
        """Deliveries answered per second of wall time."""
        return self.n / self.elapsed

    def summary(self) -> str:
        """One line for a person."""
        statuses = dict(sorted(Counter(self.statuses).items()))
        return (
            f"n={self.n} concurrency={self.concurrency} statuses={statuses} "
            f"p50={self.quantile(0.5) * 1000:.1f}ms p95={self.quantile(0.95) * 1000:.1f}ms "
            f"max={self.max_latency * 1000:.1f}ms mean={statistics.fmean(self.latencies) * 1000:.1f}ms "
            f"rps={self.requests_per_second:.0f} elapsed={self.elapsed:.2f}s"
        )


def event_ids(n: int, duplicate_every: int) -> list[str]:
    """The id of each delivery: every ``duplicate_every``-th repeats the one before."""
    ids: list[str] = []
    for i in range(n):
        is_duplicate = (
            duplicate_every > 0 and i % duplicate_every == duplicate_every - 1
        )
        ids.append(ids[-1] if is_duplicate and ids else f"evt-load-{i:06d}")
    return ids


def event_body(event_id: str) -> bytes:
    """A DR-shaped ``order.accepted`` event of about 1 kB."""
    order = {
        "id": f"ord_{event_id}",
        "state": "accepted",
        "currency": "USD",
        "items": [
            {
                "id": f"{event_id}-{k}",
                "skuId": f"sku-{k}",
                "quantity": 2,
                "amount": 19.98,
            }
            for k in range(5)
        ],
        "metadata": {"note": "x" * 200},
    }
    event = {
        "id": event_id,
        "type": "order.accepted",
        "data": {"object": order},
        "liveMode": False,
        "createdTime": "2021-11-01T18:23:06.272054Z",
        "digitalriverVersion": "2021-12-13",
    }
    return json.dumps(event).encode()


def _load(
    url: str, secret: str, ids: list[str], concurrency: int, timeout: float
) -> tuple[list[float], list[int], list[bool | None], float]:
    """Send every delivery from ``concurrency`` threads, each with its own keep-alive
    connection (stdlib ``http.client``: in one process with the server it disturbs the
    measurement far less than an asyncio client's shared pool does)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"expected an http:// URL, got {url!r}")
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    n = len(ids)
    latencies = [0.0] * n
    statuses = [0] * n
    duplicates: list[bool | None] = [None] * n
    queue = iter(range(n))
    queue_lock = threading.Lock()
    deadline = time.monotonic() + timeout

    def next_index() -> int | None:
        with queue_lock:
            return next(queue, None) if time.monotonic() < deadline else None

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            while (i := next_index()) is not None:
                body = event_body(ids[i])
                headers = {
                    SIGNATURE_HEADER: sign(secret, int(time.time()), body),
                    "Content-Type": "application/json",
                }
                started = time.perf_counter()
                try:
                    connection.request("POST", path, body, headers)
                    response = connection.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException):
                    connection.close()  # reconnects on the next request
                    latencies[i] = time.perf_counter() - started
                    continue
                latencies[i] = time.perf_counter() - started
                statuses[i] = response.status
                if response.status == 202:
                    duplicates[i] = bool(json.loads(answer)["duplicate"])
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, name=f"load-{k}", daemon=True)
        for k in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 11)
    elapsed = time.perf_counter() - started
    if time.monotonic() > deadline or any(t.is_alive() for t in threads):
        raise TimeoutError(f"load run exceeded {timeout} s")
    return latencies, statuses, duplicates, elapsed


def run_load(
    url: str,
    secret: str,
    n: int,
    concurrency: int,
    *,
    duplicate_every: int = 5,
    timeout: float = 60.0,
) -> LoadFigures:
    """POST ``n`` signed deliveries to ``url`` (``http://``), ``concurrency`` at a time.

    Every ``duplicate_every``-th delivery repeats the previous event id (a new
    signature, as DR's redeliveries have), so duplicates race their originals.
    Raises :class:`TimeoutError` if the whole run takes longer than ``timeout``.
    """
    if n < 1 or concurrency < 1:
        raise ValueError("n and concurrency must be positive")
    ids = event_ids(n, duplicate_every)
    latencies, statuses, duplicates, elapsed = _load(
        url, secret, ids, concurrency, timeout
    )
    return LoadFigures(
        n=n,
        concurrency=concurrency,
        elapsed=elapsed,
        latencies=tuple(latencies),
        statuses=tuple(statuses),
        answers=tuple(zip(ids, duplicates, strict=True)),
    )


def problems(figures: LoadFigures, recorder: RecordingInbox) -> list[str]:
    """What went wrong in a run, for a person: empty when all is well."""
    found: list[str] = []
    bad = Counter(s for s in figures.statuses if s != 202)
    if bad:
        found.append(f"non-202 answers: {dict(bad)}")
    fresh_answers = Counter(i for i, dup in figures.answers if dup is False)
    for event_id in sorted(figures.distinct_ids):
        if recorder.fresh[event_id] != 1 or fresh_answers[event_id] != 1:
            found.append(
                f"{event_id}: inbox said new {recorder.fresh[event_id]} times, "
                f"answered new {fresh_answers[event_id]} times"
            )
    if set(recorder.calls) != figures.distinct_ids:
        found.append("the inbox saw ids that were not sent, or missed some")
    if figures.max_latency >= DR_BUDGET_SECONDS:
        found.append(f"max latency {figures.max_latency:.2f}s >= DR's 3 s budget")
    return found


def stored_once(figures: LoadFigures, stored: list[str]) -> list[str]:
    """What is wrong with a durable inbox's ids after a run: empty when each distinct
    event id sent is stored exactly once and nothing else is."""
    found = [f"{i}: stored {n} times" for i, n in Counter(stored).items() if n != 1]
    missing = figures.distinct_ids - set(stored)
    extra = set(stored) - figures.distinct_ids
    if missing:
        found.append(f"{len(missing)} ids never stored, e.g. {sorted(missing)[:3]}")
    if extra:
        found.append(
            f"{len(extra)} ids stored but never sent, e.g. {sorted(extra)[:3]}"
        )
    return found


def main(argv: list[str] | None = None) -> int:
    """Start a server on the chosen inbox, load it, print the figures."""
    parser = argparse.ArgumentParser(description="Load the webhook endpoint.")
    parser.add_argument("--n", type=int, default=2000, help="deliveries to send")
    parser.add_argument("--concurrency", type=int, default=64, help="in flight at once")
    parser.add_argument("--duplicate-every", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds, overall")
    parser.add_argument(
        "--store",
        choices=("memory", "sqlite"),
        default="memory",
        help="the inbox: a dictionary, or a SQLite store in a temporary directory",
    )
    args = parser.parse_args(argv)
    secret = "whsec_load_harness"
    with ExitStack() as stack:
        sqlite = None
        inner: Inbox = MemoryInbox()
        if args.store == "sqlite":
            from drfulfillment.adapters.sqlite import SqliteStore

            folder = stack.enter_context(tempfile.TemporaryDirectory())
            sqlite = SqliteStore(Path(folder) / "load.sqlite3")
            stack.callback(sqlite.close)
            inner = sqlite
        recorder = RecordingInbox(inner)
        app = make_app(recorder, secrets=[secret])
        with serve(app) as base:
            figures = run_load(
                base + DEFAULT_PATH,
                secret,
                args.n,
                args.concurrency,
                duplicate_every=args.duplicate_every,
                timeout=args.timeout,
            )
        print(f"store={args.store} {figures.summary()}")
        found = problems(figures, recorder)
        if sqlite is not None:
            found += stored_once(figures, [e.event_id for e in sqlite.inbox()])
    for problem in found[:20]:
        print("PROBLEM:", problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
