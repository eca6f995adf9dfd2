"""What the cyclic garbage collector costs an engine holding many orders in progress.

``python -m benchmarks.collector [--orders N] [--rounds R]`` feeds the mix
(:mod:`benchmarks.mix`, orders interleaved step by step, so all ``N`` are in progress
at once) to one ``Engine``, decoding each input from its JSON bytes as it arrives, three
ways in interleaved rounds: with the collector as Python sets it, with it off, and with
``gc.freeze()`` every 5,000 inputs (what ``drfulfillment replay`` does). It prints the
median time per input of each, and each over the collector's default.

Each order held as records is a few dozen objects that every full collection walks
again, so the collector's share grows with the orders held. The engine never changes
the collector itself: it is the process's setting (docs/embedding.md).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

__all__ = ["FREEZE_EVERY", "MODES", "main", "per_input"]

#: Inputs between two ``gc.freeze()`` calls in the ``freeze`` mode.
FREEZE_EVERY = 5_000
MODES = ("default", "off", "freeze")


def _run(mode: str, lines: list[bytes]) -> float:
    from drfulfillment.codecs import parse_input
    from drfulfillment.domain import Engine

    gc.collect()
    if mode == "off":
        gc.disable()
    handle = Engine().handle
    try:
        started = time.perf_counter()
        for count, body in enumerate(lines, start=1):
            handle(parse_input(body))
            if mode == "freeze" and count % FREEZE_EVERY == 0:
                gc.freeze()
        return time.perf_counter() - started
    finally:
        gc.enable()
        gc.unfreeze()


def per_input(orders: int, rounds: int) -> dict[str, float]:
    """Median seconds per input of each mode, rounds interleaved."""
    from benchmarks.mix import lines_of

    lines = lines_of(orders)
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(rounds):
        for mode in MODES:
            times[mode].append(_run(mode, lines))
    return {mode: statistics.median(t) / len(lines) for mode, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    """Print each mode's time per input and its ratio to the default."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.collector")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    medians = per_input(args.orders, args.rounds)
    print(f"{args.orders:,} orders in progress in one Engine, {args.rounds} rounds:")
    for mode in MODES:
        ratio = medians[mode] / medians["default"]
        print(
            f"  collector {mode:<8} {medians[mode] * 1e6:7.1f} µs/input  {ratio:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
