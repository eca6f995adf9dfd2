"""Ports: the small interfaces adapters implement and the application layer calls.

The domain defines these and never imports an implementation of them: the SQLite and
PostgreSQL stores, the DR API client and the webhook service live in
:mod:`drfulfillment.adapters` and are injected. Everything here is plain data or a
``Protocol``; nothing does I/O.
"""

from __future__ import annotations

import enum
from typing import Any, Protocol

import attrs

from drfulfillment.domain.commands import ApiCommand

__all__ = [
    "AlreadySettled",
    "Change",
    "DrApi",
    "Inbox",
    "InboxEntry",
    "InboxStatus",
    "OrderRow",
    "OutboxEntry",
    "OutboxStatus",
    "SendResult",
    "SendStatus",
    "StaleVersion",
    "Store",
]


class SendStatus(enum.StrEnum):
    """What became of one DR call.

    * ``SENT``: DR accepted it (2xx), or a call that failed ambiguously was found to have
      taken effect after all.
    * ``MOOT``: DR answered that it is no longer needed (``409 order_fulfilled``): not
      an error, never retried.
    * ``FAILED``: DR refused it for good (400, 401, 403, 404, most 409s): retrying the
      same body cannot help; a person must look.
    * ``RETRY``: not known to have taken effect, and safe to try again later (429, 5xx,
      timeouts after the client's own bounded retries; DR's dispute hold).
    """

    SENT = "sent"
    MOOT = "moot"
    FAILED = "failed"
    RETRY = "retry"


@attrs.frozen
class SendResult:
    """The outcome of :meth:`DrApi.send`."""

    status: SendStatus
    #: Why, for a person: DR's error code and message, or what went wrong on the wire.
    reason: str = ""
    #: The last HTTP status seen (``None`` if no answer arrived).
    http_status: int | None = None
    #: DR's JSON answer: the created resource, or DR's error envelope.
    response: dict[str, Any] | None = None
    #: How many times the request was sent.
    attempts: int = 0
    #: For ``RETRY``: seconds to wait before trying again (``Retry-After`` or backoff).
    retry_after: float | None = None
    #: ``True`` when an ambiguous failure was resolved by finding the resource at DR.
    reconciled: bool = False


class DrApi(Protocol):
    """Carries out one API command against DR; never raises for DR's answers."""

    def send(self, command: ApiCommand, *, reconcile_first: bool = False) -> SendResult:
        """Make the call ``command`` stands for and say what became of it.

        ``reconcile_first``: an earlier attempt may have reached DR (a worker died
        after sending, or the answer was lost): look for its effect at DR before
        sending again, and send only if it is not there.
        """
        ...  # pragma: no cover


class Inbox(Protocol):
    """Where the webhook endpoint puts each delivery, before anything is decided."""

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Keep one event durably; ``False`` if ``event_id`` was already received."""
        ...  # pragma: no cover


class InboxStatus(enum.StrEnum):
    """Where one received input is: to apply, parked, applied, or refused for good."""

    RECEIVED = "received"
    #: Waiting for a fulfillment order no stored order owns yet.
    PARKED = "parked"
    APPLIED = "applied"
    REFUSED = "refused"


@attrs.frozen
class InboxEntry:
    """One received input (a DR event or a merchant request), in arrival order."""

    seq: int
    event_id: str
    event_type: str
    body: bytes
    status: InboxStatus = InboxStatus.RECEIVED
    #: The decision's outcome (``applied``, ``waiting``, ``duplicate``...) or the refusal.
    detail: str = ""
    order_id: str | None = None


class OutboxStatus(enum.StrEnum):
    """Where one command is on its way to DR."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    FAILED = "failed"
    MOOT = "moot"


@attrs.frozen
class OutboxEntry:
    """One command to carry out, keyed by its idempotency key."""

    key: str
    order_id: str
    kind: str
    #: The command as JSON text (``drfulfillment.codecs.commands``).
    command: str
    status: OutboxStatus = OutboxStatus.PENDING
    #: Claims so far; a claim with attempts > 1 may follow one that reached DR.
    attempts: int = 0
    next_attempt_at: float = 0.0
    lease_until: float | None = None
    detail: str = ""
    response: str | None = None
    seq: int = 0


