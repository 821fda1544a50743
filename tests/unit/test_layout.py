"""The layout is the design: packages in layers, each used through its face, small modules, tests named after them.

docs/design.md ("Where the code is") draws the same map; these checks keep the code to it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "chalicelib"
# Who may import whom: a package imports only those below it (core, the toolbox, imports no package).
MAY_IMPORT = {
    "core": set(),
    "storage": {"core"},
    "limits": {"storage", "core"},
    "counts": {"storage", "core"},
    "channels": {"storage", "core"},
    "sending": {"channels", "storage", "core"},
    "broadcast": {"realtime", "sending", "channels", "counts", "storage", "core"},
    "inbox": {"broadcast", "counts", "storage", "core"},
    "realtime": {"limits", "counts", "storage", "core"},
    "audience": {"broadcast", "sending", "channels", "storage", "core"},
    "api": {"audience", "broadcast", "sending", "inbox", "channels", "counts", "limits", "storage", "core"},
}
MAX_MODULE_LINES = 250
MAX_MODULES_PER_FOLDER = 12


def _modules() -> list[Path]:
    return sorted(path for path in LIB.rglob("*.py") if path.name != "__init__.py")


def _imports(path: Path) -> list[str]:
    """Every chalicelib module or package a file imports, dotted (``from chalicelib import x`` gives ``chalicelib.x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "chalicelib":
            if node.module == "chalicelib":
                found += [f"chalicelib.{alias.name}" for alias in node.names]
            else:
                found.append(node.module)
    return found


def _package(path: Path) -> str | None:
    parts = path.relative_to(LIB).parts
    return parts[0] if len(parts) > 1 else None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_a_package_imports_only_the_packages_below_it_and_never_the_composition_root(path: Path) -> None:
    own = _package(path)
    if own is None:
        return  # service.py, the composition root, wires them all
    for name in _imports(path):
        target = name.split(".")[1]
        assert target == own or target in MAY_IMPORT[own], f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("path", [*_modules(), ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_outside_a_package_only_its_face_is_imported(path: Path) -> None:
    """``from chalicelib.inbox import list_messages``, never ``chalicelib.inbox.queries``; core's face is its modules."""
    own = _package(path) if path.is_relative_to(LIB) else None
    for name in _imports(path):
        parts = name.split(".")
        if len(parts) > 2 and parts[1] not in (own, "core"):
            raise AssertionError(f"{path.relative_to(ROOT)} reaches into {name}")


def test_no_chalicelib_module_imports_the_composition_root() -> None:
    """app.py wires the handlers to it (and the local stand-in for Lambda warms it): the code it builds never asks for it."""
    assert [p for p in _modules() if "chalicelib.service" in _imports(p)] == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_every_module_is_small_and_has_a_test_named_after_it(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
    named = list((ROOT / "tests").rglob(f"test_{path.stem}.py"))
    package = _package(path)
    assert any(package is None or package in test.parts for test in named), f"no tests/**/{package}/test_{path.stem}.py"


@pytest.mark.parametrize("top", ["chalicelib", "infra", "tests", "bench"])
def test_no_folder_holds_more_than_twelve_modules(top: str) -> None:
    for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir() and "__pycache__" not in p.parts)]:
        modules = [p for p in folder.glob("*.py") if p.name not in ("__init__.py", "__main__.py", "conftest.py")]
        assert len(modules) <= MAX_MODULES_PER_FOLDER, f"{folder.relative_to(ROOT)}: {len(modules)} modules"


def test_bench_and_infra_import_no_tests() -> None:
    for path in [*ROOT.glob("bench/**/*.py"), *ROOT.glob("infra/**/*.py")]:
        tree = ast.parse(path.read_text())
        modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert not any(m.split(".")[0] == "tests" for m in modules), path.relative_to(ROOT)
