"""The SQL both stores share: each :class:`~drfulfillment.domain.ports.Store` operation
as one transaction, on the tables of :mod:`drfulfillment.adapters.sqltables`.

:class:`SqlStore` is written against DB-API connections with ``?`` placeholders; the
SQLite and PostgreSQL adapters supply the connection, the DDL and how a write
transaction starts (``BEGIN IMMEDIATE`` in SQLite; row locks in PostgreSQL). A write
is a transaction of its own; a read is one statement on its own (:meth:`_statement`:
one snapshot, no write lock, and on PostgreSQL one round trip instead of three).
:meth:`commit` updates an order only if its version is still the one decided on, and
settles an input only if it is still waiting.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from drfulfillment.adapters.sqltables import (
    INBOX_COLUMNS,
    OUTBOX_COLUMNS,
    inbox_entry,
    outbox_entry,
)
from drfulfillment.domain.ports import (
    AlreadySettled,
    Change,
    InboxEntry,
    InboxStatus,
    OrderRow,
    OutboxEntry,
    OutboxStatus,
    StaleVersion,
)

__all__ = ["SqlStore"]


class SqlStore(abc.ABC):
    """Every store operation in portable SQL; subclasses own connections and DDL."""

    #: The DB-API placeholder the driver wants instead of ``?``.
    placeholder = "?"
    #: Appended to the claim's row selection (PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
    claim_lock = ""

    _local: threading.local
    _all: list[Any]
    _lock: threading.Lock

    def _start_connections(self) -> None:
        """Per-thread connections, all of them remembered for :meth:`close`."""
        self._local = threading.local()
        self._all = []
        self._lock = threading.Lock()

    @abc.abstractmethod
    def _open(self) -> Any:
        """A new connection, set up."""

    def _connection(self) -> Any:
        """The connection of the calling thread (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "closed", False):
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    @abc.abstractmethod
    def _begin(self, cursor: Any) -> None:
        """Start a write transaction."""

    def _lock_fulfillment_order(self, cursor: Any, fo_id: str) -> None:  # noqa: B027
        """Serialise parking and owning of one fulfillment order (PostgreSQL)."""

    def _sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def _serialised(self) -> AbstractContextManager[Any]:
        """Held around each transaction (SQLite: one writer per process at a time)."""
        return nullcontext()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        conn = self._connection()
        with self._serialised():
            cur = conn.cursor()
            self._begin(cur)
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()
            finally:
                cur.close()

    def _autocommit(self, conn: Any) -> AbstractContextManager[Any]:
        """Statements on ``conn`` commit on their own while this is held (SQLite's
        connections always do: ``isolation_level=None``)."""
        return nullcontext()

    @contextmanager
    def _statement(self) -> Iterator[Any]:
        """A cursor for one statement outside any explicit transaction: a read sees
        one snapshot and takes no write lock."""
        conn = self._connection()
        with self._serialised(), self._autocommit(conn):
            cur = conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def _q(self, cur: Any, text: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(text), tuple(params))
        return cur

    # -- inbox ---------------------------------------------------------------------

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Keep one input; ``False`` if ``event_id`` was already received."""
        with self._tx() as cur:
            done = self._q(
                cur,
                "INSERT INTO inbox (event_id, event_type, body, status, detail) "
                "VALUES (?, ?, ?, 'received', '') ON CONFLICT (event_id) DO NOTHING",
                (event_id, event_type, body),
            )
            return bool(done.rowcount == 1)

    def next_inputs(self, limit: int) -> list[InboxEntry]:
        """Inputs received and not yet applied, oldest first."""
        with self._statement() as cur:
            rows = self._q(
                cur,
                f"SELECT {INBOX_COLUMNS} FROM inbox WHERE status = 'received' "
                "ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [inbox_entry(r) for r in rows]

    def inbox(self, order_id: str | None = None) -> list[InboxEntry]:
        """Received inputs (of one order), oldest first."""
        where, params = ("WHERE order_id = ?", (order_id,)) if order_id else ("", ())
        with self._statement() as cur:
            rows = self._q(
                cur, f"SELECT {INBOX_COLUMNS} FROM inbox {where} ORDER BY seq", params
            ).fetchall()
        return [inbox_entry(r) for r in rows]

    def park(self, event_id: str, fulfillment_order_id: str) -> bool:
        """Keep an input until its fulfillment order is owned (``False``: it is)."""
        with self._tx() as cur:
            self._lock_fulfillment_order(cur, fulfillment_order_id)
            owned = self._q(
                cur,
                "SELECT order_id FROM fulfillment_orders WHERE fo_id = ?",
                (fulfillment_order_id,),
            ).fetchone()
            if owned is not None:
                return False
            self._q(
                cur,
                "UPDATE inbox SET status = 'parked', parked_on = ?, detail = ? "
                "WHERE event_id = ? AND status = 'received'",
                (
                    fulfillment_order_id,
                    f"waiting for fulfillment order {fulfillment_order_id}",
                    event_id,
                ),
            )
            return True

    def settle(self, event_id: str, status: InboxStatus, detail: str) -> None:
        """Mark an input that needs no order (refused, or skipped)."""
        with self._tx() as cur:
            self._q(
                cur,
                "UPDATE inbox SET status = ?, detail = ? "
                "WHERE event_id = ? AND status = 'received'",
                (status.value, detail, event_id),
            )

    # -- orders ----------------------------------------------------------------------

    def load(self, order_id: str, event_id: str | None = None) -> OrderRow | None:
        """The stored state of ``order_id``, if any; with ``event_id``, read together
        with that input's status: :class:`AlreadySettled` unless it is waiting."""
        if event_id is None:
            with self._statement() as cur:
                row = self._q(
                    cur,
                    "SELECT state, version FROM orders WHERE order_id = ?",
                    (order_id,),
                ).fetchone()
            return None if row is None else OrderRow(order_id, row[0], int(row[1]))
        with self._statement() as cur:
            row = self._q(
                cur,
                "SELECT i.status, o.state, o.version FROM inbox i "
                "LEFT JOIN orders o ON o.order_id = ? WHERE i.event_id = ?",
                (order_id, event_id),
            ).fetchone()
        if row is None or row[0] != InboxStatus.RECEIVED.value:
            raise AlreadySettled(event_id)
        return None if row[1] is None else OrderRow(order_id, row[1], int(row[2]))

    def owner_of(self, fulfillment_order_id: str) -> str | None:
        """The order owning a fulfillment order, if any."""
        with self._statement() as cur:
            row = self._q(
                cur,
                "SELECT order_id FROM fulfillment_orders WHERE fo_id = ?",
                (fulfillment_order_id,),
            ).fetchone()
        return None if row is None else str(row[0])

    def order_ids(self) -> list[str]:
        """Every stored order id, sorted."""
        with self._statement() as cur:
            rows = self._q(cur, "SELECT order_id FROM orders ORDER BY order_id")
            return [str(r[0]) for r in rows.fetchall()]

    def commit(self, change: Change) -> None:
        """State, input status and commands together, or :class:`StaleVersion`."""
        with self._tx() as cur:
            if change.expected_version == 0:
                done = self._q(
                    cur,
                    "INSERT INTO orders (order_id, state, version) VALUES (?, ?, 1) "
                    "ON CONFLICT (order_id) DO NOTHING",
                    (change.order_id, change.state),
                )
            else:
                done = self._q(
                    cur,
                    "UPDATE orders SET state = ?, version = version + 1 "
                    "WHERE order_id = ? AND version = ?",
                    (change.state, change.order_id, change.expected_version),
                )
            if done.rowcount != 1:
                raise StaleVersion(change.order_id)
            for fo_id in change.fulfillment_orders:
                self._own(cur, fo_id, change.order_id)
            settled = self._q(
                cur,
                "UPDATE inbox SET status = 'applied', detail = ?, order_id = ? "
                "WHERE event_id = ? AND status = 'received'",
                (change.detail, change.order_id, change.event_id),
            )
            if settled.rowcount != 1:
                # Another worker applied or refused it first; roll everything back.
                raise AlreadySettled(change.event_id)
            for released in change.released:
                self._q(
                    cur,
                    "UPDATE inbox SET detail = ? WHERE event_id = ? AND order_id = ?",
                    (f"applied (after {change.event_id})", released, change.order_id),
                )
            for dropped, reason in change.dropped:
                self._q(
                    cur,
                    "UPDATE inbox SET status = 'refused', detail = ? "
                    "WHERE event_id = ? AND order_id = ?",
                    (reason, dropped, change.order_id),
                )
            for key, kind, command in change.commands:
                self._q(
                    cur,
                    "INSERT INTO outbox (key, order_id, kind, command, status, "
                    "attempts, next_attempt_at, detail) "
                    "VALUES (?, ?, ?, ?, 'pending', 0, 0, '') "
                    "ON CONFLICT (key) DO NOTHING",
                    (key, change.order_id, kind, command),
                )

    def _own(self, cur: Any, fo_id: str, order_id: str) -> None:
        """Index ``fo_id`` under ``order_id``; inputs parked on it go back to apply."""
        self._lock_fulfillment_order(cur, fo_id)
        added = self._q(
            cur,
            "INSERT INTO fulfillment_orders (fo_id, order_id) VALUES (?, ?) "
            "ON CONFLICT (fo_id) DO NOTHING",
            (fo_id, order_id),
        )
        if added.rowcount == 1:
            self._q(
                cur,
                "UPDATE inbox SET status = 'received', detail = '' "
                "WHERE status = 'parked' AND parked_on = ?",
                (fo_id,),
            )

    # -- outbox ----------------------------------------------------------------------

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        """Due commands, now in flight under a lease, their attempt counted."""
        with self._tx() as cur:
            keys = [
                r[0]
                for r in self._q(
                    cur,
                    "SELECT key FROM outbox WHERE (status = 'pending' AND "
                    "next_attempt_at <= ?) OR (status = 'in_flight' AND "
                    f"lease_until <= ?) ORDER BY seq LIMIT ? {self.claim_lock}",
                    (now, now, limit),
                ).fetchall()
            ]
            claimed = []
            for key in keys:
                self._q(
                    cur,
                    "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, "
                    "lease_until = ? WHERE key = ?",
                    (now + lease_seconds, key),
                )
                row = self._q(
                    cur, f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE key = ?", (key,)
                ).fetchone()
                claimed.append(outbox_entry(row))
            return claimed

    def record(
        self,
        key: str,
        attempts: int,
        status: OutboxStatus,
        *,
        next_attempt_at: float = 0.0,
        detail: str = "",
        response: str | None = None,
    ) -> bool:
        """What became of a claimed command (only if this claim is still current)."""
        with self._tx() as cur:
            done = self._q(
                cur,
                "UPDATE outbox SET status = ?, next_attempt_at = ?, detail = ?, "
                "response = ?, lease_until = NULL "
                "WHERE key = ? AND attempts = ? AND status = 'in_flight'",
                (status.value, next_attempt_at, detail, response, key, attempts),
            )
            return bool(done.rowcount == 1)

    def outbox(self, order_id: str | None = None) -> list[OutboxEntry]:
        """Commands (of one order), in the order they were enqueued."""
        where, params = ("WHERE order_id = ?", (order_id,)) if order_id else ("", ())
        with self._statement() as cur:
            rows = self._q(
                cur,
                f"SELECT {OUTBOX_COLUMNS} FROM outbox {where} ORDER BY seq",
                params,
            ).fetchall()
        return [outbox_entry(r) for r in rows]
