"""The PostgreSQL store (psycopg 3), for many webhook receivers and workers on one store.

Same tables and transactions as SQLite (:mod:`drfulfillment.adapters.sqlstore`); a
read, a hold and a release are one statement each in autocommit (one round trip, where
psycopg's implicit ``BEGIN`` and the ``COMMIT`` would make three). What PostgreSQL adds:

* concurrent commits to one order: ``UPDATE ... WHERE version = %s`` blocks on the row
  until the other transaction ends, then finds the version moved and raises
  :class:`~drfulfillment.domain.ports.StaleVersion`; the worker decides again. No lost
  update is possible at ``READ COMMITTED``.
* outbox claims take rows with ``FOR UPDATE SKIP LOCKED``, so workers claim disjoint
  commands without waiting on each other.
* parking an input on a fulfillment order and owning that fulfillment order take the
  same transaction-scoped advisory lock, so an input is never parked after the commit
  that would have released it.
* :meth:`PostgresStore.hold` is a session advisory lock on the order (two-key form:
  :data:`ORDER_LOCKS` and a hash of the schema and order id), taken without waiting on
  the calling thread's connection, so workers in any process hold disjoint orders. A
  worker whose process or connection dies holds nothing: the server releases a
  session's locks when the session ends. Two orders whose hashes collide merely take
  turns. Threads of one store object also note their holds in the process
  (:class:`~drfulfillment.adapters.memory.Holds`), so a thread asking for an order
  another thread of the same store holds is answered without a round trip.

One connection per thread; ``synchronous_commit`` stays at the server's default (on),
so a commit is durable when it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from drfulfillment.adapters.memory import Holds
from drfulfillment.adapters.sqlstore import SqlStore
from drfulfillment.adapters.sqltables import schema

__all__ = ["ORDER_LOCKS", "SCHEMA", "PostgresStore"]

SCHEMA = schema(serial="BIGSERIAL PRIMARY KEY", blob="BYTEA", real="DOUBLE PRECISION")

#: The first key of every order's advisory lock (two-key locks never meet the one-key
#: locks on fulfillment orders and on schema creation).
ORDER_LOCKS = 0x64726600
_HOLD = "SELECT pg_try_advisory_lock(%s::int, hashtext(current_schema() || '/' || %s))"
_RELEASE = (
    "SELECT pg_advisory_unlock(%s::int, hashtext(current_schema() || '/' || o)) "
    "FROM unnest(%s::text[]) AS o"
)


class PostgresStore(SqlStore):
    """A :class:`~drfulfillment.domain.ports.Store` in a PostgreSQL database."""

    placeholder = "%s"
    claim_lock = "FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        self.url = url
        self._start_connections()
        self._holds = Holds()  # which of this store's threads holds what
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

    @contextmanager
    def _autocommit(self, conn: Any) -> Iterator[None]:
        """No ``BEGIN`` and ``COMMIT`` around a statement on its own (the connection
        is back to transactions after: the benchmark's bare loop uses it)."""
        conn.autocommit = True
        try:
            yield
        finally:
            conn.autocommit = False

    def _lock_fulfillment_order(self, cursor: Any, fo_id: str) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (fo_id,))

    def hold(self, order_id: str) -> bool:
        """Hold ``order_id`` on this thread's connection; ``False`` if another
        session holds it (another thread of this store: known without asking)."""
        me = threading.get_ident()
        if not self._holds.hold(order_id, me):
            return False
        try:
            with self._statement() as cur:
                row = cur.execute(_HOLD, (ORDER_LOCKS, order_id)).fetchone()
        except BaseException:
            # No lock was taken (or its connection is gone, and the lock with it).
            self._holds.release((order_id,), me)
            raise
        if not row[0]:
            self._holds.release((order_id,), me)
        return bool(row[0])

    def release(self, *order_ids: str) -> None:
        """Let go of orders this thread's connection holds."""
        if not order_ids:
            return
        try:
            with self._statement() as cur:
                cur.execute(_RELEASE, (ORDER_LOCKS, list(order_ids)))
        finally:
            self._holds.release(order_ids, threading.get_ident())
