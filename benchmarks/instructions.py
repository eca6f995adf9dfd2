"""Instructions per input, counted by callgrind: a figure the machine's load cannot move.

``python -m benchmarks.instructions [--orders N]`` runs this module under ``valgrind
--tool=callgrind`` three times on the benchmark mix: once decoding the inputs only, once
also feeding them to ``Engine.handle``, once to the floor (``benchmarks/floor.py``). The
differences, over the number of inputs, are the engine's and the floor's instructions per
input. Three more runs do the same for benchmark 2: the JSON bytes read only, then taken
to request JSON (decode, ``Engine.handle``, render), then decoded alone (``json.loads``
and cattrs). Timings on a shared machine move with its load; these counts do not (the same
total twice, seen with the other core busy), so they compare two versions of the code
fairly. Needs ``valgrind`` on the PATH; each run takes about a minute.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.mix import EVENTS_PER_ORDER
from benchmarks.timing import Row

_COLLECTED = re.compile(r"Collected : (\d+)")
#: The runs of benchmark 2: bytes read only, bytes to request JSON, decoding alone.
_BYTES_MODES = ("bytes", "e2e", "parse")
_RAN = "instructions: ran "
#: Every run: decoding only, the engine, the floor, and benchmark 2's runs.
MODES = ("decode", "engine", "floor", *_BYTES_MODES)


def _feed(mode: str, orders: int) -> None:
    """What one callgrind run executes: decode, then feed ``mode``'s handler."""
    from benchmarks.floor import Floor
    from benchmarks.mix import documents
    from drfulfillment.codecs import parse_input
    from drfulfillment.domain import Engine
    from drfulfillment.domain.inputs import Input

    inputs = [parse_input(d) for d in documents(orders)]
    warm = [parse_input(d) for d in documents(20)]
    for handler in (Engine().handle, Floor().handle):
        for inp in warm:
            handler(inp)
    # What the warm-up and decoding left is set aside from the collector, so that when
    # a full collection falls (it depends on everything allocated before) does not move
    # the counts; the handlers' own objects are still collected as they go.
    gc.collect()
    gc.freeze()
    handle: Callable[[Input], object]
    if mode == "engine":
        handle = Engine().handle
    elif mode == "floor":
        handle = Floor().handle
    else:
        return
    for inp in inputs:
        handle(inp)


def _feed_bytes(mode: str, orders: int) -> None:
    """Benchmark 2's callgrind run: JSON bytes to request JSON, or decoding alone."""
    from benchmarks.core import _engine_end_to_end, _parse_floor
    from benchmarks.mix import lines_of

    lines = lines_of(orders)
    warm = lines_of(20)
    _engine_end_to_end(warm)
    _parse_floor(warm)
    gc.collect()
    gc.freeze()
    if mode == "e2e":
        _engine_end_to_end(lines)
    elif mode == "parse":
        _parse_floor(lines)


def run_command(mode: str, orders: int) -> list[str]:
    """The command of one run: what ``_count`` runs under callgrind."""
    return [
        sys.executable,
        "-m",
        "benchmarks.instructions",
        "--run",
        mode,
        "--orders",
        str(orders),
    ]


def _count(mode: str, orders: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                *run_command(mode, orders),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    if f"{_RAN}{mode}" not in run.stdout:
        raise RuntimeError(f"the {mode} run did not run:\n{run.stdout[-2000:]}")
    found = _COLLECTED.search(run.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    """Count, print one line per subject."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__
    )
    parser.add_argument("--orders", type=int, default=200, help="orders in the mix")
    parser.add_argument(
        "--run",
        choices=MODES,
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.run:
        (_feed_bytes if args.run in _BYTES_MODES else _feed)(args.run, args.orders)
        print(f"{_RAN}{args.run}")  # what _count checks: the run did its work
        return 0
    if not available():
        print(
            "valgrind is not installed (Debian: apt-get install valgrind)",
            file=sys.stderr,
        )
        return 2
    inputs = args.orders * EVENTS_PER_ORDER
    engine, floor = per_input(args.orders)
    e2e, parse = end_to_end_per_input(args.orders)
    for name, per in (
        ("Engine.handle", engine),
        ("minimal dict handler", floor),
        ("bytes -> calls (end to end)", e2e),
        ("json.loads + cattrs", parse),
    ):
        print(f"{name}: {per:,.0f} instructions/input ({inputs:,} inputs)")
    print(f"decide only: {engine / floor:.2f}x; end to end: {e2e / parse:.2f}x")
    return 0


def per_input(orders: int) -> tuple[float, float]:
    """``(engine, floor)`` instructions per input on ``orders`` orders of the mix."""
    return _over("decode", ("engine", "floor"), orders)


def end_to_end_per_input(orders: int) -> tuple[float, float]:
    """``(end to end, decoding alone)`` instructions per input (benchmark 2)."""
    return _over("bytes", ("e2e", "parse"), orders)


def _over(base: str, runs: tuple[str, str], orders: int) -> tuple[float, float]:
    """Each of ``runs``' counts less ``base``'s, per input of ``orders`` orders."""
    inputs = orders * EVENTS_PER_ORDER
    start = _count(base, orders)
    first, second = ((_count(run, orders) - start) / inputs for run in runs)
    return first, second


def available() -> bool:
    """Whether valgrind is on the PATH."""
    return shutil.which("valgrind") is not None


def _row(
    name: str,
    subject: tuple[str, float],
    baseline: tuple[str, float],
    most: float,
    orders: int,
) -> Row:
    """A table row of two counts: ``(label, instructions per input)`` each."""
    ratio = subject[1] / baseline[1]
    return Row(
        name,
        f"{subject[0]}: {subject[1]:,.0f} instructions/input",
        f"{baseline[0]}: {baseline[1]:,.0f} instructions/input",
        ratio,
        f"≤ {most:g}x",
        ratio <= most,
        f"callgrind, {orders * EVENTS_PER_ORDER:,} inputs; load-independent",
    )


def decide_row(orders: int) -> Row:
    """Benchmark 1 counted in instructions: the engine's over the floor's."""
    engine, floor = per_input(orders)
    return _row(
        "1. decide only (instructions)",
        ("Engine.handle", engine),
        ("minimal dict handler", floor),
        3,
        orders,
    )


def end_to_end_row(orders: int) -> Row:
    """Benchmark 2 counted in instructions: bytes to calls over decoding alone."""
    e2e, parse = end_to_end_per_input(orders)
    return _row(
        "2. end to end (instructions)",
        ("bytes → calls", e2e),
        ("json.loads + cattrs", parse),
        2,
        orders,
    )


if __name__ == "__main__":
    sys.exit(main())
