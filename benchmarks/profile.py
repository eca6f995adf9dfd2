"""Where the engine's time goes on the benchmark mix: a pyinstrument profile, by phase.

``python -m benchmarks.profile [--orders N] [--rounds R] [--tree]`` feeds the decoded
mix (:mod:`benchmarks.mix`) to a fresh ``Engine`` ``R`` times under pyinstrument's
sampling profiler and prints each phase of ``Engine.handle`` as a share of its time:
merging the input's facts, checking the new state (quantity invariants, lifecycles,
notifications), working out what DR is owed, packing settled orders, and the rest
(routing, deduplication, recording the input as seen). Two rows cut across the phases:
summing a state's facts and deriving line ledgers, the work a data model of counters
kept on the records would replace. ``--tree`` also prints pyinstrument's call tree.

A sampling profile has its own noise and overhead, so its shares are a guide to where
to look; ``python -m benchmarks.instructions`` measures a change.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterator

from pyinstrument import Profiler
from pyinstrument.frame import Frame

__all__ = ["PHASES", "Share", "main", "shares"]

#: ``(label, function, file the function is in)``: the phases of ``Engine.handle``.
PHASES = (
    ("merge the input's facts", "_merge", "domain/decide.py"),
    ("check the new state, notify", "_check_and_notify", "domain/decide.py"),
    ("work out what DR is owed", "reconcile", "domain/reconcile.py"),
    ("pack settled orders", "pack", "domain/packing.py"),
)
#: Work inside the phases: what counters kept on the records would replace.
ACROSS = (
    ("  of which: summing a state's facts", "__init__", "domain/sums.py"),
    ("  of which: deriving line ledgers", "_derive", "domain/ledger.py"),
)
_HANDLE = ("handle", "domain/engine.py")

#: ``(label, share of Engine.handle's time)``.
Share = tuple[str, float]


def _walk(frame: Frame, key: tuple[str, str], inside: bool = False) -> Iterator[float]:
    """The time of every outermost frame of ``key``'s function under ``frame``."""
    here = frame.function == key[0] and (frame.file_path or "").endswith(key[1])
    if here and not inside:
        yield frame.time
    for child in frame.children:
        yield from _walk(child, key, inside or here)


def _profile(orders: int, rounds: int) -> Profiler:
    from benchmarks.mix import documents
    from drfulfillment.codecs import parse_input
    from drfulfillment.domain import Engine

    inputs = [parse_input(d) for d in documents(orders)]
    warm = Engine().handle  # the packing codecs are built on first use
    for inp in [parse_input(d) for d in documents(20)]:
        warm(inp)
    gc.collect()
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(rounds):
        handle = Engine().handle
        for inp in inputs:
            handle(inp)
    profiler.stop()
    return profiler


def shares(orders: int = 500, rounds: int = 10) -> tuple[list[Share], Profiler]:
    """Each phase's share of ``Engine.handle``'s time, and the profiler that measured."""
    profiler = _profile(orders, rounds)
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is None:
        msg = "pyinstrument took no samples: too few orders or rounds"
        raise RuntimeError(msg)
    total = sum(_walk(root, _HANDLE))

    def share(function: str, path: str) -> float:
        return sum(_walk(root, (function, path))) / total

    rows = [(label, share(function, path)) for label, function, path in PHASES]
    rows.append(
        ("the rest: routing, deduplication, seen ids", 1 - sum(s for _, s in rows))
    )
    rows += [(label, share(function, path)) for label, function, path in ACROSS]
    return rows, profiler


def main(argv: list[str] | None = None) -> int:
    """Print each phase's share of ``Engine.handle`` on the mix."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tree", action="store_true", help="also print the call tree")
    args = parser.parse_args(argv)
    rows, profiler = shares(args.orders, args.rounds)
    print(f"Engine.handle on the mix, {args.orders:,} orders x {args.rounds} rounds:")
    for label, share in rows:
        print(f"  {label:<45} {share * 100:5.1f} %")
    if args.tree:
        print(profiler.output_text(unicode=False, color=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
