"""Packages load their modules on first use: every public name still resolves, and ``import app`` stays light."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
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


# What `import app` may load of ours: the faces, the edge's wiring, the settings and the stream mapping's numbers.
APP_IMPORTS = {
    "chalicelib", "chalicelib.service", "chalicelib.api", "chalicelib.api.edge", "chalicelib.api.request_limit",
    "chalicelib.audience", "chalicelib.broadcast", "chalicelib.channels", "chalicelib.inbox", "chalicelib.limits",
    "chalicelib.sending", "chalicelib.storage", "chalicelib.realtime", "chalicelib.realtime.stream_mapping",
    "chalicelib.core", "chalicelib.core.auth", "chalicelib.core.config", "chalicelib.core.cursors",
    "chalicelib.core.errors", "chalicelib.core.json_text", "chalicelib.core.lazy", "chalicelib.core.logs",
    "chalicelib.core.metrics", "chalicelib.core.tenants",
}  # fmt: skip


def test_the_packages_that_load_on_first_use_are_the_ones_app_py_reaches() -> None:
    assert {"api", "audience", "channels", "inbox", "limits", "realtime", "sending", "storage"} <= set(LAZY_PACKAGES)


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
    attribute, _, names = lazy.exports("chalicelib.channels", {"registry": ("get_channel",)})
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
    assert {m for m in modules if m.split(".")[0] == "chalicelib"} == APP_IMPORTS


def test_a_name_read_by_many_threads_while_its_module_loads_is_whole_in_each(tmp_path: Path) -> None:
    """A module is in sys.modules before its code has run: no thread may be handed it half made."""
    package = tmp_path / "slowpackage"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from chalicelib.core import lazy\n__getattr__, __dir__, __all__ = lazy.exports(__name__, {'slow': ('thing',)})\n"
    )
    (package / "slow.py").write_text("import time\ntime.sleep(0.2)  # still loading when the others ask\nthing = 42\n")
    sys.path.insert(0, str(tmp_path))
    try:
        slowpackage = importlib.import_module("slowpackage")
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = list(pool.map(lambda _: slowpackage.thing, range(8)))
    finally:
        sys.path.remove(str(tmp_path))
        for name in ("slowpackage", "slowpackage.slow"):
            sys.modules.pop(name, None)
    assert found == [42] * 8


def test_a_package_lists_its_public_names_as_well_as_what_it_holds() -> None:
    from chalicelib import inbox

    assert {"list_messages", "mark_all_read", "MessageQuery"} <= set(dir(inbox))
    assert "__name__" in dir(inbox)
