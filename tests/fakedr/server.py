"""A fake Digital River API on loopback, for the adapters' tests (test code only).

:class:`FakeDr` runs a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` (a free port)
in a daemon thread; each connection is served by its own thread, so a slow answer
does not hold up the others. It owns the HTTP side: bearer authentication, the record
of every request (:attr:`FakeDr.calls`) and of every state change that took effect
(:attr:`FakeDr.effects`), and scripted faults (:meth:`FakeDr.inject`). DR's rules live
in :mod:`fakedr.rules`. One lock guards all state; every answer closes its connection.

Faults, consumed in the order they were injected, per ``(method, path prefix)``:

* ``"429"``: ``429 too_many_requests`` with ``Retry-After: <retry_after>``;
* ``"500"``, ``"502"``, ``"503"``, ``"504"``: DR's error envelope with that status
  (nothing processed);
* ``"slow"``: wait ``seconds``, then process and answer as usual;
* ``"drop_before"``: read the request, close the connection, process nothing;
* ``"drop_after"``: process the request (it takes effect), then close the connection
  without any answer: the ambiguous case.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakedr.rules import NOT_JSON, DrState, Order, Reply, dr_error

__all__ = ["FAULTS", "Call", "Effect", "FakeDr"]

Json = dict[str, Any]

FAULTS = frozenset(
    {"429", "500", "502", "503", "504", "slow", "drop_before", "drop_after"}
)

_FAULT_REPLIES = {
    "500": ("internal_server_error", "An internal error occurred."),
    "502": ("bad_gateway", "Bad gateway."),
    "504": ("gateway_timeout", "The gateway timed out."),
    "503": ("service_unavailable", "The service is unavailable."),
    "429": ("too_many_requests", "Too many requests."),
}


@dataclass(frozen=True)
class Call:
    """One request the fake received, whatever became of it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Effect:
    """One state-changing request that took effect, and the resource it made."""

    method: str
    path: str
    body: Json
    status: int
    resource: Json


@dataclass
class _Fault:
    method: str
    path: str
    kind: str
    remaining: int
    retry_after: int
    seconds: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeDr

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-answer is expected here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve a PUT (DR has none here: 404)."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve a DELETE (DR has none here: 404)."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def _serve(self) -> None:
        self.close_connection = True
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = parse_qs(split.query, keep_blank_values=True)
        reply = self.server.fake._answer(self.command, split.path, query, raw, headers)
        if reply is None:
            return
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _parse(raw: bytes) -> object:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return NOT_JSON


class FakeDr:
    """A fake DR API: ``with FakeDr() as dr: ... dr.url ...``.

    ``secret`` is the only bearer token accepted; ``page_cap`` bounds list pages
    (lower it to make a client walk several pages).
    """

    def __init__(self, secret: str = "sk_test_fake", *, page_cap: int = 100) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._state = DrState(page_cap)
        self._calls: list[Call] = []
        self._effects: list[Effect] = []
        self._faults: list[_Fault] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeDr:
        """Listen on a free loopback port and serve in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release slow answers, close the socket."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeDr:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        assert self._server is not None, "FakeDr is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- seeding and scripting --------------------------------------------------------

    def add_order(
        self,
        order_id: str,
        items: dict[str, int],
        state: str = "accepted",
        currency: str = "USD",
    ) -> None:
        """Seed an order: ``{item_id: quantity}`` per line."""
        with self._lock:
            self._state.orders[order_id] = Order(order_id, dict(items), state, currency)

    def set_order_state(self, order_id: str, state: str) -> None:
        """Move a seeded order to ``state`` (e.g. ``"dispute"``, ``"fulfilled"``)."""
        with self._lock:
            self._state.orders[order_id].state = state

    def order(self, order_id: str) -> Order:
        """The seeded order (live object: read it, do not change it)."""
        with self._lock:
            return self._state.orders[order_id]

    def inject(
        self,
        method: str,
        path: str,
        fault: str,
        times: int = 1,
        *,
        retry_after: int = 1,
        seconds: float = 1.0,
    ) -> None:
        """Script ``fault`` for the next ``times`` requests ``method path*``."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {sorted(FAULTS)}")
        with self._lock:
            self._faults.append(
                _Fault(method.upper(), path, fault, times, retry_after, seconds)
            )

    # --- what happened ----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request received, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def effects(self) -> list[Effect]:
        """Every state-changing request that took effect, in order (a copy)."""
        with self._lock:
            return list(self._effects)

    def resources(self, kind: str) -> list[Json]:
        """The resources created at ``kind`` (``"/fulfillments"``, ...), oldest first."""
        with self._lock:
            return copy.deepcopy(self._state.resources[kind])

    # --- serving ----------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if (
                fault.remaining
                and fault.method == method
                and path.startswith(fault.path)
            ):
                fault.remaining -= 1
                return fault
        return None

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw: bytes,
        headers: dict[str, str],
    ) -> Reply | None:
        """The reply to one request, or ``None`` to close without answering."""
        body = _parse(raw)
        recorded = raw.decode(errors="replace") if body is NOT_JSON else body
        with self._lock:
            self._calls.append(Call(method, path, query, recorded, headers))
            fault = self._take_fault(method, path)
        kind = fault.kind if fault else ""
        if kind == "drop_before":
            return None
        if kind in _FAULT_REPLIES:
            assert fault is not None
            error_type, message = _FAULT_REPLIES[kind]
            reply = dr_error(int(kind), error_type, error_type, message)
            if kind == "429":
                return Reply(429, reply.body, {"Retry-After": str(fault.retry_after)})
            return reply
        if kind == "slow":
            assert fault is not None
            self._stopping.wait(fault.seconds)
        with self._lock:
            reply = self._process(method, path, query, body, headers)
        return None if kind == "drop_after" else reply

    def _process(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: object,
        headers: dict[str, str],
    ) -> Reply:
        if headers.get("authorization") != f"Bearer {self._secret}":
            return dr_error(
                401, "unauthorized", "unauthorized", "Invalid or missing credentials."
            )
        handled = self._state.handle(method, path, query, body)
        reply = Reply(handled.status, copy.deepcopy(handled.body), handled.headers)
        if method != "GET" and 200 <= reply.status < 300 and isinstance(body, dict):
            self._effects.append(Effect(method, path, body, reply.status, reply.body))
        return reply
