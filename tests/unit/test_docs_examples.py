"""Every Python example in docs/*.md runs, in order, as one script per page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from drfulfillment.codecs import parse_input
from drfulfillment.codecs.json import camel
from drfulfillment.codecs.report import reconciliation_json
from drfulfillment.domain import (
    CaptureLink,
    ChargeBalance,
    IntegrationModel,
    LineBalance,
    OrderState,
    reconciliation,
)

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    p for p in (ROOT / "docs").glob("*.md") if "```python" in p.read_text("utf-8")
)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The page's Python blocks, run top to bottom, raise nothing."""
    blocks = re.findall(r"```python\n(.*?)```", page.read_text("utf-8"), re.S)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
    assert capsys.readouterr().out  # the examples print what they show


def test_kit_page_is_covered() -> None:
    """The testing-kit page is among the executed pages."""
    assert ROOT / "docs" / "testing-kit.md" in PAGES


def _json_values(page: Path) -> list[object]:
    """Every JSON value in the page's ```json blocks, in order."""
    decoder = json.JSONDecoder()
    values: list[object] = []
    for block in re.findall(r"```json\n(.*?)```", page.read_text("utf-8"), re.S):
        at = 0
        while block[at:].strip():
            at += len(block[at:]) - len(block[at:].lstrip())
            value, at = decoder.raw_decode(block, at)
            values.append(value)
    return values


def test_replay_format_requests_parse() -> None:
    """Each merchant request shown in docs/replay-format.md is one the codec accepts."""
    shown = [
        v
        for v in _json_values(ROOT / "docs" / "replay-format.md")
        if isinstance(v, dict) and "request" in v
    ]
    kinds = [v["request"] for v in shown]
    assert kinds == [
        "request_cancellation",
        "report_shipment",
        "report_cancellation",
        "request_return",
        "accept_return",
    ]
    for value in shown:
        assert parse_input(value) is not None


def test_replay_format_report_has_the_report_fields() -> None:
    """The report shown in docs/replay-format.md has exactly the fields written."""
    (shown,) = [
        v
        for v in _json_values(ROOT / "docs" / "replay-format.md")
        if isinstance(v, dict) and "orderId" in v and "lines" in v
    ]
    assert isinstance(shown, dict)
    real = reconciliation_json(
        reconciliation(OrderState(order_id="1", model=IntegrationModel.DISTRIBUTED))
    )
    assert set(shown) == set(real)
    assert {camel(f) for f in LineBalance.__annotations__} == set(shown["lines"][0])
    assert {camel(f) for f in ChargeBalance.__annotations__} | {"settled"} == set(
        shown["charges"][0]
    )
    assert {camel(f) for f in CaptureLink.__annotations__} == set(shown["captures"][0])
