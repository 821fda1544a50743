"""Cold start: a fresh interpreter importing ``app`` and a first request's modules vs ``botocore.session`` alone.

Every Lambda function of ours uses botocore (through PynamoDB), so
``import botocore.session`` is the floor; the target is ≤ 1.3× of it.

``import app`` imports only what registering the routes needs: each
package's modules load on the first use of one of their names
(`chalicelib.core.lazy`), so a container pays for PynamoDB, our models and
its route's own modules when its first request arrives. The imports of a
cold start are therefore ``import app`` plus that first request's, and
the target is judged on the heaviest of ``ROUTES`` (a sample: every HTTP
route runs in one function, whose first request may be any of them).
Imports only, as before: the first request's other one-off work (botocore
reading the DynamoDB service model to build its client, 50–90 ms here;
deployed, fetching the JWKS) is paid by any design and not counted. Those imports are recorded, not
guessed: a fresh interpreter imports ``app``, answers one real request
through Chalice's Lambda entry point (the event API Gateway sends) against
the DynamoDB emulator, and lists the modules the request added (PyJWT with
cryptography, PynamoDB, botocore's client, Powertools, ours); the timed
runs import exactly those. ``import app`` alone (the init phase) and with
the first metrics flush are reported too, and the libraries' own floor:
``botocore.session`` with PyJWT (which imports cryptography, needed for
the deployed RS256 tokens) and Powertools' EMF provider, which every
first request imports before any module of ours. Runs alternate between the
subjects so machine noise hits all alike. Also reports the size of
build/deployment.zip when ``make package`` has made it.

What is measured is importing, not compiling: the warm-up writes every
imported module's ``.pyc`` (it lifts ``PYTHONDONTWRITEBYTECODE``), so the
timed runs find them all, as the venv's botocore always does. A second
pair of subjects, when the zip exists, prices the first request importing
the most with a zip without ``.pyc``: Lambda's ``/var/task`` is read-only,
so the modules the zip ships (ours, Chalice's runtime, PynamoDB…) are
compiled again on every cold start. The standard library and botocore,
which the runtime provides, keep their ``.pyc`` in both subjects (assumed
of the runtime, as here). Those runs read ``.pyc`` from a
``-X pycache_prefix`` folder holding all but the zip's modules'.

Usage: python -m bench.coldstart [--smoke] [--out DIR]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import ROOT, SECRET, local_aws_environment, results_dir, smoke, summary, table, write

FIRST_FLUSH = "import app; from chalicelib.core import metrics; metrics.add(metrics.SENDS); metrics.flush()"
FLOOR = "import botocore.session"
# What any function that verifies a token (PyJWT, with cryptography for the deployed RS256 keys) and writes EMF
# (Powertools) imports before a line of ours: the floor of the libraries a first request needs.
LIBRARIES = "import botocore.session, jwt\nfrom aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch"
LIBRARIES_NAME = "import botocore.session, PyJWT, Powertools' EMF"
SUBJECTS = {
    "import app": "import app",
    "import app + first metrics flush": FIRST_FLUSH,
    "import botocore.session": FLOOR,
    LIBRARIES_NAME: LIBRARIES,
}
# The heaviest first request and the floor when the zip's modules have no .pyc (what Lambda pays for a zip without them).
WITHOUT_PYC = "first request, zip without .pyc"
FLOOR_WITHOUT_PYC = "import botocore.session, same way"


def first_label(route: str) -> str:
    """The subject of ``import app`` plus ``route``'s first request (its key in the results' ``seconds``)."""
    return f"import app + first {route}"


ARCHIVE = ROOT / "build" / "deployment.zip"
CHANNEL = "bench-news"
# The first requests recorded: the page's first call, a page of the inbox, an admin's send (its heaviest route).
ROUTES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "GET /me/unread-count": ("GET", "/me/unread-count", None),
    "GET /me/messages": ("GET", "/me/messages", None),
    "POST /messages": ("POST", "/messages", {"channel": CHANNEL, "receivers": ["bench-user"], "title": "Hello"}),
}
RECORD = """
import json, sys
import app
before = set(sys.modules)
answer = app.app(json.loads(sys.argv[1]), None)
if answer["statusCode"] >= 300:
    raise SystemExit(f"the recorded request failed: {answer}")
print(json.dumps([name for name in sys.modules if name not in before]))  # in the order imported
"""


@contextmanager
def emulator() -> Iterator[dict[str, str]]:
    """The DynamoDB emulator with the app's tables and the channel the send names; yields the child's environment."""
    from infra.local.moto.server import EmbeddedDynamoDB

    dynamodb = EmbeddedDynamoDB()
    dynamodb.start()
    try:
        local_aws_environment()
        os.environ["INAPP_DYNAMODB_ENDPOINT"] = dynamodb.endpoint
        from chalicelib import channels
        from chalicelib.core.config import get_settings
        from chalicelib.storage.tables import create_tables

        create_tables(get_settings())
        channels.create_channel(channels.NewChannel(CHANNEL, "News", ""))
        yield dict(os.environ)
    finally:
        dynamodb.stop()


def record() -> dict[str, list[str]]:
    """Each route's first request: the modules it imports after ``import app``."""
    from chalice.local import LambdaEventConverter, RouteMatcher

    from chalicelib.core.auth import issue_token

    imports: dict[str, list[str]] = {}
    with emulator() as environment:
        import app  # its routes, for Chalice's own request → proxy event conversion (as the local stack's front door)

        events = LambdaEventConverter(RouteMatcher(list(app.app.routes)))
        for route, (method, path, body) in ROUTES.items():
            token = issue_token("bench-user", SECRET, admin=method == "POST")
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            event = events.create_lambda_event(method, path, headers)
            event["body"] = None if body is None else json.dumps(body)  # text, as API Gateway sends a JSON body
            answer = subprocess.run(
                [sys.executable, "-c", RECORD, json.dumps(event)],
                cwd=ROOT,
                env=environment,
                check=True,
                capture_output=True,
                text=True,
            )
            imports[route] = json.loads(answer.stdout.splitlines()[-1])  # after the metrics (EMF goes to stdout)
    return imports


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


