"""Architecture tests: the domain is pure, the package imports light, modules stay small."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import drfulfillment

SRC = Path(__file__).parents[1] / "src"
PACKAGE = SRC / "drfulfillment"
DOMAIN = PACKAGE / "domain"
CODECS = PACKAGE / "codecs"

#: Top-level modules the domain may import: pure stdlib, attrs, transitions (and itself).
#: ``pickle`` and ``io`` pack settled orders in memory (:mod:`.packing`): computation only.
ALLOWED_IN_DOMAIN = frozenset(
    {
        "__future__",
        "abc",
        "bisect",
        "collections",
        "dataclasses",
        "decimal",
        "enum",
        "fractions",
        "functools",
        "io",
        "itertools",
        "math",
        "numbers",
        "operator",
        "pickle",
        "re",
        "types",
        "typing",
        "attr",
        "attrs",
        "transitions",
    }
)

#: Named explicitly so that widening the allowed set cannot let these in.
FORBIDDEN_IN_DOMAIN = frozenset(
    {
        "cattrs",
        "sqlite3",
        "socket",
        "http",
        "os",
        "time",
        "datetime",
        "random",
        "uuid",
        "drfulfillment.codecs",
        "drfulfillment.adapters",
        "drfulfillment.cli",
    }
)

#: Modules that ``import drfulfillment`` must not load.
HEAVY = (
    "cattrs",
    "sqlite3",
    "_sqlite3",
    "httpx",
    "psycopg",
    "socket",
    "_socket",
    "ssl",
    "http.client",
    "urllib.request",
    "asyncio",
    "drfulfillment.codecs",
    "drfulfillment.adapters",
    "drfulfillment.cli",
)

MAX_NON_BLANK_LINES = 400


def module_name(path: Path) -> str:
    """The dotted module name of a file under ``src``."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, relative imports resolved against ``module``.

    ``from x import y`` yields both ``x`` and ``x.y`` (``y`` may be a submodule);
    a call of ``__import__`` or ``importlib.import_module`` yields ``<dynamic>``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - node.level + 1]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in {"__import__", "import_module"}:
                found.add("<dynamic>")
    return found