@attrs.frozen
class OrderRow:
    """One order's stored state and its version, for optimistic concurrency."""

    order_id: str
    state: str
    version: int


@attrs.frozen
class Change:
    """Everything one applied input changes, committed in one transaction."""

    order_id: str
    #: The version the decision was made on (0: a new order).
    expected_version: int
    state: str
    #: Every fulfillment order the order owns (the store indexes them).
    fulfillment_orders: tuple[str, ...]
    event_id: str
    detail: str
    #: ``(idempotency key, command type, command JSON)``; a key already in the outbox is
    #: skipped, never sent twice.
    commands: tuple[tuple[str, str, str], ...] = ()
    #: Inputs kept waiting in the order that this one let apply.
    released: tuple[str, ...] = ()
    #: ``(input id, reason)`` of waiting inputs that proved impossible.
    dropped: tuple[tuple[str, str], ...] = ()


class StaleVersion(Exception):  # noqa: N818 - a condition, named for what it is
    """The order changed since it was loaded: load it again and decide again."""


class AlreadySettled(Exception):  # noqa: N818 - a condition, named for what it is
    """Another worker applied or refused this input first: nothing to commit."""


class Store(Inbox, Protocol):
    """An inbox of inputs, per-order state, and an outbox of commands.

    Every method is one transaction. :meth:`commit` is the heart of it: the new state,
    the input's status and the commands it caused are written together or not at all,
    so a crash at any point neither loses an input nor duplicates a command.
    """

    def next_inputs(self, limit: int) -> list[InboxEntry]:
        """Inputs received and not yet applied, oldest first."""
        ...  # pragma: no cover

    def hold(self, order_id: str) -> bool:
        """Hold ``order_id`` for the calling worker (its thread, on this store) until
        :meth:`release`; ``False`` if another worker holds it. Held at most once at a
        time by one worker. A worker decides for an order only while holding it, so
        no two workers decide for one order at once; a holder that dies (its process,
        or its database connection) holds nothing."""
        ...  # pragma: no cover

    def release(self, *order_ids: str) -> None:
        """Let go of orders the calling worker holds."""
        ...  # pragma: no cover

    def load(self, order_id: str, event_id: str | None = None) -> OrderRow | None:
        """The stored state of ``order_id``, if any. With ``event_id``, read in one
        snapshot with that input's status, and :class:`AlreadySettled` unless it is
        still received and not yet applied, parked or refused (a worker checks so once
        it holds the input's order: another worker may have applied it since)."""
        ...  # pragma: no cover

    def owner_of(self, fulfillment_order_id: str) -> str | None:
        """The order a fulfillment order belongs to, if a stored order owns it."""
        ...  # pragma: no cover

    def commit(self, change: Change) -> None:
        """Apply ``change`` atomically; :class:`StaleVersion` if the order moved on,
        :class:`AlreadySettled` (and nothing changes) if the input is no longer
        waiting to be applied (another worker settled it first)."""
        ...  # pragma: no cover

    def park(self, event_id: str, fulfillment_order_id: str) -> bool:
        """Keep an input until ``fulfillment_order_id`` is owned; ``False`` (and the
        input stays to apply) if it is owned already."""
        ...  # pragma: no cover

    def settle(self, event_id: str, status: InboxStatus, detail: str) -> None:
        """Mark an input that needs no order (refused, or skipped as applied)."""
        ...  # pragma: no cover

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        """Commands due (pending, or in flight with an expired lease), now in flight."""
        ...  # pragma: no cover

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
        """What became of a claimed command; ignored (``False``) if the claim
        ``attempts`` is no longer the command's latest (another worker took it)."""
        ...  # pragma: no cover

    def inbox(self, order_id: str | None = None) -> list[InboxEntry]:
        """Received inputs (of one order), oldest first."""
        ...  # pragma: no cover

    def outbox(self, order_id: str | None = None) -> list[OutboxEntry]:
        """Commands (of one order), in the order they were enqueued."""
        ...  # pragma: no cover

    def close(self) -> None:
        """Release connections."""
        ...  # pragma: no cover
