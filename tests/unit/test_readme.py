"""The README's embedding example runs and does what it says."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_embedding_example_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's Python block replays the example and prints each DR call."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) == 1
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    monkeypatch.chdir(ROOT)
    runpy.run_path(str(script), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == "CreateFulfillmentOrder /fulfillment-orders fulfillment-order:204440790336"
    )
    assert "CreateFulfillment /fulfillments fulfillment:shipment:29016544906" in lines
    assert (
        lines[-1]
        == "CreateFulfillment /fulfillments fulfillment:cancel:204440790336:127911830336:0+1"
    )


def test_readme_commands_are_what_ci_runs() -> None:
    """.ci/run runs the README's test command, and the README names both set-up scripts."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/demo" in readme
    assert "bash scripts/test" in readme
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
