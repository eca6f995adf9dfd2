"""``python -m benchmarks [--quick] [--write FILE]``: run every benchmark, print the table.

``--quick`` uses small sizes (the smoke run in ``.ci/run``, so the benchmarks cannot
rot); the default sizes are the ones reported in docs/benchmarks.md. ``--write FILE``
also writes the table with the machine it ran on and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import core, instructions, replay, stores
from benchmarks.timing import Row, table

#: The explanation written under the table (``--write``).
HOW_TO_READ = """## How to read it

- **1. decide only**: decoded inputs applied and commands built, `Engine.handle` against a
  deliberately minimal handler (`benchmarks/floor.py`: a dict transition table, counters on
  frozen `attrs` records, no validation, no waiting). The mix (`benchmarks/mix.py`): orders of
  three lines through acceptance, the fulfillment order, a backorder, a two-line shipment and
  its duplicate delivery, a merchant cancellation and DR's acceptance, a second shipment,
  `order.fulfilled` and `order.complete`.
- **2. end to end**: JSON bytes in, request JSON out, against `json.loads` plus the cattrs
  structuring of the same bytes. The subject reads the bytes as the engine does
  (`parse_input`, through `orjson` where installed), decides, and writes each API call's
  body with `render_request_json`. The structuring is in both, so making it faster raises
  this ratio: it is roughly decide and rendering over parsing, plus one.
- **3. peers**: the same mix with a `transitions.Machine` per record and a
  `python-statemachine` object per record (`benchmarks/peers.py`); the ratio is the peer's
  time over the engine's.
- **4. memory**: bytes held per order after its history (tracemalloc), against the minimal
  handler's records. Inputs are decoded from JSON bytes inside the measured block and
  dropped after use, so what the records keep of them (ids, addresses, amounts) counts.
  Each order ends in `order.complete`, so the engine holds it packed (docs/embedding.md,
  "Memory: settled orders are held packed"); the detail gives what the same orders hold
  as records (`Engine(pack_when=None)`), as an order still in progress does. The floor
  keeps counters only, never packed. The million-order figure is the per-order figure
  times a million.
- **5. replay**: `drfulfillment replay --progress` on a generated file of a million inputs
  (100,000 orders), in a process of its own; peak resident memory of that process.
- **6. stores**: inputs received and applied through the store, against a bare loop writing
  the same rows with the same driver and durability (`benchmarks/stores.py`). The 4-worker
  case uses threads, each with its own connection; workers hold an order while they decide
  for it, so no two decide the same input.

## Where the time goes

`python -m benchmarks.profile` profiles `Engine.handle` on the mix with pyinstrument and
prints each phase's share of its time. Two runs of 500 orders x 20 rounds gave: merging
the input's facts 26.0 / 24.5 %; checking the new state (quantity invariants, every
derived line and fulfillment-order transition against the old state, notifications)
31.7 / 31.5 %; working out what DR is owed 19.3 / 20.1 %; packing settled orders
5.0 / 5.0 %; the rest (routing, deduplication, recording the input as seen) 18.0 /
18.9 %. Across those phases, summing a state's facts took 7.8 / 7.6 % and deriving line
ledgers 7.7 / 6.7 %. `--tree` prints the whole call tree; the changelog lists each
optimisation with its before-and-after figures.

The floor only counts units; the checks are what refuses a bad input before any money
moves. The profile says why the 3x target is out of reach of this engine in Python: the
floor runs about 39k instructions per input, so 3x is about 118k, and merging, working
out what is owed, packing and the rest alone take about 68 % of the engine's time;
taken as the same share of its 353k instructions, about 240k, already about 6x the
floor with every check taken out. An earlier measurement agrees: with the invariant
checks and the old state's ledgers taken out (an unsafe build, made only to measure,
against 395k for the code of the day), the engine still ran 337k instructions per input
(callgrind, 100 orders). A data model of counters kept on the records as
inputs arrive would replace the summing and the deriving, about 15 %: still about 7.6x.
Reaching 3x would mean taking every check out and also halving everything left, or a
compiled core; mypyc cannot compile the domain as it is (it rejects the attrs records'
`attrs.field` class attributes at import). The other missed targets need less, but
still more than any change the profile points to: end to end (timed) needs the engine
at about 25 µs per input instead of 41 (1.6x faster), the peers at about 20 to 23 µs
(about 2x), and the replay aim 39 s less of its 99 s, of which the engine takes about
half (cProfile).

