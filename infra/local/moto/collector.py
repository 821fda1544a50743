"""The emulator's garbage collector: a full pass walks only what is new since the last one.

moto keeps every stored item as Python objects (an item of ten attributes
is some forty), so a table of 50,000 messages is about two million objects
in the emulator's process. CPython's full collection walks all of them
each time it runs — measured in the abuse run (docs/benchmarks.md): 0.5 to
1.2 s, fourteen times in three minutes, every DynamoDB call of every user
waiting meanwhile: a pause DynamoDB never makes. (Removing them did not by
itself bring the quiet phase's p99 down: that was the HTTP runtimes' cold
starts, which the run now warms up.)

`freeze_after_full_collections` moves what survived each full collection
into the permanent generation (`gc.freeze`): it was all reachable a moment
ago, and an item dropped later is freed by its reference count (moto's
items hold no cycles), so the next full pass walks only the objects made
since. The cost: a cycle among frozen objects that becomes garbage later
is never collected — a bounded leak for a development emulator that
stops with the stack. Only the emulator's own process calls it (the
stack's ``python -m infra.local.moto.server``), never the tests' in-process moto.
"""

from __future__ import annotations

import gc
from typing import Any


def _freeze_after_full(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()  # the collection is over: what is left was reachable


def freeze_after_full_collections() -> None:
    """Install the hook (idempotent)."""
    if _freeze_after_full not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full)
