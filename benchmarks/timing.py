"""Timing and the result table: medians of rounds, and ratios to a same-run baseline.

Machines are noisy, so nothing here is an absolute claim: each figure is the median of
several rounds, and each result is the subject's time divided by its baseline's, both
measured in the same run, interleaved round by round.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

import attrs

__all__ = ["Row", "compare", "median_seconds", "table"]


def median_seconds(fn: Callable[[], object], rounds: int) -> float:
    """The median wall time of ``rounds`` calls of ``fn`` (garbage collected between)."""
    times = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def compare(
    subject: Callable[[], object], baseline: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Medians of ``subject`` and ``baseline``, their rounds interleaved (A B A B ...)."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((subject, a), (baseline, b)):
            gc.collect()
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(a), statistics.median(b)


@attrs.frozen
class Row:
    """One line of the table."""

    benchmark: str
    subject: str
    baseline: str
    #: The measured ratio, subject / baseline (lower is better) unless ``higher``.
    ratio: float
    target: str
    met: bool | None
    detail: str


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    out = [
        "| benchmark | subject | baseline | ratio | target | met | detail |",
        "|---|---|---|---:|---|---|---|",
    ]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        out.append(
            f"| {r.benchmark} | {r.subject} | {r.baseline} | {r.ratio:.2f} | "
            f"{r.target} | {met} | {r.detail} |"
        )
    return "\n".join(out)
