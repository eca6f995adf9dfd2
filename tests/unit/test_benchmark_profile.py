"""``python -m benchmarks.profile``: each phase of ``Engine.handle`` is found in the profile
(a renamed function would show as 0 %, and this fails), and the shares add up."""

from __future__ import annotations

import subprocess
import sys

import pytest
from benchmarks import profile

pytest.importorskip("pyinstrument")


def test_every_phase_is_found_and_the_shares_add_up() -> None:
    rows, _ = profile.shares(orders=50, rounds=3)
    labels = [label for label, _ in rows]
    assert labels[: len(profile.PHASES)] == [p[0] for p in profile.PHASES]
    by_label = dict(rows)
    for label, _, _ in (*profile.PHASES, *profile.ACROSS):
        assert 0 < by_label[label] < 1, label
    phases = [by_label[p[0]] for p in profile.PHASES]
    rest = by_label["the rest: routing, deduplication, seen ids"]
    assert rest > 0
    assert sum(phases) + rest == pytest.approx(1)


def test_the_command_prints_each_phase() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.profile", "--orders", "20", "--rounds", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    for label, _, _ in (*profile.PHASES, *profile.ACROSS):
        assert label in done.stdout
