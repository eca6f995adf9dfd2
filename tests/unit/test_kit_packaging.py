"""The kit is an extra: the engine never imports hypothesis; the kit ships its data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import drfulfillment.testing

ROOT = Path(__file__).resolve().parents[2]


def test_engine_import_does_not_load_hypothesis() -> None:
    """``import drfulfillment`` (and its codecs) leaves hypothesis unloaded."""
    code = (
        "import sys, drfulfillment, drfulfillment.codecs, drfulfillment.cli.main;"
        "print('hypothesis' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_kit_template_is_package_data() -> None:
    """The order template lives inside the package, not in tests/."""
    template = Path(drfulfillment.testing.__file__).parent / "data" / "order.json"
    assert template.is_file()
    assert ROOT / "tests" not in template.parents


def test_testing_extra_declared() -> None:
    """pyproject declares the ``testing`` extra with hypothesis."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'testing = ["hypothesis' in text
