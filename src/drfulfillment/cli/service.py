"""The service commands: ``serve``, ``ingest``, ``dispatch`` and ``show``.

They compose the adapters around the engine: a store (``--store``: a SQLite path by
default, ``postgresql://...`` or ``memory:``), the worker, the DR API client and the
webhook endpoint. Configuration that is secret comes from the environment only:

* ``DR_SECRET_KEY``: DR's secret API key (never printed); without it nothing is sent
  to DR, and ``serve`` only receives and applies.
* ``DR_WEBHOOK_SECRETS``: the endpoint's signing secrets, comma-separated (old and new
  during a rotation); without it signatures are not checked (local testing only).
* ``DR_BASE_URL``: DR's API address (default ``https://api.digitalriver.com``).
* ``DR_TIMEOUT``: seconds per request phase (default 10; capped so that a whole send,
  retries included, fits in half the worker's lease).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

from drfulfillment.adapters.stores import open_store, store_spec
from drfulfillment.adapters.worker import Worker
from drfulfillment.cli.show import show_order
from drfulfillment.domain.ports import DrApi, Store
from drfulfillment.domain.state import IntegrationModel

__all__ = ["add_parsers", "run"]

_COMMANDS = ("serve", "ingest", "dispatch", "show", "work")


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="SPEC",
        help="SQLite file (default: $DRFULFILLMENT_STORE or drfulfillment.sqlite3), "
        "postgresql://... or memory:",
    )


def add_parsers(sub: Any) -> None:
    """Register the service commands on the ``drfulfillment`` parser."""
    sv = sub.add_parser(
        "serve",
        help="receive DR webhooks, apply them and send the outbox",
        description="Run the webhook endpoint (POST /webhooks/digitalriver) and a "
        "worker that applies what it receives and, with DR_SECRET_KEY set, sends the "
        "outbox to DR.",
    )
    _store_arg(sv)
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=1, help="worker threads")
    sv.add_argument(
        "--model", choices=[m.value for m in IntegrationModel], default="distributed"
    )
    ig = sub.add_parser(
        "ingest",
        help="put a JSON Lines file of DR events and requests into the store, and apply them",
        description="Receive each line into the store's inbox (duplicates by id are "
        "kept once), then apply everything due. Progress goes to stderr.",
    )
    _store_arg(ig)
    ig.add_argument("file", metavar="FILE", help="JSON Lines file, or - for stdin")
    ig.add_argument(
        "--model", choices=[m.value for m in IntegrationModel], default="distributed"
    )
    ig.add_argument("--no-apply", action="store_true", help="only receive")
    dp = sub.add_parser(
        "dispatch",
        help="send the due commands of the outbox to DR (needs DR_SECRET_KEY)",
    )
    _store_arg(dp)
    wk = sub.add_parser(
        "work",
        help="a worker: apply received inputs and send the outbox, until stopped",
        description="Apply what the store's inbox holds and send due commands (with "
        "DR_SECRET_KEY set), polling for more. Run several on PostgreSQL to share the "
        "work. --until-idle stops when nothing is due.",
    )
    _store_arg(wk)
    wk.add_argument(
        "--model", choices=[m.value for m in IntegrationModel], default="distributed"
    )
    wk.add_argument(
        "--until-idle", action="store_true", help="stop when nothing is due"
    )
    wk.add_argument("--lease", type=float, default=60.0, help="seconds a claim lasts")
    sh = sub.add_parser(
        "show",
        help="an order's state, ledger, inputs and commands",
    )
    _store_arg(sh)
    sh.add_argument("order_id", metavar="ORDER_ID")
    sh.add_argument("--json", action="store_true", help="machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    """Run a service command; its exit status."""
    try:
        store = open_store(args.store)
    except Exception as exc:
        print(
            f"drfulfillment: cannot open the store {store_spec(args.store)!r}: {exc}",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command == "ingest":
            return ingest(
                store, args.file, IntegrationModel(args.model), apply=not args.no_apply
            )
        if args.command == "dispatch":
            return dispatch(store)
        if args.command == "work":
            return work(store, IntegrationModel(args.model), args)
        if args.command == "show":
            return show_order(store, args.order_id, as_json=args.json, out=sys.stdout)
        return serve(store, args)
    finally:
        store.close()


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            yield number, line.rstrip(b"\r\n")


def _progress(done: int, started: float, *, final: bool = False) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    end = "\n" if final else "\r"
    print(
        f"  {done:>10,} lines  {rate:>10,.0f}/s", end=end, file=sys.stderr, flush=True
    )


def ingest(store: Store, path: str, model: IntegrationModel, *, apply: bool) -> int:
    """Receive a JSON Lines file into ``store`` and apply it; 1 if any line is refused."""
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"drfulfillment: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    received = duplicates = bad = 0
    started = time.monotonic()
    with stream:
        for number, line in _lines(stream):
            try:
                doc = json.loads(line)
                event_id = doc["id"]
                kind = doc.get("type") or doc.get("request")
                if not isinstance(event_id, str) or not isinstance(kind, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError, AttributeError):
                print(
                    f"line {number}: not a DR event or request (JSON object with id and type)",
                    file=sys.stderr,
                )
                bad += 1
                continue
            if store.receive(event_id, kind, line):
                received += 1
            else:
                duplicates += 1
            if number % 1000 == 0:
                _progress(number, started)
    print(
        f"received {received}, duplicates {duplicates}, unreadable {bad}",
        file=sys.stderr,
    )
    if not apply:
        return 1 if bad else 0
    worker = Worker(store, model=model)
    applied = 0
    outcomes: dict[str, int] = {}
    while entries := store.next_inputs(500):
        for entry in entries:
            outcome = worker.apply(entry)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            applied += 1
            if applied % 1000 == 0:
                _progress(applied, started)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    print(f"applied {applied}: {summary or 'nothing due'}", file=sys.stderr)
    return 1 if bad or outcomes.get("refused") else 0


def _client(lease: float = 60.0) -> DrApi | None:
    """The DR client, if ``DR_SECRET_KEY`` is set; each send fits in half the lease."""
    if not os.environ.get("DR_SECRET_KEY"):
        return None
    from drfulfillment.adapters.drapi import DrClient

    budget = lease / 2
    timeout = min(float(os.environ.get("DR_TIMEOUT", "10")), budget / 3)
    return DrClient(
        base_url=os.environ.get("DR_BASE_URL", "https://api.digitalriver.com"),
        timeout=timeout,
        send_budget=budget,
    )


def dispatch(store: Store) -> int:
    """Send every due command once; 2 without ``DR_SECRET_KEY``."""
    api = _client()
    if api is None:
        print(
            "drfulfillment: set DR_SECRET_KEY to send commands to DR", file=sys.stderr
        )
        return 2
    worker = Worker(store, api=api)
    total = 0
    while claimed := worker.dispatch_due():
        total += claimed
    counts: dict[str, int] = {}
    for entry in store.outbox():
        counts[entry.status.value] = counts.get(entry.status.value, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"dispatched {total}; outbox: {summary or 'empty'}", file=sys.stderr)
    return 0


def work(store: Store, model: IntegrationModel, args: argparse.Namespace) -> int:
    """Apply and dispatch until interrupted (or, ``--until-idle``, until idle)."""
    api = _client(args.lease)
    if api is None:
        print(
            "drfulfillment: DR_SECRET_KEY is not set: applying only, commands stay in "
            "the outbox",
            file=sys.stderr,
        )
    worker = Worker(store, model=model, api=api, lease_seconds=args.lease)
    if not args.until_idle:
        stop = threading.Event()
        try:
            worker.run(stop)
        except KeyboardInterrupt:
            stop.set()
        return 0
    while worker.apply_pending() or (api is not None and worker.dispatch_due()):
        pass
    return 0


def serve(store: Store, args: argparse.Namespace) -> int:
    """The webhook endpoint and worker threads until interrupted."""
    import uvicorn

    from drfulfillment.adapters.webhook import make_app

    secrets = [s for s in os.environ.get("DR_WEBHOOK_SECRETS", "").split(",") if s]
    if not secrets:
        print(
            "drfulfillment: DR_WEBHOOK_SECRETS is not set: signatures are NOT checked (local testing only)",
            file=sys.stderr,
        )
    api = _client()
    if api is None:
        print(
            "drfulfillment: DR_SECRET_KEY is not set: commands are kept in the outbox, not sent",
            file=sys.stderr,
        )
    stop = threading.Event()
    workers = [
        threading.Thread(
            target=Worker(store, model=IntegrationModel(args.model), api=api).run,
            args=(stop,),
            name=f"drfulfillment-worker-{n}",
            daemon=True,
        )
        for n in range(max(1, args.workers))
    ]
    for thread in workers:
        thread.start()
    print(
        f"drfulfillment: store {store!r}; listening on http://{args.host}:{args.port}/webhooks/digitalriver",
        file=sys.stderr,
    )
    try:
        uvicorn.run(
            make_app(store, secrets=secrets),
            host=args.host,
            port=args.port,
            log_level="warning",
        )
    finally:
        stop.set()
        for thread in workers:
            thread.join(timeout=10)
    return 0


def handles(command: str) -> bool:
    """Whether ``command`` is one of this module's."""
    return command in _COMMANDS
