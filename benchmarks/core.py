"""Benchmarks 1-4: decide only, end to end, peers, memory per order.

Each returns table rows: the subject's median time (or bytes) over its baseline's,
both measured in this run on the same mix (:mod:`benchmarks.mix`).
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable
from typing import Any, get_args

from benchmarks.floor import Floor
from benchmarks.mix import EVENTS_PER_ORDER, documents, lines_of
from benchmarks.peers import StatemachinePeer, TransitionsPeer
from benchmarks.timing import Row, compare
from drfulfillment.codecs import parse_input, render_request_json
from drfulfillment.codecs.events import ORDER_EVENT_TYPES  # noqa: F401 - warms the codec
from drfulfillment.codecs.json import make_converter
from drfulfillment.domain import Engine
from drfulfillment.domain.commands import ApiCommand
from drfulfillment.domain.inputs import Input

_API = get_args(ApiCommand)


def _feed(handler: Callable[[Input], Any], inputs: list[Input]) -> None:
    for inp in inputs:
        handler(inp)


def decide_only(orders: int, rounds: int) -> Row:
    """Decoded inputs applied and commands built: the engine against the floor."""
    inputs = [parse_input(d) for d in documents(orders)]
    engine_s, floor_s = compare(
        lambda: _feed(Engine().handle, inputs),
        lambda: _feed(Floor().handle, inputs),
        rounds,
    )
    ratio = engine_s / floor_s
    per = len(inputs)
    return Row(
        "1. decide only",
        f"Engine.handle: {engine_s / per * 1e6:.1f} µs/input",
        f"minimal dict handler: {floor_s / per * 1e6:.1f} µs/input",
        ratio,
        "≤ 3x",
        ratio <= 3,
        f"{per:,} inputs, {orders:,} orders",
    )


def _engine_end_to_end(lines: list[bytes]) -> None:
    engine = Engine()
    for body in lines:
        for command in engine.handle(parse_input(body)).commands:
            if isinstance(command, _API):
                render_request_json(command)


def _parse_floor(lines: list[bytes]) -> None:
    """What no engine can avoid: ``json.loads`` and cattrs structuring of each body."""
    for body in lines:
        parse_input(json.loads(body))


def end_to_end(orders: int, rounds: int) -> Row:
    """JSON bytes in, request JSON out, against decoding alone."""
    make_converter()
    lines = lines_of(orders)
    subject_s, base_s = compare(
        lambda: _engine_end_to_end(lines), lambda: _parse_floor(lines), rounds
    )
    ratio = subject_s / base_s
    per = len(lines)
    return Row(
        "2. end to end",
        f"bytes → calls: {subject_s / per * 1e6:.1f} µs/input",
        f"json.loads + cattrs: {base_s / per * 1e6:.1f} µs/input",
        ratio,
        "≤ 2x",
        ratio <= 2,
        f"{per:,} inputs",
    )


def peers(orders: int, rounds: int) -> list[Row]:
    """The engine against a state machine per record (transitions, python-statemachine)."""
    inputs = [parse_input(d) for d in documents(orders)]
    rows = []
    for name, peer in (
        ("transitions.Machine per record", TransitionsPeer),
        ("python-statemachine per record", StatemachinePeer),
    ):
        engine_s, peer_s = compare(
            lambda: _feed(Engine().handle, inputs),
            lambda p=peer: _feed(p().handle, inputs),  # type: ignore[misc]
            rounds,
        )
        speedup = peer_s / engine_s
        rows.append(
            Row(
                "3. peers",
                f"Engine.handle: {engine_s / len(inputs) * 1e6:.1f} µs/input",
                f"{name}: {peer_s / len(inputs) * 1e6:.1f} µs/input",
                speedup,
                "≥ 10x faster (ratio = peer / engine)",
                speedup >= 10,
                f"{len(inputs):,} inputs",
            )
        )
    return rows


def _held(build: Callable[[], object]) -> tuple[int, object]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


def memory(orders: int) -> Row:
    """Bytes held per order after its whole history, against the floor's records.

    Inputs are decoded from JSON bytes inside the measured block and dropped after
    use, as a replay or a webhook handler does: what the records keep of them (ids,
    addresses, amounts) counts, and nothing else does. The engine holds each settled
    order packed (``drfulfillment.domain.packing``); the detail also gives what the
    same orders hold as records (``Engine(pack_when=None)``), as an order still in
    progress does.
    """
    lines = lines_of(orders)

    def engine(pack: bool) -> Callable[[], object]:
        def build() -> object:
            e = Engine() if pack else Engine(pack_when=None)
            for body in lines:
                e.handle(parse_input(body))
            return e

        return build

    def floor() -> object:
        f = Floor()
        for body in lines:
            f.handle(parse_input(body))
        return f

    engine_b, _ = _held(engine(True))
    records_b, _ = _held(engine(False))
    floor_b, _ = _held(floor)
    per, per_floor = engine_b / orders, floor_b / orders
    million_gb = per * 1_000_000 / 1e9
    return Row(
        "4. memory",
        f"Engine: {per:,.0f} B/order (1M orders: {million_gb:.1f} GB)",
        f"minimal records: {per_floor:,.0f} B/order",
        per / per_floor,
        "≤ 2 KB/order; 1M orders in 2 GB",
        per <= 2048 and million_gb <= 2,
        f"{orders:,} orders x 3 lines, {EVENTS_PER_ORDER} inputs each; settled orders"
        f" packed (as records: {records_b / orders:,.0f} B/order)",
    )
