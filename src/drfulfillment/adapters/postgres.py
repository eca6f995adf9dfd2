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

from typing import Any

import psycopg

from drfulfillment.adapters.sqlstore import SqlStore, schema

__all__ = ["SCHEMA", "PostgresStore"]

SCHEMA = schema(serial="BIGSERIAL PRIMARY KEY", blob="BYTEA", real="DOUBLE PRECISION")


class PostgresStore(SqlStore):
    """A :class:`~drfulfillment.domain.ports.Store` in a PostgreSQL database."""

    placeholder = "%s"
    claim_lock = "FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        self.url = url
        self._start_connections()
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

    def _open(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url)

    def _begin(self, cursor: Any) -> None:
        """psycopg opens the transaction with the first statement."""

    def _lock_fulfillment_order(self, cursor: Any, fo_id: str) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (fo_id,))
