"""The ASGI webhook endpoint (Starlette): verify, parse just enough, hand to the inbox.

This module owns the HTTP edge of event intake and nothing more. A delivery is read
(bounded), its ``DigitalRiver-Signature`` checked (:mod:`.signature`), its envelope's
``id`` and ``type`` read, and the raw body handed to an
:class:`~drfulfillment.domain.ports.Inbox`. No decision is made here: DR wants a 2xx
within 3000 ms and recommends acknowledging at once with ``202`` and processing
later (``dr-reference/README.md`` §7, S13/S14).

Answers:

* ``202 {"received": id, "duplicate": bool}``: kept (or already kept: DR delivers at
  least once, so a duplicate is a success, not an error).
* ``401 {"error": reason}``: the signature is missing, malformed, stale or wrong.
* ``400 {"error": reason}``: not JSON, not an object, ``id``/``type`` missing or not a
  non-empty string. Unknown event types and fields are accepted: DR adds them.
* ``413``: the body exceeds ``max_body_bytes``.
* ``503``: the inbox failed; DR retries a non-2xx (with a new signature).

``GET /health`` answers ``200 {"status": "ok"}``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from drfulfillment.adapters.signature import SIGNATURE_HEADER, SignatureError, verify
from drfulfillment.domain.ports import Inbox

__all__ = ["DEFAULT_PATH", "make_app"]

#: Where DR is told to deliver, unless ``make_app(path=...)`` says otherwise.
DEFAULT_PATH = "/webhooks/digitalriver"

log = logging.getLogger("drfulfillment.adapters.webhook")


class _BodyTooLargeError(Exception):
    """The body went past the limit while being read."""


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, or :class:`_BodyTooLargeError` as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(body: bytes) -> tuple[str, str]:
    """``(id, type)`` of a DR event, or :class:`ValueError` naming what is wrong."""
    try:
        event: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("body is not valid JSON") from None
    if not isinstance(event, dict):
        raise ValueError(f"body is not a JSON object (got {type(event).__name__})")
    found: list[str] = []
    for field in ("id", "type"):
        value = event.get(field)
        if field not in event:
            raise ValueError(f"event has no {field!r}")
        if not isinstance(value, str) or not value:
            raise ValueError(f"event {field!r} is not a non-empty string")
        found.append(value)
    return found[0], found[1]


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def make_app(
    inbox: Inbox,
    *,
    secrets: Sequence[str | bytes],
    tolerance_seconds: float = 300,
    clock: Callable[[], float] = time.time,
    max_body_bytes: int = 1_000_000,
    path: str = DEFAULT_PATH,
) -> Starlette:
    """A Starlette app taking DR's webhook deliveries at ``POST {path}`` into ``inbox``.

    ``secrets`` are the endpoint's valid signing secrets (old and new during a
    rotation). **An empty ``secrets`` turns signature checking off**: for local testing
    only, never in front of the internet (a warning is logged at start). ``clock`` gives
    Unix time in seconds. ``inbox.receive`` is synchronous and may block; it runs in a
    worker thread so the event loop keeps serving other deliveries.
    """
    if isinstance(secrets, str | bytes):
        raise ValueError("secrets must be a sequence of secrets, not one string")
    keys = tuple(secrets)
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
    if not keys:
        log.warning(
            "webhook signature checking is OFF (no secrets): local testing only"
        )

    async def deliver(request: Request) -> JSONResponse:
        try:
            body = await _read_body(request, max_body_bytes)
        except _BodyTooLargeError:
            log.warning("webhook refused: body over %d bytes", max_body_bytes)
            return _error(413, f"body exceeds {max_body_bytes} bytes")
        if keys:
            try:
                verify(
                    request.headers.get(SIGNATURE_HEADER),
                    body,
                    secrets=keys,
                    now=clock(),
                    tolerance_seconds=tolerance_seconds,
                )
            except SignatureError as err:
                log.warning("webhook refused (401): %s", err.reason)
                return _error(401, err.reason)
        try:
            event_id, event_type = _envelope(body)
        except ValueError as err:
            log.warning("webhook refused (400): %s", err)
            return _error(400, str(err))
        try:
            fresh = await run_in_threadpool(inbox.receive, event_id, event_type, body)
        except Exception:
            log.exception("inbox failed for event %s (%s)", event_id, event_type)
            return _error(503, "the event could not be stored; please retry")
        log.info(
            "webhook %s %s (%s)",
            "received" if fresh else "duplicate",
            event_id,
            event_type,
        )
        return JSONResponse(
            {"received": event_id, "duplicate": not fresh}, status_code=202
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(path, deliver, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
