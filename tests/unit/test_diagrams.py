"""The diagrams are drawn from the lifecycles the engine runs on, and committed as made.

* every arrow drawn is a transition the runtime allows, and every transition the runtime
  allows is drawn; the closure of what is drawn is exactly what the runtime can reach;
* initial and final states are marked; states are DR's names;
* ``drfulfillment diagrams`` regenerates the committed ``diagrams/`` byte for byte.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from drfulfillment.cli.main import main
from drfulfillment.diagrams import FORMATS, dot, mermaid, render
from drfulfillment.domain.errors import IllegalTransition
from drfulfillment.domain.lifecycles import LIFECYCLES, Rulebook
from drfulfillment.domain.state import IntegrationModel

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "diagrams"
NAMES = sorted(LIFECYCLES)

_MERMAID_ARROW = re.compile(r"^  (\w+) --> (\w+): (.+)$")
_DOT_ARROW = re.compile(r'^  "(\w+)" -> "(\w+)" \[label="(.+)"\];$')


def drawn_mermaid(name: str) -> set[tuple[str, str, str]]:
    """``(source, trigger, destination)`` of every labelled Mermaid arrow."""
    out = set()
    for line in mermaid(name).splitlines():
        found = _MERMAID_ARROW.match(line)
        if found:
            source, dest, label = found.groups()
            out |= {(source, t, dest) for t in label.split(" / ")}
    return out


def drawn_dot(name: str) -> set[tuple[str, str, str]]:
    """``(source, trigger, destination)`` of every labelled DOT arrow."""
    out = set()
    for line in dot(name).splitlines():
        found = _DOT_ARROW.match(line)
        if found:
            source, dest, label = found.groups()
            out |= {(source, t, dest) for t in label.split("\\n")}
    return out


def allowed(book: Rulebook[Any]) -> set[tuple[str, str, str]]:
    """Every single step the runtime allows: ``(source, trigger, destination)``."""
    out = set()
    for state in book.states:
        for trigger in book.triggers(state):
            for dest in book.states:
                try:
                    book.check(state, dest, subject="x", input_id=None)
                except IllegalTransition:
                    continue
                if (state, trigger, dest) in book.edges():
                    out.add((state.value, trigger, dest.value))
    return out


class TestDrawnIsAllowed:
    """What is drawn and what the runtime allows are the same transitions."""

    @pytest.mark.parametrize("name", NAMES)
    def test_mermaid_and_dot_draw_exactly_the_declared_steps(self, name: str) -> None:
        """Both formats draw every declared step and nothing else."""
        book = LIFECYCLES[name]
        declared = {(s.value, t, d.value) for s, t, d in book.edges()}
        assert drawn_mermaid(name) == declared == drawn_dot(name)
        assert declared == allowed(book)
        assert declared

    @pytest.mark.parametrize("name", NAMES)
    def test_single_steps_are_the_runtime_steps(self, name: str) -> None:
        """Each drawn arrow with one destination is what ``Rulebook.step`` answers."""
        book = LIFECYCLES[name]
        by_value = {s.value: s for s in book.states}
        for source, trigger, dest in drawn_mermaid(name):
            dests = {
                d for s, t, d in drawn_mermaid(name) if (s, t) == (source, trigger)
            }
            if len(dests) == 1:
                step = book.step(by_value[source], trigger, subject="x", input_id=None)
                assert step.value == dest

    @pytest.mark.parametrize("name", NAMES)
    def test_closure_of_drawn_is_runtime_reachability(self, name: str) -> None:
        """A state reaches another on the diagram exactly when the runtime lets it."""
        book = LIFECYCLES[name]
        edges: dict[str, set[str]] = {s.value: set() for s in book.states}
        for source, _, dest in drawn_mermaid(name):
            edges[source].add(dest)
        for start in book.states:
            seen, todo = {start.value}, [start.value]
            while todo:
                for nxt in edges[todo.pop()] - seen:
                    seen.add(nxt)
                    todo.append(nxt)
            assert seen == {s.value for s in book.states if book.can_reach(start, s)}


class TestMarks:
    """Initial and final states are marked; states carry DR's names."""

    @pytest.mark.parametrize("name", NAMES)
    def test_initial_and_finals(self, name: str) -> None:
        """Mermaid: ``[*] -->`` the initial state, finals ``--> [*]``; DOT alike."""
        book = LIFECYCLES[name]
        text, graph = mermaid(name), dot(name)
        assert f"  [*] --> {book.initial.value}\n" in text
        assert f'  "__start__" -> "{book.initial.value}";\n' in graph
        ends = set(re.findall(r"^  (\w+) --> \[\*\]$", text, re.M))
        doubled = set(re.findall(r'^  "(\w+)" \[.*peripheries=2\];$', graph, re.M))
        assert ends == doubled == {s.value for s in book.finals}
        named = set(re.findall(r'^  state "(\w+)" as \1$', text, re.M))
        assert named == {s.value for s in book.states}

    def test_nothing_drawn_as_current(self) -> None:
        """No ``active``/``current`` styling: a lifecycle has no current state."""
        for name in NAMES:
            for text in (mermaid(name), dot(name)):
                assert "active" not in text
                assert "classDef" not in text


class TestCommittedFiles:
    """``diagrams/`` holds exactly what ``drfulfillment diagrams`` writes."""

    def test_text_formats_match_committed(self) -> None:
        """Mermaid, DOT and the index are byte-identical to the committed files."""
        made = render(("mermaid", "dot"))
        for relative, content in made.items():
            if relative == "README.md":
                continue
            assert (COMMITTED / relative).read_bytes() == content, relative

    @pytest.mark.skipif(
        shutil.which("dot") is None,
        reason="Graphviz's dot is not installed (scripts/setup installs it)",
    )
    def test_every_format_matches_committed(self) -> None:
        """With SVG too: every committed file, and no stray one."""
        made = render(FORMATS)
        on_disk = {
            str(p.relative_to(COMMITTED)): p.read_bytes()
            for p in COMMITTED.rglob("*")
            if p.is_file()
        }
        assert set(on_disk) == set(made)
        for relative, content in made.items():
            assert on_disk[relative] == content, relative

    def test_cli_writes_the_files(self, tmp_path: Path) -> None:
        """``diagrams --format mermaid --out DIR``: Mermaid, the flow tables, the index."""
        assert main(["diagrams", "--format", "mermaid", "--out", str(tmp_path)]) == 0
        written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*"))
        assert written == sorted(
            [
                "README.md",
                *(f"lifecycles/{n}.mmd" for n in NAMES),
                *(f"flows/{m.value}.mmd" for m in IntegrationModel),
                *(f"flows/{m.value}.md" for m in IntegrationModel),
            ]
        )
        assert (tmp_path / "lifecycles" / "order.mmd").read_text() == mermaid("order")

    def test_svg_without_graphviz_is_a_usage_error(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """No ``dot`` on the PATH: exit 2, saying how to install it, nothing written."""
        monkeypatch.setattr(shutil, "which", lambda _: None)
        assert main(["diagrams", "--format", "svg", "--out", str(tmp_path)]) == 2
        assert "apt-get install graphviz" in capsys.readouterr().err
        assert not any(tmp_path.iterdir())

    def test_unknown_format_refused(self) -> None:
        """``render`` refuses a format it does not know."""
        with pytest.raises(ValueError, match="png"):
            render(("png",))
