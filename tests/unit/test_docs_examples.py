"""Every Python example in docs/*.md runs, in order, as one script per page."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from drfulfillment.cli.main import main
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

#: A Python block, optionally followed by the output it prints:
#: ``<!-- output -->`` then a ```text block.
_BLOCK = re.compile(
    r"```python\n(?P<code>.*?)```\n(?:\s*<!-- output -->\n```text\n(?P<out>.*?)```)?",
    re.S,
)


def examples(page: Path) -> list[tuple[str, str | None]]:
    """``(code, expected output or None)`` of each Python block of ``page``."""
    return [(m["code"], m["out"]) for m in _BLOCK.finditer(page.read_text("utf-8"))]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(
    page: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's Python blocks, run top to bottom from the repository root, raise
    nothing, and each prints exactly the output the page shows under it."""
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    printed = []
    for number, (code, expected) in enumerate(examples(page), 1):
        exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
        out = capsys.readouterr().out
        printed.append(out)
        if expected is not None:
            assert out == expected, f"{page.name} block {number}"
    assert "".join(printed)  # the examples print what they show


def test_output_blocks_are_checked() -> None:
    """Every ``<!-- output -->`` marker follows a Python block (none is left unchecked)."""
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text("utf-8")
        checked = sum(out is not None for _, out in examples(page))
        assert text.count("<!-- output -->") == checked, page.name


#: A shell session of the docs: ``$ drfulfillment ...`` lines and what they print.
_CONSOLE = re.compile(r"```console\n(.*?)```", re.S)


def sessions(page: Path) -> list[tuple[str, str]]:
    """``(command line, expected output)`` of each ``$ drfulfillment`` line of ``page``."""
    found: list[tuple[str, str]] = []
    for block in _CONSOLE.findall(page.read_text("utf-8")):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command, output))
    return found


CONSOLE_PAGES = [p for p in sorted((ROOT / "docs").glob("*.md")) if sessions(p)]


@pytest.mark.parametrize("page", CONSOLE_PAGES, ids=[p.name for p in CONSOLE_PAGES])
def test_console_sessions_print_what_they_show(
    page: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Each ``$ drfulfillment ...`` line of the page, run in order, in-process, from the
    repository root, prints exactly the lines under it: stdout, or stderr when stdout
    goes to ``/dev/null``. The page's commands share one fresh default store."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DRFULFILLMENT_STORE", str(tmp_path / "docs.sqlite3"))
    monkeypatch.delenv("DR_SECRET_KEY", raising=False)
    for command, expected in sessions(page):
        argv = shlex.split(command)
        assert argv[0] == "drfulfillment"
        stream = "out"
        if argv[-1] == ">/dev/null":
            argv, stream = argv[:-1], "err"
        main(argv[1:])
        captured = capsys.readouterr()
        shown = captured.out if stream == "out" else captured.err
        assert shown == expected, command


def test_cli_page_sessions_are_run() -> None:
    """The command-line page shows sessions, and they are among those run."""
    assert ROOT / "docs" / "cli.md" in CONSOLE_PAGES


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
