"""Every Python example in docs/*.md runs, in order, as one script per page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
