"""``python -m benchmarks.instructions``: each callgrind run does its work, and the counts
are taken apart per input (the runs themselves need valgrind and take minutes)."""

from __future__ import annotations

import subprocess

import pytest
from benchmarks import instructions
from benchmarks.mix import EVENTS_PER_ORDER


@pytest.mark.parametrize("mode", instructions.MODES)
def test_each_run_says_it_ran(mode: str) -> None:
    """What ``_count`` runs under callgrind: without valgrind here, only that it ran."""
    done = subprocess.run(
        instructions.run_command(mode, 1),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == f"instructions: ran {mode}"


def test_counts_less_the_base_per_input(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {"decode": 1_000, "engine": 41_000, "floor": 5_000}
    monkeypatch.setattr(instructions, "_count", lambda mode, orders: counts[mode])
    inputs = 2 * EVENTS_PER_ORDER
    assert instructions.per_input(2) == (40_000 / inputs, 4_000 / inputs)
    row = instructions.decide_row(2)
    assert row.ratio == 10
    assert row.met is False
