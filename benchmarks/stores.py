"""Benchmark 6: inputs/s through ingest into SQLite and PostgreSQL, against a bare loop.

The subject is the store path of ``drfulfillment ingest``: each input received into the
inbox (one transaction), then applied by workers (a read of the order and one commit
of state, input status and commands). The baseline writes **the same rows** with the
same driver and durability settings in a bare loop: the inbox row, the order's state
(the same JSON, precomputed by the engine), its commands and the input's status, in
as many transactions, with no decision, routing or concurrency control. PostgreSQL runs
when ``DRFULFILLMENT_TEST_POSTGRES`` names a server (``bash scripts/postgres start``);
its 4-worker case uses threads, each with its own connection.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.mix import lines_of
from benchmarks.timing import Row
from drfulfillment.adapters.sqlite import SqliteStore
from drfulfillment.adapters.worker import Worker
from drfulfillment.codecs import dump_state, parse_input
from drfulfillment.codecs.commands import dump_command
from drfulfillment.domain import Engine
from drfulfillment.domain.decide import input_id
from drfulfillment.domain.ports import Store

#: ``(event id, type, body, order id, state JSON, [(key, kind, command JSON)])``.
Planned = tuple[str, str, bytes, str, str, list[tuple[str, str, str]]]


def plan(orders: int) -> list[Planned]:
    """The mix and, per input, the rows the store ends up writing for it."""
    engine = Engine()
    planned: list[Planned] = []
    for body in lines_of(orders):
        doc = json.loads(body)
        inp = parse_input(doc)
        out = engine.handle(inp)
        order_id = out.order_id or ""
        state = dump_state(engine.orders[order_id]) if order_id else "{}"
        commands = [(c.key, type(c).__name__, dump_command(c)) for c in out.commands]
        kind = str(doc.get("type") or doc.get("request"))
        planned.append((input_id(inp), kind, body, order_id, state, commands))
    return planned


def ingest(store: Store, planned: list[Planned], workers: int) -> float:
    """Seconds to receive every input and apply them with ``workers`` threads."""
    started = time.perf_counter()
    seen: set[str] = set()
    for event_id, kind, body, *_ in planned:
        if event_id not in seen:
            seen.add(event_id)
            store.receive(event_id, kind, body)

    def work() -> None:
        worker = Worker(store)
        while worker.apply_pending(50):
            pass

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def bare_loop(conn: Any, planned: list[Planned], begin: str, ph: str) -> float:
    """Seconds to write the same rows in a bare loop (two transactions per input)."""
    cur = conn.cursor()
    q: Callable[[str], str] = lambda sql: sql.replace("?", ph)  # noqa: E731
    started = time.perf_counter()
    versions: dict[str, int] = {}
    seen: set[str] = set()
    for event_id, kind, body, order_id, state, commands in planned:
        if event_id in seen:
            continue
        seen.add(event_id)
        cur.execute(begin)
        cur.execute(
            q(
                "INSERT INTO inbox (event_id, event_type, body, status, detail) "
                "VALUES (?, ?, ?, 'received', '')"
            ),
            (event_id, kind, body),
        )
        conn.commit()
        if begin:
            cur.execute(begin)
        version = versions.get(order_id, 0) + 1
        versions[order_id] = version
        cur.execute(
            q(
                "INSERT INTO orders (order_id, state, version) VALUES (?, ?, ?) "
                "ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, "
                "version = excluded.version"
            ),
            (order_id, state, version),
        )
        for key, command_kind, command in commands:
            cur.execute(
                q(
                    "INSERT INTO outbox (key, order_id, kind, command, status) "
                    "VALUES (?, ?, ?, ?, 'pending') ON CONFLICT (key) DO NOTHING"
                ),
                (key, order_id, command_kind, command),
            )
        cur.execute(
            q("UPDATE inbox SET status = 'applied', order_id = ? WHERE event_id = ?"),
            (order_id, event_id),
        )
        conn.commit()
    return time.perf_counter() - started


def _row(name: str, n: int, subject_s: float, bare_s: float) -> Row:
    ratio = subject_s / bare_s
    return Row(
        "6. stores",
        f"ingest, {name}: {n / subject_s:,.0f} inputs/s",
        f"bare loop, same rows: {n / bare_s:,.0f} inputs/s",
        ratio,
        "≤ 3x, every transaction durable",
        ratio <= 3,
        f"{n:,} inputs",
    )


def sqlite_rows(orders: int) -> list[Row]:
    """SQLite (WAL, synchronous=FULL): ingest with one worker against the bare loop."""
    planned = plan(orders)
    n = len({p[0] for p in planned})
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "ingest.sqlite3")
        subject_s = ingest(store, planned, 1)
        store.close()
        bare = SqliteStore(Path(tmp) / "bare.sqlite3")  # same schema and pragmas
        conn = bare._connection()
        bare_s = bare_loop(conn, planned, "BEGIN IMMEDIATE", "?")
        bare.close()
    return [_row("SQLite, 1 worker", n, subject_s, bare_s)]


def postgres_rows(orders: int) -> list[Row]:
    """PostgreSQL with 1 and 4 workers against the bare loop; none without a server."""
    url = os.environ.get("DRFULFILLMENT_TEST_POSTGRES", "")
    if url in ("", "skip"):
        return []
    import psycopg

    from drfulfillment.adapters.postgres import PostgresStore

    planned = plan(orders)
    n = len({p[0] for p in planned})
    rows = []
    for label, workers in (("1 worker", 1), ("4 workers", 4)):
        timings = []
        for kind in ("subject", "bare"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(f"CREATE SCHEMA {schema}")
            scoped = (
                f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            )
            store = PostgresStore(scoped)
            try:
                if kind == "subject":
                    timings.append(ingest(store, planned, workers))
                else:
                    timings.append(bare_loop(store._connection(), planned, "", "%s"))
            finally:
                store.close()
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute(f"DROP SCHEMA {schema} CASCADE")
        rows.append(_row(f"PostgreSQL, {label}", n, timings[0], timings[1]))
    return rows
