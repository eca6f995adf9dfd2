"""The PostgreSQL store (psycopg 3), for many webhook receivers and workers on one store.

Same tables and transactions as SQLite (:mod:`drfulfillment.adapters.sqlstore`). What
PostgreSQL adds:

* concurrent commits to one order: ``UPDATE ... WHERE version = %s`` blocks on the row
  until the other transaction ends, then finds the version moved and raises
  :class:`~drfulfillment.domain.ports.StaleVersion`; the worker decides again. No lost
  update is possible at ``READ COMMITTED``.
* outbox claims take rows with ``FOR UPDATE SKIP LOCKED``, so workers claim disjoint
  commands without waiting on each other.
* parking an input on a fulfillment order and owning that fulfillment order take the
  same transaction-scoped advisory lock, so an input is never parked after the commit
  that would have released it.

One connection per thread; ``synchronous_commit`` stays at the server's default (on),
so a commit is durable when it returns.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from drfulfillment.adapters.sqlstore import SqlStore

__all__ = ["SCHEMA", "PostgresStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS fulfillment_orders (
    fo_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox (
    seq BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    body BYTEA NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    order_id TEXT,
    parked_on TEXT
);
CREATE INDEX IF NOT EXISTS inbox_status ON inbox (status, seq);
CREATE INDEX IF NOT EXISTS inbox_parked ON inbox (parked_on) WHERE status = 'parked';
CREATE INDEX IF NOT EXISTS inbox_order ON inbox (order_id);
CREATE TABLE IF NOT EXISTS outbox (
    seq BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_until DOUBLE PRECISION,
    detail TEXT NOT NULL DEFAULT '',
    response TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (order_id);
INSERT INTO meta (name, value) VALUES ('schema_version', '1')
    ON CONFLICT (name) DO NOTHING;
"""


class PostgresStore(SqlStore):
    """A :class:`~drfulfillment.domain.ports.Store` in a PostgreSQL database."""

    placeholder = "%s"
    claim_lock = "FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        with psycopg.connect(url, autocommit=True) as conn:
            # Serialise concurrent first-time schema creation.
            conn.execute("SELECT pg_advisory_lock(4242)")
            try:
                conn.execute(SCHEMA)
            finally:
                conn.execute("SELECT pg_advisory_unlock(4242)")

    def __repr__(self) -> str:
        # Never the URL: it may hold a password.
        return "PostgresStore(...)"

    def _connection(self) -> Any:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _begin(self, cursor: Any) -> None:
        """psycopg opens the transaction with the first statement."""

    def _lock_fulfillment_order(self, cursor: Any, fo_id: str) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (fo_id,))

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
