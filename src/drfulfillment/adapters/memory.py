"""The in-memory store: the same contract as SQLite and PostgreSQL, for tests and demos.

Every operation holds one lock, so each is atomic and isolated like a transaction; a
:meth:`commit` that raises changes nothing. Nothing survives the process.

Also :class:`Holds`, which worker holds which order within one process: the memory
store's :meth:`~MemoryStore.hold` (a worker is a thread), and SQLite's (a worker is a
thread with its own store on the file).
"""

from __future__ import annotations

import threading

import attrs

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

__all__ = ["Holds", "MemoryStore"]


class Holds:
    """Which holder holds which order, in this process (``Store.hold``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[str, object] = {}

    def hold(self, order_id: str, holder: object) -> bool:
        """Hold ``order_id`` for ``holder``; ``False`` if another holder has it."""
        with self._lock:
            return self._holders.setdefault(order_id, holder) == holder

    def release(self, order_ids: tuple[str, ...], holder: object) -> None:
        """Let go of those of ``order_ids`` that ``holder`` holds."""
        with self._lock:
            for order_id in order_ids:
                if self._holders.get(order_id) == holder:
                    del self._holders[order_id]


class MemoryStore:
    """A :class:`~drfulfillment.domain.ports.Store` in dictionaries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inbox: dict[str, InboxEntry] = {}
        self._parked_on: dict[str, str] = {}
        self._orders: dict[str, OrderRow] = {}
        self._owners: dict[str, str] = {}
        self._outbox: dict[str, OutboxEntry] = {}
        self._seq = 0
        self._holds = Holds()

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Keep one input; ``False`` if ``event_id`` was already received."""
        with self._lock:
            if event_id in self._inbox:
                return False
            self._inbox[event_id] = InboxEntry(self._next(), event_id, event_type, body)
            return True

    def next_inputs(self, limit: int) -> list[InboxEntry]:
        """Inputs received and not yet applied, oldest first."""
        with self._lock:
            due = [e for e in self._inbox.values() if e.status is InboxStatus.RECEIVED]
        return sorted(due, key=lambda e: e.seq)[:limit]

    def inbox(self, order_id: str | None = None) -> list[InboxEntry]:
        """Received inputs (of one order), oldest first."""
        with self._lock:
            found = [e for e in self._inbox.values() if order_id in (None, e.order_id)]
        return sorted(found, key=lambda e: e.seq)

    def park(self, event_id: str, fulfillment_order_id: str) -> bool:
        """Keep an input until its fulfillment order is owned (``False``: it is)."""
        with self._lock:
            if fulfillment_order_id in self._owners:
                return False
            entry = self._inbox[event_id]
            if entry.status is InboxStatus.RECEIVED:
                self._inbox[event_id] = attrs.evolve(
                    entry,
                    status=InboxStatus.PARKED,
                    detail=f"waiting for fulfillment order {fulfillment_order_id}",
                )
                self._parked_on[event_id] = fulfillment_order_id
            return True

    def settle(self, event_id: str, status: InboxStatus, detail: str) -> None:
        """Mark an input that needs no order (refused, or skipped)."""
        with self._lock:
            entry = self._inbox[event_id]
            if entry.status is InboxStatus.RECEIVED:
                self._inbox[event_id] = attrs.evolve(
                    entry, status=status, detail=detail
                )

    def hold(self, order_id: str) -> bool:
        """Hold ``order_id`` for the calling thread; ``False`` if another holds it."""
        return self._holds.hold(order_id, threading.get_ident())

    def release(self, *order_ids: str) -> None:
        """Let go of orders the calling thread holds."""
        self._holds.release(order_ids, threading.get_ident())

    def load(self, order_id: str, event_id: str | None = None) -> OrderRow | None:
        """The stored state of ``order_id``, if any; with ``event_id``, read together
        with that input's status: :class:`AlreadySettled` unless it is waiting."""
        with self._lock:
            if event_id is not None:
                entry = self._inbox.get(event_id)
                if entry is None or entry.status is not InboxStatus.RECEIVED:
                    raise AlreadySettled(event_id)
            return self._orders.get(order_id)

    def owner_of(self, fulfillment_order_id: str) -> str | None:
        """The order owning a fulfillment order, if any."""
        with self._lock:
            return self._owners.get(fulfillment_order_id)

    def order_ids(self) -> list[str]:
        """Every stored order id, sorted."""
        with self._lock:
            return sorted(self._orders)

    def commit(self, change: Change) -> None:
        """State, input status and commands together, or :class:`StaleVersion`."""
        with self._lock:
            row = self._orders.get(change.order_id)
            version = 0 if row is None else row.version
            if version != change.expected_version:
                raise StaleVersion(change.order_id)
            entry = self._inbox.get(change.event_id)
            if entry is None or entry.status is not InboxStatus.RECEIVED:
                raise AlreadySettled(change.event_id)
            self._orders[change.order_id] = OrderRow(
                change.order_id, change.state, version + 1
            )
            for fo_id in change.fulfillment_orders:
                if fo_id in self._owners:
                    continue
                self._owners[fo_id] = change.order_id
                for event_id, on in list(self._parked_on.items()):
                    if on == fo_id:
                        del self._parked_on[event_id]
                        self._inbox[event_id] = attrs.evolve(
                            self._inbox[event_id],
                            status=InboxStatus.RECEIVED,
                            detail="",
                        )
            self._set(
                change.event_id, InboxStatus.APPLIED, change.detail, change.order_id
            )
            for released in change.released:
                self._set(
                    released,
                    None,
                    f"applied (after {change.event_id})",
                    change.order_id,
                )
            for dropped, reason in change.dropped:
                self._set(dropped, InboxStatus.REFUSED, reason, change.order_id)
            for key, kind, command in change.commands:
                if key not in self._outbox:
                    self._outbox[key] = OutboxEntry(
                        key, change.order_id, kind, command, seq=self._next()
                    )

    def _set(
        self, event_id: str, status: InboxStatus | None, detail: str, order_id: str
    ) -> None:
        entry = self._inbox.get(event_id)
        if entry is None:
            return
        if status is None and entry.order_id != order_id:
            return
        self._inbox[event_id] = attrs.evolve(
            entry, status=status or entry.status, detail=detail, order_id=order_id
        )

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        """Due commands, now in flight under a lease, their attempt counted."""
        with self._lock:
            due = sorted(
                (
                    e
                    for e in self._outbox.values()
                    if (e.status is OutboxStatus.PENDING and e.next_attempt_at <= now)
                    or (
                        e.status is OutboxStatus.IN_FLIGHT
                        and e.lease_until is not None
                        and e.lease_until <= now
                    )
                ),
                key=lambda e: e.seq,
            )[:limit]
            claimed = []
            for e in due:
                new = attrs.evolve(
                    e,
                    status=OutboxStatus.IN_FLIGHT,
                    attempts=e.attempts + 1,
                    lease_until=now + lease_seconds,
                )
                self._outbox[e.key] = new
                claimed.append(new)
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
        with self._lock:
            e = self._outbox.get(key)
            if (
                e is None
                or e.attempts != attempts
                or e.status is not OutboxStatus.IN_FLIGHT
            ):
                return False
            self._outbox[key] = attrs.evolve(
                e,
                status=status,
                next_attempt_at=next_attempt_at,
                detail=detail,
                response=response,
                lease_until=None,
            )
            return True

    def outbox(self, order_id: str | None = None) -> list[OutboxEntry]:
        """Commands (of one order), in the order they were enqueued."""
        with self._lock:
            found = [e for e in self._outbox.values() if order_id in (None, e.order_id)]
        return sorted(found, key=lambda e: e.seq)

    def close(self) -> None:
        """Nothing to release."""
