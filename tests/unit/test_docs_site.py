"""The docs site's structure: every page in the nav, every generated diagram included.

``mkdocs build --strict`` (in ``scripts/test``) fails on broken links and missing
snippets; these tests keep the pages complete as lifecycles and models are added.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from drfulfillment.domain import IntegrationModel
from drfulfillment.domain.lifecycles import LIFECYCLES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _nav_pages() -> set[str]:
    """Every page file named in ``mkdocs.yml``'s nav."""
    text = (ROOT / "mkdocs.yml").read_text("utf-8")
    # The config uses a python/name tag for Mermaid fences: load only the nav.
    nav_text = text[text.index("nav:") : text.index("theme:")]
    nav = yaml.safe_load(nav_text)["nav"]
    return {page for entry in nav for page in entry.values()}


def test_every_page_is_in_the_nav() -> None:
    """No page is left out of the site's navigation, and the nav names no missing page."""
    assert _nav_pages() == {p.name for p in DOCS.glob("*.md")}


def test_every_lifecycle_is_drawn_on_the_lifecycles_page() -> None:
    """``docs/lifecycles.md`` includes each declared lifecycle's generated Mermaid."""
    text = (DOCS / "lifecycles.md").read_text("utf-8")
    included = set(re.findall(r'--8<-- "diagrams/lifecycles/(\w+)\.mmd"', text))
    assert included == set(LIFECYCLES)


def test_every_model_has_its_generated_table_and_flow() -> None:
    """``docs/models.md`` includes each model's generated table and sequence diagram."""
    text = (DOCS / "models.md").read_text("utf-8")
    for model in IntegrationModel:
        assert f'--8<-- "diagrams/flows/{model.value}.md"' in text
        assert f'--8<-- "diagrams/flows/{model.value}.mmd"' in text
        assert (ROOT / "diagrams" / "flows" / f"{model.value}.md").is_file()


def test_changelog_page_is_the_changelog() -> None:
    """The site's changelog is the repository's CHANGELOG.md, included, not copied."""
    assert (DOCS / "changelog.md").read_text("utf-8").strip() == (
        '--8<-- "CHANGELOG.md"'
    )


def test_readme_links_the_docs_and_diagrams_and_shows_one() -> None:
    """The README points at the site and the diagrams, and draws one inline."""
    text = (ROOT / "README.md").read_text("utf-8")
    assert "mkdocs" in text
    assert "](diagrams/README.md)" in text
    assert "```mermaid" in text
