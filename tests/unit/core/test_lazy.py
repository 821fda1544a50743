"""Packages load their modules on first use: every public name still resolves, and ``import app`` stays light."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.core import lazy

ROOT = Path(__file__).resolve().parents[3]
LAZY_PACKAGES = sorted(
    path.parent.name for path in (ROOT / "chalicelib").glob("*/__init__.py") if "lazy.exports(" in path.read_text()
)


def _typed_names(package: str) -> dict[str, str]:
    """What mypy sees: each name imported under ``if TYPE_CHECKING:`` in the package's ``__init__``, with its module."""
    tree = ast.parse((ROOT / "chalicelib" / package / "__init__.py").read_text())
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                for alias in statement.names:
                    names[alias.asname or alias.name] = statement.module
    return names


def test_the_packages_that_load_on_first_use_are_the_ones_app_py_reaches() -> None:
    assert {"api", "audience", "channels", "inbox", "limits", "sending", "storage"} <= set(LAZY_PACKAGES)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_name_mypy_sees_is_served_from_its_module_and_no_other(package: str) -> None:
    module = importlib.import_module(f"chalicelib.{package}")
    typed = _typed_names(package)
    assert sorted(typed) == module.__all__
    for name, home in typed.items():
        own = home == f"chalicelib.{package}"  # a submodule shown as an attribute (``api.tenancy``)
        expected = importlib.import_module(f"{home}.{name}") if own else getattr(importlib.import_module(home), name)
        assert getattr(module, name) is expected, f"chalicelib.{package}.{name}"


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    attribute, names = lazy.exports("chalicelib.channels", {"registry": ("get_channel",)})
    assert names == ["get_channel"]
    with pytest.raises(AttributeError, match=r"'chalicelib\.channels' has no attribute 'nothing'"):
        attribute("nothing")


def test_a_name_follows_its_module_so_a_patch_there_is_seen_and_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import channels
    from chalicelib.channels import registry

    original = channels.get_channel
    monkeypatch.setattr(registry, "get_channel", len)
    assert channels.get_channel is len
    monkeypatch.undo()
    assert channels.get_channel is original


def test_importing_the_app_registers_every_route_without_pynamodb_botocore_or_pyjwt() -> None:
    """The init phase of every function: what a route needs is imported by its first request, not by all."""
    probe = "import json, sys, app; print(json.dumps([sorted(sys.modules), len(app.app.routes)]))"
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True)
    modules, routes = json.loads(answer.stdout)
    assert routes >= 20
    heavy = [m for m in modules if m.split(".")[0] in {"pynamodb", "botocore", "jwt", "aws_lambda_powertools"}]
    assert heavy == []
    ours = [m for m in modules if m.startswith("chalicelib.") and m.count(".") >= 2]
    assert not [m for m in ours if m.split(".")[1] in {"inbox", "sending", "audience", "channels", "storage"}]
