"""Cold start: a fresh interpreter importing ``app`` vs importing ``botocore.session`` alone.

Every Lambda function of ours imports botocore (through PynamoDB), so
``botocore.session`` is the floor; the target is ≤ 1.3× of it. Powertools
is imported on the first metrics flush, not by ``import app``, so a third
subject measures ``import app`` plus that first flush: what the first
invocation of a new container pays before its handler's own work. Runs
alternate between the subjects so machine noise hits all alike. Also
reports the size of build/deployment.zip when ``make package`` has made it.

What is measured is importing, not compiling: the warm-up writes every
imported module's ``.pyc`` (it lifts ``PYTHONDONTWRITEBYTECODE``), so the
timed runs find them all, as the venv's botocore always does. A second pair
of subjects, when the zip exists, prices a zip without ``.pyc``: Lambda's
``/var/task`` is read-only, so the modules the zip ships (ours, Chalice's
runtime, PynamoDB…) are compiled again on every cold start. The standard
library and botocore, which the runtime provides, keep their ``.pyc`` in
both subjects (assumed of the runtime, as here). Those runs read ``.pyc``
from a ``-X pycache_prefix`` folder holding all but the zip's modules'.

Usage: python -m bench.coldstart [--smoke] [--out DIR]
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

from bench.common import ROOT, results_dir, smoke, summary, table, write

FIRST_FLUSH = "import app; from chalicelib.core import metrics; metrics.add(metrics.SENDS); metrics.flush()"
FLOOR = "import botocore.session"
SUBJECTS = {
    "import app": "import app",
    "import app + first metrics flush": FIRST_FLUSH,
    "import botocore.session": FLOOR,
}
# The same two imports when the zip's modules have no .pyc (what Lambda pays for a zip without them).
WITHOUT_PYC = {"import app, zip without .pyc": "import app", "import botocore.session, same way": FLOOR}
ARCHIVE = ROOT / "build" / "deployment.zip"


def once(statement: str, pycache: Path | None = None, write_pyc: bool = False) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if write_pyc:
        del env["PYTHONDONTWRITEBYTECODE"]
    prefix = ["-X", f"pycache_prefix={pycache}"] if pycache else []
    started = time.perf_counter()
    subprocess.run([sys.executable, *prefix, "-c", statement], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _shipped_sources(archive: Path) -> set[Path]:
    """The local files of the modules the zip ships: ours under ROOT, third-party ones in site-packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    with zipfile.ZipFile(archive) as bundle:
        names = [n for n in bundle.namelist() if n.endswith(".py")]
    return {ROOT / n for n in names} | {site / n for n in names}


def drop_shipped_pyc(pycache: Path, archive: Path) -> int:
    """Delete from ``pycache`` (a ``pycache_prefix`` tree) the .pyc of every module the zip ships; returns how many."""
    shipped = _shipped_sources(archive)
    dropped = 0
    for pyc in pycache.rglob("*.pyc"):
        source = Path("/", pyc.relative_to(pycache)).with_name(pyc.name.split(".", 1)[0] + ".py")
        if source in shipped:
            pyc.unlink()
            dropped += 1
    return dropped


def main(argv: list[str]) -> int:
    runs = 3 if smoke(argv) else 15
    subjects: dict[str, tuple[str, Path | None]] = {name: (statement, None) for name, statement in SUBJECTS.items()}
    with tempfile.TemporaryDirectory() as scratch:
        for statement in SUBJECTS.values():  # write .pyc files and warm the page cache first
            once(statement, write_pyc=True)
        if ARCHIVE.exists():
            pycache = Path(scratch)
            for statement in WITHOUT_PYC.values():
                once(statement, pycache, write_pyc=True)
            drop_shipped_pyc(pycache, ARCHIVE)
            subjects |= {name: (statement, pycache) for name, statement in WITHOUT_PYC.items()}
        samples: dict[str, list[float]] = {name: [] for name in subjects}
        for _ in range(runs):
            for name, (statement, prefix) in subjects.items():
                samples[name].append(once(statement, prefix))
    stats = {name: summary(values) for name, values in samples.items()}
    floor = stats["import botocore.session"]["median"]
    ratio = stats["import app"]["median"] / floor
    ratio_with_metrics = stats["import app + first metrics flush"]["median"] / floor
    ratio_without_pyc = None
    if "import app, zip without .pyc" in stats:
        ratio_without_pyc = stats["import app, zip without .pyc"]["median"] / stats["import botocore.session, same way"]["median"]
    zip_mb = ARCHIVE.stat().st_size / 1e6 if ARCHIVE.exists() else None
    rows = [
        [name, f"{s['median'] * 1000:.0f} ms", f"{s['min'] * 1000:.0f}–{s['max'] * 1000:.0f} ms"] for name, s in stats.items()
    ]
    print(table(["fresh interpreter", "median", "range"], rows))
    print(
        f"ratio app / botocore.session: {ratio:.2f}x, with the first metrics flush {ratio_with_metrics:.2f}x"
        f" (target ≤ 1.3x); deployment.zip: {zip_mb or 0:.2f} MB"
    )
    if ratio_without_pyc is not None:
        print(f"without .pyc for the zip's modules (compiled at every cold start): {ratio_without_pyc:.2f}x")
    write(
        "coldstart",
        {"parameters": {"runs": runs}, "repeats": runs, "seconds": stats, "ratio": ratio, "target_ratio": 1.3,
         "ratio_with_metrics": ratio_with_metrics, "ratio_without_pyc": ratio_without_pyc,
         "deployment_zip_mb": zip_mb},
        results_dir(argv),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
