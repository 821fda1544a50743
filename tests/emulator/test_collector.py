"""infra.local.moto.collector: a full collection leaves what survived it out of the next one's walk."""

from __future__ import annotations

import json
import subprocess
import sys

# Run in a process of its own: frozen objects stay for the life of the process, which must not be pytest's.
PROBE = """
import gc, json
from infra.local.moto.collector import freeze_after_full_collections

freeze_after_full_collections()
freeze_after_full_collections()  # idempotent
kept = [{"id": {"S": str(n)}, "n": {"N": str(n)}} for n in range(50_000)]  # like moto's stored items
gc.collect()
frozen = gc.get_freeze_count()
class Cycle:
    pass
for _ in range(100):  # garbage made after the freeze: the next full collection still finds it
    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
del a, b
collected = gc.collect()
print(json.dumps({"frozen": frozen, "collected": collected, "hooks": gc.callbacks.count(gc.callbacks[-1])}))
"""


def test_what_survived_a_full_collection_is_frozen_and_later_garbage_still_collected() -> None:
    answer = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    found = json.loads(answer.stdout)
    assert found["frozen"] > 50_000  # the 50,000 items (tracked: they hold dicts), no longer walked
    assert found["collected"] >= 200  # the 100 cycles (and their instance dicts, where not inlined)
    assert found["hooks"] == 1


def test_without_it_nothing_is_frozen() -> None:
    probe = "import gc; x = [dict(a=n) for n in range(1000)]; gc.collect(); print(gc.get_freeze_count())"
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "0"
