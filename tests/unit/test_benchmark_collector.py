"""``python -m benchmarks.collector``: each mode runs the mix through an engine, and the
collector is left as it was found."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from benchmarks import collector


def test_each_mode_takes_time_and_the_collector_is_restored() -> None:
    assert gc.isenabled()
    medians = collector.per_input(orders=5, rounds=1)
    assert set(medians) == set(collector.MODES)
    assert all(m > 0 for m in medians.values())
    assert gc.isenabled()


def test_freeze_mode_freezes_then_unfreezes(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen: list[int] = []
    freeze = gc.freeze

    def counted() -> None:
        frozen.append(1)
        freeze()

    monkeypatch.setattr(collector, "FREEZE_EVERY", 10)
    monkeypatch.setattr(gc, "freeze", counted)
    collector.per_input(orders=3, rounds=1)  # 30 inputs: three freezes
    assert len(frozen) == 3
    assert gc.get_freeze_count() == 0


def test_the_command_prints_each_mode() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.collector",
            "--orders",
            "5",
            "--rounds",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for mode in collector.MODES:
        assert f"collector {mode}" in done.stdout
