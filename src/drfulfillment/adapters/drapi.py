"""The DR API client: carries out one API command over HTTP and says what became of it.

:class:`DrClient` implements the :class:`~drfulfillment.domain.ports.DrApi` port with
``httpx`` (synchronous). :meth:`DrClient.send` never raises for DR's answers or for
network errors; it returns a :class:`~drfulfillment.domain.ports.SendResult`:

* 2xx: ``SENT`` with DR's JSON answer.
* ``409 order_fulfilled`` / ``order_already_complete``: ``MOOT`` (DR's code and message
  as the reason), never retried.
* ``409 order_not_submitted`` (DR's hold while the order is in dispute): ``RETRY`` with
  ``retry_after = backoff_cap`` (a dispute lasts far longer than one call).
* ``429``: ``Retry-After`` (integer seconds, README §8) is slept if it is at most
  ``max_retry_after`` and attempts remain, else ``RETRY`` with that ``retry_after``.
* ``408``, ``503``, connection refused, connect and pool timeouts (the request was not
  taken in): exponential backoff with full jitter, ``sleep(min(backoff_cap,
  backoff * 2**n) * jitter())``, at most ``max_attempts`` sends, then ``RETRY``.
* other 4xx: ``FAILED`` with DR's ``code (parameter): message``.

**Ambiguous failures.** DR documents no idempotency (README §8): a ``POST`` that timed
out on read, whose connection dropped after it was sent, or that got a ``5xx``, may
have taken effect. It is never sent again blind:

* ``POST /fulfillments``, ``/returns`` and ``/refunds`` carry ``metadata:
  {"drfulfillmentKey": <command key>}`` (:func:`request_for`). After an ambiguous
  failure the client lists the order's resources (``GET <path>?orderId=``, every page)
  and looks for that key: found means ``SENT`` with ``reconciled=True`` and DR's
  resource. For ``/fulfillments`` only, a resource with no metadata at all matches on
  ``shipmentId`` plus exactly the same lines (itemId, quantity, cancelQuantity), and
  only when the command has a ``shipmentId`` (shipment ids are unique; a bare cancel
  of the same units twice is legitimate and must not match an earlier one).
* ``POST /returns/{id}`` (accepting a return) is checked with ``GET /returns/{id}``:
  the return (or each named item) being ``accepted`` means ``SENT``, reconciled.
* Not found after a ``500``/``503`` (DR finished with the request): backoff, send
  again. Not found after a read timeout, a dropped connection, a ``502`` or a ``504``
  (DR may still be working on it): ``RETRY`` without sending again; the key is
  remembered as *suspect* and the next :meth:`DrClient.send` of it reconciles before
  any ``POST``. A failed reconciliation is ``RETRY``, never a ``POST``. Suspect keys
  live in memory: after a restart the first resend is not preceded by a check.
* ``POST /fulfillment-orders``: an order has one fulfillment order, so
  ``GET /fulfillment-orders?upstreamIds=<order id>`` finding one means ``SENT``.
* ``POST /fulfillment-cancellations`` and ``/fulfillment-returns`` take no metadata
  and have no key to look for. A duplicate may start a second return (and refund), so
  an ambiguous failure is ``FAILED`` with a reason starting ``ambiguous``: a person
  checks DR before it is sent again. Only ``503`` and ``429`` (refused, not
  processed) are retried for them.

A send lasts at most ``send_budget`` seconds: no request is started that could end
after it (a worker's lease on the command must outlast it, or a second worker could
send while the first still waits). ``send(command, reconcile_first=True)`` (the worker's resend of a command an earlier,
unfinished claim may have sent) treats the key as suspect from the start.

Requests carry DR's troubleshooting headers ``upstream-id: <command key>`` and
``upstream-application-id: drfulfillment/<version>`` (README §8). The secret key never
appears in logs, reprs, reasons or exceptions. Log lines (logger
``drfulfillment.adapters.drapi``) name method, path, key, status and attempts; bodies
are logged only at DEBUG.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from types import TracebackType
from urllib.parse import quote

import httpx

from drfulfillment import __version__
from drfulfillment.adapters.drwire import (
    METADATA_KEY,
    Answer,
    Json,
    Lookup,
    accepted,
    dicts,
    dr_reason,
    error_codes,
    matches,
    reconciled,
    retry_after,
)
from drfulfillment.codecs import render_request
from drfulfillment.codecs.fastjson import dumps
from drfulfillment.domain.commands import ApiCommand, UpdateReturn
from drfulfillment.domain.ports import SendResult, SendStatus

__all__ = ["METADATA_KEY", "ConfigurationError", "DrClient", "request_for"]


_LOG = logging.getLogger("drfulfillment.adapters.drapi")

#: POST paths whose resources take metadata and can be listed by ``orderId``.
_LISTED = frozenset({"/fulfillments", "/returns", "/refunds"})
#: POST paths that can be checked at DR after an ambiguous failure.
_CHECKABLE = _LISTED | {"/fulfillment-orders"}
_MOOT = frozenset({"order_fulfilled", "order_already_complete"})
_DISPUTE_HOLD = "order_not_submitted"
#: Answers after which DR may still be working on the request.
_IN_FLIGHT = frozenset({502, 504})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAX_PAGES = 50
#: Request bodies are sent as compact JSON bytes (``orjson`` where installed).
_JSON = {"Content-Type": "application/json"}
_UNCHECKABLE = (
    "ambiguous (may have taken effect at DR, which has no key to look it up by; "
    "not sent again: check DR before resending): "
)


def _checkable(command: ApiCommand, path: str) -> bool:
    """Whether DR can be asked if ``command`` took effect."""
    return path in _CHECKABLE or isinstance(command, UpdateReturn)


class ConfigurationError(Exception):
    """The client cannot be built as asked (no secret key, impossible limits)."""


def request_for(command: ApiCommand) -> tuple[str, str, Json]:
    """``(method, path, body)`` this client sends for ``command``.

    :func:`~drfulfillment.codecs.render_request`, plus ``metadata.drfulfillmentKey``
    (merged into any metadata already there) on the bodies whose resources DR lists.
    """
    method, path, body = render_request(command)
    if path in _LISTED:
        metadata = {**body.get("metadata", {}), METADATA_KEY: command.key}
        body = {**body, "metadata": metadata}
    return method, path, body


class DrClient:
    """The :class:`~drfulfillment.domain.ports.DrApi` port over HTTP (see module doc).

    ``sleep`` and ``jitter`` are injectable so tests need not wait; ``transport`` is
    passed to ``httpx.Client``. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        secret_key: str | None = None,
        base_url: str = "https://api.digitalriver.com",
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 60.0,
        send_budget: float = 45.0,
        sleep: Callable[[float], object] = time.sleep,
        jitter: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        secret = (
            secret_key if secret_key is not None else os.environ.get("DR_SECRET_KEY")
        )
        if not secret:
            raise ConfigurationError(
                "no DR secret key: pass secret_key= or set DR_SECRET_KEY"
            )
        if max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")
        if send_budget < 3 * timeout:
            raise ConfigurationError(
                "send_budget must allow one request: at least 3 x timeout"
            )
        #: The longest one :meth:`send` lasts (connect, write and read of each
        #: request at most ``timeout`` each); a worker's lease must outlast it.
        self.send_budget = send_budget
        self._timeout = timeout
        self._secret = secret
        self._base_url = base_url
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._backoff_cap = backoff_cap
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._jitter = jitter
        self._suspect: set[str] = set()
        self._lock = threading.Lock()
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/json",
                "upstream-application-id": f"drfulfillment/{__version__}",
            },
        )

    def __repr__(self) -> str:
        return f"DrClient(base_url={self._base_url!r})"

    def __enter__(self) -> DrClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    # --- the one public operation ---------------------------------------------------

    def send(self, command: ApiCommand, *, reconcile_first: bool = False) -> SendResult:
        """Make the call ``command`` stands for and say what became of it."""
        method, path, body = request_for(command)
        if reconcile_first:
            with self._lock:
                self._suspect.add(command.key)
            if not _checkable(command, path):
                why = Answer(wire_error="an earlier attempt may have reached DR")
                return self._result(SendStatus.FAILED, why, 0, None, _UNCHECKABLE)
        result = self._send(command, method, path, body)
        if result.status is not SendStatus.RETRY:
            with self._lock:
                self._suspect.discard(command.key)
        _LOG.info(
            "%s %s key=%s -> %s (http %s, attempts %d%s)",
            method,
            path,
            command.key,
            result.status.value,
            result.http_status,
            result.attempts,
            ", reconciled" if result.reconciled else "",
        )
        return result

    def _send(
        self, command: ApiCommand, method: str, path: str, body: Json
    ) -> SendResult:
        checkable = _checkable(command, path)
        with self._lock:
            suspect = command.key in self._suspect
        if checkable and suspect:
            lookup = self._lookup(command, path, body)
            if lookup.found is not None:
                return reconciled(lookup.found, 0)
            if not lookup.ok:
                why = Answer(wire_error="reconciliation failed; not sent again")
                return self._result(SendStatus.RETRY, why, 0, self._hint(0))
        attempt = 0
        deadline = time.monotonic() + self.send_budget
        while True:
            attempt += 1
            answer = self._exchange(method, path, body, command.key)
            status, codes = answer.status, error_codes(answer)
            if status is not None and 200 <= status < 300:
                return SendResult(SendStatus.SENT, "", status, answer.payload, attempt)
            if status == 409 and codes & _MOOT:
                return self._result(SendStatus.MOOT, answer, attempt)
            if status == 409 and _DISPUTE_HOLD in codes:
                return self._result(
                    SendStatus.RETRY, answer, attempt, self._backoff_cap
                )
            wait = self._delay(attempt - 1)
            # Never start a request that could end after the budget (and the lease).
            out_of_time = time.monotonic() + wait + 3 * self._timeout > deadline
            last = attempt >= self._max_attempts or out_of_time
            if status == 429:
                wait = wait if answer.retry_after is None else answer.retry_after
                if last or wait > self._max_retry_after:
                    return self._result(SendStatus.RETRY, answer, attempt, wait)
                self._sleep(wait)
                continue
            refused = status in (408, 503) or not answer.sent
            if status is not None and status < 500 and not refused:
                return self._result(SendStatus.FAILED, answer, attempt)
            if not refused or (checkable and status == 503):
                settled = self._ambiguous(command, path, body, answer, attempt)
                if settled is not None:
                    return settled
            if last:
                return self._result(
                    SendStatus.RETRY, answer, attempt, self._hint(attempt)
                )
            self._sleep(wait)

    def _ambiguous(
        self, command: ApiCommand, path: str, body: Json, answer: Answer, attempt: int
    ) -> SendResult | None:
        """After a failure that may have taken effect: an outcome, or ``None`` to resend."""
        if not _checkable(command, path):
            return self._result(SendStatus.FAILED, answer, attempt, None, _UNCHECKABLE)
        with self._lock:
            self._suspect.add(command.key)
        reason = self._scrub(dr_reason(answer))
        _LOG.warning("POST %s key=%s: %s; reconciling", path, command.key, reason)
        lookup = self._lookup(command, path, body)
        if lookup.found is not None:
            return reconciled(lookup.found, attempt)
        if lookup.ok and answer.status is not None and answer.status not in _IN_FLIGHT:
            return None
        why = "not found yet" if lookup.ok else "reconciliation failed"
        return self._result(
            SendStatus.RETRY,
            answer,
            attempt,
            self._hint(attempt),
            f"ambiguous, {why}; not sent again: ",
        )

    # --- helpers ----------------------------------------------------------------------

    def _delay(self, n: int) -> float:
        """Full-jitter backoff before the ``n``-th resend (``n`` from 0)."""
        return float(min(self._backoff_cap, self._backoff * 2**n) * self._jitter())

    def _hint(self, attempts: int) -> float:
        """The ``retry_after`` suggested after ``attempts`` sends (no jitter)."""
        return float(min(self._backoff_cap, self._backoff * 2**attempts))

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "[secret]")

    def _result(
        self,
        status: SendStatus,
        answer: Answer,
        attempts: int,
        retry_after: float | None = None,
        prefix: str = "",
    ) -> SendResult:
        return SendResult(
            status,
            reason=self._scrub(prefix + dr_reason(answer)),
            http_status=answer.status,
            response=answer.payload,
            attempts=attempts,
            retry_after=retry_after,
        )

    def _exchange(
        self,
        method: str,
        path: str,
        body: Json | None,
        key: str,
        params: dict[str, str | int] | None = None,
    ) -> Answer:
        """One HTTP request; wire errors become an :class:`Answer`, never raised."""
        upstream = key if key.isascii() and key.isprintable() else quote(key)
        try:
            response = self._http.request(
                method,
                path,
                content=None if body is None else dumps(body),
                params=params,
                headers={
                    "upstream-id": upstream,
                    **(_JSON if body is not None else {}),
                },
            )
        except httpx.RequestError as exc:
            wire = self._scrub(f"{type(exc).__name__}: {exc}")
            _LOG.debug("%s %s key=%s: %s", method, path, key, wire)
            return Answer(wire_error=wire, sent=not isinstance(exc, _NOT_SENT))
        try:
            payload = response.json()
        except ValueError:
            payload = None
        _LOG.debug(
            "%s %s key=%s -> %d %s", method, path, key, response.status_code, payload
        )
        return Answer(
            status=response.status_code,
            payload=payload if isinstance(payload, dict) else None,
            retry_after=retry_after(response.headers.get("Retry-After")),
        )

    def _lookup(self, command: ApiCommand, path: str, body: Json) -> Lookup:
        """Look at DR for what ``command`` would have created (one try per GET)."""
        if isinstance(command, UpdateReturn):
            answer = self._exchange("GET", path, None, command.key)
            if answer.status != 200 or answer.payload is None:
                return Lookup(ok=False)
            found = accepted(answer.payload, command)
            return Lookup(ok=True, found=answer.payload if found else None)
        params: dict[str, str | int] = {"orderId": command.order_id, "limit": 100}
        if path == "/fulfillment-orders":
            params = {"upstreamIds": command.order_id, "limit": 100}
        for _ in range(_MAX_PAGES):
            answer = self._exchange("GET", path, None, command.key, params)
            page = answer.payload
            if answer.status != 200 or page is None:
                return Lookup(ok=False)
            data = dicts(page.get("data"))
            for resource in data:
                if matches(resource, command.key, body, path):
                    return Lookup(ok=True, found=resource)
            if page.get("hasMore") is not True:
                return Lookup(ok=True)
            if not data or not data[-1].get("id"):
                return Lookup(ok=False)
            params = {**params, "startingAfter": str(data[-1]["id"])}
        return Lookup(ok=False)