def first_request(modules: list[str]) -> str:
    """``import app``, then the modules a first request was recorded to import, in the order it imported them.

    A few are not importable by name (an extension's inner module, ``_openssl``): their package imports them,
    and the run fails if any recorded module is still missing at the end.
    """
    return (
        f"import app, sys\nnames = {modules!r}\nfor name in names:\n    try:\n        __import__(name)\n"
        "    except ImportError:\n        pass\nmissing = [n for n in names if n not in sys.modules]\n"
        "if missing:\n    raise SystemExit(f'not imported: {missing}')"
    )


def main(argv: list[str]) -> int:
    runs = 3 if smoke(argv) else 15
    subjects: dict[str, tuple[str, Path | None]] = {name: (statement, None) for name, statement in SUBJECTS.items()}
    recorded = record()
    subjects |= {first_label(route): (first_request(modules), None) for route, modules in recorded.items()}
    most = max(recorded, key=lambda route: len(recorded[route]))
    without_pyc = {WITHOUT_PYC: first_request(recorded[most]), FLOOR_WITHOUT_PYC: FLOOR}
    with tempfile.TemporaryDirectory() as scratch:
        for statement, _ in subjects.values():  # write .pyc files and warm the page cache first
            once(statement, write_pyc=True)
        if ARCHIVE.exists():
            pycache = Path(scratch)
            for statement in without_pyc.values():
                once(statement, pycache, write_pyc=True)
            drop_shipped_pyc(pycache, ARCHIVE)
            subjects |= {name: (statement, pycache) for name, statement in without_pyc.items()}
        samples: dict[str, list[float]] = {name: [] for name in subjects}
        for _ in range(runs):
            for name, (statement, prefix) in subjects.items():
                samples[name].append(once(statement, prefix))
    stats = {name: summary(values) for name, values in samples.items()}
    floor = stats["import botocore.session"]["median"]
    ratio = stats["import app"]["median"] / floor
    ratio_with_metrics = stats["import app + first metrics flush"]["median"] / floor
    first = {route: stats[first_label(route)]["median"] / floor for route in recorded}
    heaviest = max(first, key=first.__getitem__)
    libraries = stats[LIBRARIES_NAME]["median"] / floor
    over_libraries = first[heaviest] / libraries
    ratio_without_pyc = None
    if WITHOUT_PYC in stats:
        ratio_without_pyc = stats[WITHOUT_PYC]["median"] / stats[FLOOR_WITHOUT_PYC]["median"]
    zip_mb = ARCHIVE.stat().st_size / 1e6 if ARCHIVE.exists() else None
    rows = [
        [name, f"{s['median'] * 1000:.0f} ms", f"{s['min'] * 1000:.0f}–{s['max'] * 1000:.0f} ms"] for name, s in stats.items()
    ]
    print(table(["fresh interpreter", "median", "range"], rows))
    print(f"ratio app / botocore.session: {ratio:.2f}x, with the first metrics flush {ratio_with_metrics:.2f}x")
    print(
        "with the first request's imports: "
        + ", ".join(f"{route} {value:.2f}x" for route, value in first.items())
        + f"; heaviest {heaviest}: {first[heaviest]:.2f}x (target ≤ 1.3x); deployment.zip: {zip_mb or 0:.2f} MB"
    )
    print(
        f"the libraries alone (botocore.session, PyJWT, Powertools' EMF): {libraries:.2f}x; the heaviest first request "
        f"over them: {over_libraries:.2f}x"
    )
    if ratio_without_pyc is not None:
        print(f"first {most} without .pyc for the zip's modules (compiled at every cold start): {ratio_without_pyc:.2f}x")
    write(
        "coldstart",
        {"parameters": {"runs": runs}, "repeats": runs, "seconds": stats, "ratio": ratio, "target_ratio": 1.3,
         "ratio_with_metrics": ratio_with_metrics,
         "first_request_ratios": first, "first_request_modules": {r: len(m) for r, m in recorded.items()},
         "cold_start_ratio": first[heaviest], "heaviest_route": heaviest,
         "libraries_ratio": libraries, "first_request_over_libraries": over_libraries,
         "ratio_without_pyc": ratio_without_pyc, "route_without_pyc": most,
         "deployment_zip_mb": zip_mb},
        results_dir(argv),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
