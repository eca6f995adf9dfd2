"""Benchmark 5: ``drfulfillment replay`` on a generated file, events/s and peak memory.

The file holds the mix (:mod:`benchmarks.mix`) for ``events / 10`` orders, interleaved
by blocks of a thousand orders, written with progress on stderr. The replay runs as a
separate process (its own progress on stderr), as does the baseline: the same file read
and ``json.loads``-ed line by line in a process of its own. Peak memory is each
process's maximum resident set size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.mix import EVENTS_PER_ORDER, order_history
from benchmarks.timing import Row

_BLOCK = 1000

#: Runs a command as its child and prints the child's wall time and peak RSS (KiB).
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "took = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(done.returncode, took, rss)\n"
)
_BASELINE = (
    "import json, sys\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    for line in f:\n"
    "        json.loads(line)\n"
)


def write_mix(path: Path, events: int) -> int:
    """Write about ``events`` inputs to ``path``; how many were written."""
    orders = max(1, events // EVENTS_PER_ORDER)
    written = 0
    started = time.monotonic()
    with path.open("wb") as out:
        for first in range(0, orders, _BLOCK):
            block = [
                order_history(n) for n in range(first, min(orders, first + _BLOCK))
            ]
            for step in range(EVENTS_PER_ORDER):
                for history in block:
                    out.write(json.dumps(history[step], separators=(",", ":")).encode())
                    out.write(b"\n")
                    written += 1
            rate = written / max(time.monotonic() - started, 1e-9)
            print(
                f"\r  generating: {written:>10,} inputs  {rate:>9,.0f}/s",
                end="",
                file=sys.stderr,
                flush=True,
            )
    print(file=sys.stderr)
    return written


def _measure(command: list[str]) -> tuple[float, int]:
    """``(seconds, peak RSS in bytes)`` of ``command`` run in a process of its own."""
    done = subprocess.run(  # stderr passes through: the replay's progress shows
        [sys.executable, "-c", _MEASURE, *command],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    code, took, rss = done.stdout.split()
    if int(code) not in (0, 1):
        msg = f"{command[:4]} exited {code}"
        raise RuntimeError(msg)
    return float(took), int(rss) * 1024


def replay(events: int, workdir: Path) -> Row:
    """Replay ``events`` inputs through the CLI; the baseline parses them only."""
    path = workdir / "replay-mix.jsonl"
    written = write_mix(path, events)
    replay_s, replay_rss = _measure(
        [sys.executable, "-m", "drfulfillment", "replay", "--progress", str(path)]
    )
    parse_s, _ = _measure([sys.executable, "-c", _BASELINE, str(path)])
    rate = written / replay_s
    path.unlink()
    return Row(
        "5. replay",
        f"drfulfillment replay: {rate:,.0f} inputs/s, peak {replay_rss / 1e6:,.0f} MB",
        f"json.loads of each line: {written / parse_s:,.0f} lines/s",
        replay_s / parse_s,
        "1M inputs in < 60 s on one core (aim)",
        replay_s * 1_000_000 / written < 60,
        f"{written:,} inputs in {replay_s:.1f} s",
    )
