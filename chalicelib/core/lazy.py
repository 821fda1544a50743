"""A package's public names, imported from their modules on first use (PEP 562 ``__getattr__``).

Every Lambda function of ours imports app.py, and each function runs a
few of its handlers: when a package's ``__init__`` imported all its
modules, the WebSocket functions paid for the send path's validation and
the ``send`` function for the inbox's queries — ~50 ms of imports at
every cold start, most of them PynamoDB's models and ours. A package
names where each public name lives; a name's module is imported the first
time the name is read (``inbox.list_messages``, or
``from chalicelib.inbox import list_messages``).

Nothing is cached on the package: each read looks the name up in its
module (~0.7 µs, against ~0.01 µs for a plain attribute: a few µs a
batch in the hottest loops), so the package always shows what its modules
hold — a test that patches a module's name is seen through the package
too, and nothing outlives the patch.

A module is in ``sys.modules`` from the moment its import *starts*: a
second thread reading a name while the first still runs the module's code
would find it half made. So only a module whose import has finished is
taken from there; otherwise ``importlib.import_module`` waits for it
(the import system's per-module lock), as ``import`` itself does.

Example (a package's ``__init__.py``)::

    if TYPE_CHECKING:  # what mypy and readers see
        from chalicelib.inbox.queries import list_messages as list_messages

    if not TYPE_CHECKING:
        __getattr__, __dir__, __all__ = lazy.exports(__name__, {"queries": ("list_messages",)})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def exports(
    package: str, homes: Mapping[str, Iterable[str]], modules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The package's ``__getattr__``, ``__dir__`` and ``__all__``: ``homes`` maps a module to the names it gives the package.

    ``modules`` are submodules the package shows as attributes themselves (``api.tenancy``).
    """
    where = {name: module for module, names in homes.items() for name in names}
    submodules = frozenset(modules)

    def attribute(name: str) -> Any:
        if name in submodules:
            return _module(f"{package}.{name}")
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(_module(f"{package}.{module}"), name)

    public = sorted([*where, *submodules])

    def listing() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return attribute, listing, public


def _module(name: str) -> Any:
    """The module ``name``, imported if need be; never one whose import another thread is still running."""
    loaded = sys.modules.get(name)
    spec = getattr(loaded, "__spec__", None)
    if loaded is None or spec is None or getattr(spec, "_initializing", False):
        return importlib.import_module(name)
    return loaded
