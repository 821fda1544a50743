"""Cold start: a fresh interpreter importing ``app`` vs importing ``botocore.session`` alone.

Every Lambda function of ours imports botocore (through PynamoDB), so
``botocore.session`` is the floor; the target is ≤ 1.3× of it. Powertools
is imported on the first metrics flush, not by ``import app``, so a third
subject measures ``import app`` plus that first flush: what the first
invocation of a new container pays before its handler's own work. Runs
alternate between the subjects so machine noise hits all alike. Also
reports the size of build/deployment.zip when ``make package`` has made it.

Usage: python -m bench.coldstart [--smoke] [--out DIR]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import ROOT, results_dir, smoke, summary, table, write

FIRST_FLUSH = "import app; from chalicelib.core import metrics; metrics.add(metrics.SENDS); metrics.flush()"
SUBJECTS = {
    "import app": "import app",
    "import app + first metrics flush": FIRST_FLUSH,
    "import botocore.session": "import botocore.session",
}


def once(statement: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    runs = 3 if smoke(argv) else 15
    for statement in SUBJECTS.values():  # compile .pyc files and warm the page cache first
        once(statement)
    samples: dict[str, list[float]] = {name: [] for name in SUBJECTS}
    for _ in range(runs):
        for name, statement in SUBJECTS.items():
            samples[name].append(once(statement))
    stats = {name: summary(values) for name, values in samples.items()}
    floor = stats["import botocore.session"]["median"]
    ratio = stats["import app"]["median"] / floor
    ratio_with_metrics = stats["import app + first metrics flush"]["median"] / floor
    archive = ROOT / "build" / "deployment.zip"
    zip_mb = archive.stat().st_size / 1e6 if archive.exists() else None
    rows = [
        [name, f"{s['median'] * 1000:.0f} ms", f"{s['min'] * 1000:.0f}–{s['max'] * 1000:.0f} ms"] for name, s in stats.items()
    ]
    print(table(["fresh interpreter", "median", "range"], rows))
    print(
        f"ratio app / botocore.session: {ratio:.2f}x, with the first metrics flush {ratio_with_metrics:.2f}x"
        f" (target ≤ 1.3x); deployment.zip: {zip_mb or 0:.2f} MB"
    )
    write(
        "coldstart",
        {"parameters": {"runs": runs}, "repeats": runs, "seconds": stats, "ratio": ratio, "target_ratio": 1.3,
         "ratio_with_metrics": ratio_with_metrics, "deployment_zip_mb": zip_mb},
        results_dir(argv),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