def imports_in(directory: Path) -> dict[str, set[str]]:
    """``module -> imports`` for every module under ``directory``."""
    return {
        module_name(path): imports_of(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
        for path in sorted(directory.rglob("*.py"))
    }


def _is_under(name: str, prefixes: frozenset[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def domain_offences(imports: dict[str, set[str]]) -> list[str]:
    """``module: import`` for each import the domain may not make."""
    offences = []
    for module, names in sorted(imports.items()):
        for name in sorted(names):
            if name == "drfulfillment" or name.startswith("drfulfillment."):
                ok = _is_under(name, frozenset({"drfulfillment.domain"}))
            else:
                ok = name.split(".")[0] in ALLOWED_IN_DOMAIN
            if not ok or _is_under(name, FORBIDDEN_IN_DOMAIN):
                offences.append(f"{module}: {name}")
    return offences


class TestImportScanner:
    """The scanner itself sees what it must, so a clean result means something."""

    def test_sees_plain_relative_and_dynamic_imports(self) -> None:
        """Plain, ``from``, relative and dynamic imports are all reported."""
        source = (
            "import os.path\n"
            "from datetime import datetime\n"
            "from .. import codecs\n"
            "from ..codecs.json import make_converter\n"
            "from . import state\n"
            "def f():\n"
            "    import socket\n"
            "    return __import__('sqlite3')\n"
        )
        assert imports_of(source, "drfulfillment.domain.ledger") == {
            "os.path",
            "datetime",
            "datetime.datetime",
            "drfulfillment",
            "drfulfillment.codecs",
            "drfulfillment.codecs.json",
            "drfulfillment.codecs.json.make_converter",
            "drfulfillment.domain",
            "drfulfillment.domain.state",
            "socket",
            "<dynamic>",
        }

    def test_relative_import_in_package_init(self) -> None:
        """In an ``__init__`` a single dot is the package itself."""
        found = imports_of(
            "from .order import ORDER\n",
            "drfulfillment.domain.lifecycles",
            is_package=True,
        )
        assert found == {
            "drfulfillment.domain.lifecycles.order",
            "drfulfillment.domain.lifecycles.order.ORDER",
        }

    def test_offences_flag_each_forbidden_kind(self) -> None:
        """Each forbidden import is an offence; allowed ones are not."""
        imports = {
            "drfulfillment.domain.x": {
                "cattrs",
                "os",
                "time",
                "uuid",
                "http.client",
                "random",
                "datetime",
                "drfulfillment.adapters.sqlite",
                "drfulfillment.cli.main",
                "drfulfillment.codecs",
                "typing",
                "typing.Final",
                "collections.abc",
                "attrs",
                "transitions",
                "drfulfillment.domain.state",
                "drfulfillment",
                "<dynamic>",
            }
        }
        assert domain_offences(imports) == [
            "drfulfillment.domain.x: <dynamic>",
            "drfulfillment.domain.x: cattrs",
            "drfulfillment.domain.x: datetime",
            "drfulfillment.domain.x: drfulfillment",
            "drfulfillment.domain.x: drfulfillment.adapters.sqlite",
            "drfulfillment.domain.x: drfulfillment.cli.main",
            "drfulfillment.domain.x: drfulfillment.codecs",
            "drfulfillment.domain.x: http.client",
            "drfulfillment.domain.x: os",
            "drfulfillment.domain.x: random",
            "drfulfillment.domain.x: time",
            "drfulfillment.domain.x: uuid",
        ]


class TestLayering:
    """Which package may import which."""

    def test_domain_imports_only_pure_modules(self) -> None:
        """The domain imports only the pure stdlib, attrs, transitions and itself."""
        imports = imports_in(DOMAIN)
        assert "drfulfillment.domain.decide" in imports
        assert domain_offences(imports) == []

    def test_domain_scan_covers_every_module(self) -> None:
        """The scan sees every domain module, lifecycles included."""
        assert set(imports_in(DOMAIN)) >= {
            "drfulfillment.domain",
            "drfulfillment.domain.decide",
            "drfulfillment.domain.ledger",
            "drfulfillment.domain.lifecycles",
            "drfulfillment.domain.lifecycles._rulebook",
            "drfulfillment.domain.lifecycles.order",
        }

    def test_codecs_import_no_adapters_or_cli(self) -> None:
        """Codecs translate JSON; they never reach into adapters or the CLI."""
        offences = [
            f"{module}: {name}"
            for module, names in sorted(imports_in(CODECS).items())
            for name in sorted(names)
            if _is_under(
                name, frozenset({"drfulfillment.adapters", "drfulfillment.cli"})
            )
            or name == "<dynamic>"
        ]
        assert offences == []

    def test_import_package_loads_nothing_heavy(self) -> None:
        """``import drfulfillment`` in a fresh interpreter loads no driver or socket."""
        code = (
            "import sys\nimport drfulfillment\nprint('\\n'.join(sorted(sys.modules)))\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
        result = subprocess.run(
            [sys.executable, "-I", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        loaded = set(result.stdout.split())
        assert "drfulfillment.domain" in loaded
        assert sorted(m for m in HEAVY if m in loaded) == []


class TestPublicSurface:
    """The top-level package's exports."""

    def test_all_sorted_unique_and_defined(self) -> None:
        """``__all__`` is sorted, has no duplicates, and every name exists."""
        names = list(drfulfillment.__all__)
        assert names == sorted(names)
        assert len(set(names)) == len(names)
        assert [n for n in names if not hasattr(drfulfillment, n)] == []

    def test_version_exported(self) -> None:
        """The version is exported and matches the project metadata."""
        assert drfulfillment.__version__ == "0.1.0"

    def test_py_typed_marker(self) -> None:
        """The PEP 561 marker ships in the package."""
        assert (PACKAGE / "py.typed").is_file()


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


class TestModuleHygiene:
    """Every module explains itself and stays small."""

    def test_there_are_modules(self) -> None:
        """The scan below finds the package's modules."""
        names = {module_name(p) for p in _modules()}
        assert {
            "drfulfillment",
            "drfulfillment.domain.decide",
            "drfulfillment.cli.main",
        } <= names

    @pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
    def test_module_has_docstring(self, path: Path) -> None:
        """Each module under ``src`` starts with a non-empty docstring."""
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc is not None
        assert doc.strip() != ""

    @pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
    def test_module_under_line_budget(self, path: Path) -> None:
        """Each module has fewer than 400 non-blank lines."""
        lines = path.read_text(encoding="utf-8").splitlines()
        assert sum(1 for line in lines if line.strip()) < MAX_NON_BLANK_LINES
