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

__all__ = ["DrApi", "Inbox", "SendResult", "SendStatus"]


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

    def send(self, command: ApiCommand) -> SendResult:
        """Make the call ``command`` stands for and say what became of it."""
        ...  # pragma: no cover


class Inbox(Protocol):
    """Where the webhook endpoint puts each delivery, before anything is decided."""

    def receive(self, event_id: str, event_type: str, body: bytes) -> bool:
        """Keep one event durably; ``False`` if ``event_id`` was already received."""
        ...  # pragma: no cover