Each state keeps the sums it was checked with (`domain/sums.py`), and the next input for
the order reads them as its old state's instead of summing them again, also when only
its fulfillment orders changed: 382,725 -> 350,577 instructions per input (100 orders),
for about 2.9 KB more per order held as records (packed orders keep none).

The cyclic garbage collector walks every order held as records on each full collection,
so its share grows with the orders in progress. `python -m benchmarks.collector` feeds
the mix to one engine, decoding each input as it arrives, with the collector as Python
sets it, off, and frozen every 5,000 inputs (as the replay does). Off, the time per
input was 0.86x at 500 orders in progress, 0.82x at 10,000 and 0.64x at 50,000; frozen,
0.90x, 0.91x and 0.78x. The engine leaves the collector to the process
(docs/embedding.md).

Packing each order once it settles costs about 20k instructions per input of the mix
(one pack per ten inputs); compressing the packed bytes with `zlib` would have cost 39k.

Timings on a shared machine move with its load. `python -m benchmarks.instructions` counts
instructions per input with callgrind (needs valgrind; about seven minutes), a figure the
load cannot move, for comparing two versions of the code: for benchmark 1, the engine's
and the floor's; for benchmark 2, bytes to request JSON and decoding alone. The full run
adds those counts as the rows "1. decide only (instructions)" and "2. end to end
(instructions)" when valgrind is installed.

Counted and timed, the ratios differ. For end to end, callgrind counts 1.93x (669k
instructions per input against 347k, 200 orders) while the timings give about 2.5x: the
engine's Python runs fewer instructions per nanosecond than parsing, which is mostly C
(`orjson`, `json`, cattrs' generated code calling builtins). So the counts compare two
versions of the engine; the timings are the figures the targets are set in.

Request JSON out is `render_request_json`, which writes the body through `orjson` where it
is installed (the `fast` extra, which `.ci/run` installs), as the HTTP adapter sends it;
`json.dumps` in its place cost about 23k instructions per input of the mix (callgrind, 100
orders: 695k against 673k).
"""


def machine() -> str:
    """What the figures were measured on."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run, print, optionally write."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke sizes")
    parser.add_argument(
        "--write", metavar="FILE", help="also write the Markdown report"
    )
    args = parser.parse_args(argv)
    orders, rounds = (20, 3) if args.quick else (500, 7)
    replay_events = 2_000 if args.quick else 1_000_000
    store_orders = 20 if args.quick else 300
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        steps: list[tuple[str, Callable[[], list[Row]]]] = [
            ("decide only", lambda: [core.decide_only(orders, rounds)]),
            ("end to end", lambda: [core.end_to_end(orders, rounds)]),
            ("peers", lambda: core.peers(orders, rounds)),
            ("memory", lambda: [core.memory(orders * 4)]),
            ("replay", lambda: [replay.replay(replay_events, Path(tmp))]),
            (
                "stores",
                lambda: (
                    stores.sqlite_rows(store_orders)
                    + stores.postgres_rows(store_orders)
                ),
            ),
        ]
        if instructions.available() and not args.quick:
            steps.insert(
                1,
                (
                    "decide only, in instructions (callgrind)",
                    lambda: [instructions.decide_row(200)],
                ),
            )
            steps.insert(
                3,
                (
                    "end to end, in instructions (callgrind)",
                    lambda: [instructions.end_to_end_row(200)],
                ),
            )
        for name, run in steps:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows += run()
    report = table(rows)
    print(report)
    took = time.monotonic() - started
    print(f"\n{machine()}; {took:.0f} s", file=sys.stderr)
    if args.write:
        command = "python -m benchmarks" + (" --quick" if args.quick else "")
        with open(args.write, "w", encoding="utf-8") as out:
            out.write(
                "# Benchmarks\n\n"
                f"Measured with `{command}` on {machine()}, in {took:.0f} s. Every "
                "ratio is the subject over a baseline measured in the same run "
                "(medians of interleaved rounds).\n\n" + report + "\n\n" + HOW_TO_READ
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
