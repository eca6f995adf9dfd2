"""Shared fixtures and hypothesis profiles.

Profiles: ``ci`` (default: quick, derandomised so CI is repeatable) and ``deep``
(``HYPOTHESIS_PROFILE=deep``: many more examples, for a documented local run) and
``mutation`` (few examples: each mutant reruns the tests that reach it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "mutation",
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    # mutmut runs pytest several times in one process: class-based tests then meet
    # new instances of their class, which hypothesis would otherwise flag.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = Path(__file__).parent / "fixtures"
DR_PAYLOADS = FIXTURES / "dr"


def load_payload(name: str) -> dict[str, Any]:
    """A DR-published payload from ``tests/fixtures/dr`` (copied from shared/dr-reference)."""
    data: dict[str, Any] = json.loads((DR_PAYLOADS / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def order_accepted() -> dict[str, Any]:
    """DR's real ``order.accepted`` event (one physical line, quantity 2)."""
    return load_payload("event-order.accepted.json")
