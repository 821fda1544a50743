"""deployment.zip: our code from Chalice's zip, and requirements.txt's wheels for the Lambda runtime, slimmed.

Chalice resolves wheels for the local interpreter (and its cross-version
download lacks ``--python-version``), so the zip's third-party packages are
installed again for ``RUNTIME`` on ``ARCHITECTURE``, leaving out what the
runtime provides (boto3, botocore, urllib3 and their dependencies, ~75 % of
the zip), what no handler imports (Powertools utilities other than
metrics) and what only pip reads (the dist-infos' RECORD, INSTALLER and
REQUESTED files, the wheels' SBOMs: 32 KB), with native symbol tables
stripped.

No ``.pyc`` goes in. Lambda's ``/var/task`` is read-only, so without them
python3.13 compiles our modules, Chalice's and PynamoDB's at every cold
start (`bench/coldstart.py` prices it). Measured 2026-12-07: the zip is
4.95 MB (4,950,094 bytes); unchecked-hash ``.pyc`` compiled by python3.13 would add 0.28 MB
for chalicelib alone and 1.23 MB for every module shipped, past the 5 MB
budget either way (cryptography's native library alone is 4.0 MB of it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"


OPENAPI_YAML = "chalicelib/api/openapi.yaml"
OPENAPI_JSON = "chalicelib/api/openapi.json"
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


# Powertools is a family of utilities; the handlers import only its metrics (chalicelib/core/metrics.py),
# whose package imports its logger, tracer (without X-Ray's SDK) and jmespath helpers.
UNUSED_PARTS = ("aws_lambda_powertools/utilities/", "aws_lambda_powertools/event_handler/")


NEEDED_PARTS = ("aws_lambda_powertools/utilities/__init__.py", "aws_lambda_powertools/utilities/jmespath_utils/")


@dataclass(frozen=True)
class Platform:
    """Where the zip's native code will run: a Lambda runtime on an architecture, or this machine (None)."""

    python: str | None  # "3.13"
    machine: str | None  # "aarch64"

    @classmethod
    def lambda_target(cls) -> Platform:
        return cls(RUNTIME.removeprefix("python"), {"arm64": "aarch64", "x86_64": "x86_64"}[ARCHITECTURE])

    def pip_arguments(self) -> list[str]:
        if self.python is None or self.machine is None:
            return []
        arguments = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python]
        for glibc_minor in range(17, 35):  # Amazon Linux 2023 has glibc 2.34
            arguments += ["--platform", f"manylinux_2_{glibc_minor}_{self.machine}"]
        return [*arguments, "--platform", f"manylinux2014_{self.machine}"]


LOCAL = Platform(None, None)


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    base = top.split("-", 1)[0].lower().replace("python_", "")
    return base in PROVIDED_BY_RUNTIME or top in ("six.py",)


# What pip keeps beside an installed package for itself (RECORD: every file and its hash, for an uninstall) and
# the wheels' software bills of materials: nothing imports them. METADATA (importlib.metadata's versions) and the
# licenses stay.
INSTALLER_FILES = ("/RECORD", "/INSTALLER", "/REQUESTED")


def _kept(name: str) -> bool:
    unused = name.startswith(UNUSED_PARTS) and not name.startswith(NEEDED_PARTS)
    pip_only = ".dist-info/" in name and (name.endswith(INSTALLER_FILES) or "/sboms/" in name)
    return not (_provided(name) or "/__pycache__/" in name or unused or pip_only)


def _strip_tool() -> str | None:
    """llvm-strip reads every architecture; GNU strip only the machine's own."""
    return shutil.which("llvm-strip") or shutil.which("strip")


def _slim(name: str, data: bytes, scratch: Path) -> bytes:
    tool = _strip_tool()
    if not name.endswith(".so") or tool is None:
        return data
    native = scratch / "native.so"
    native.write_bytes(data)
    stripped = subprocess.run([tool, "--strip-unneeded", str(native)], capture_output=True)
    return native.read_bytes() if stripped.returncode == 0 else data


def install_dependencies(platform: Platform, target: Path) -> None:
    """requirements.txt's wheels for ``platform``, installed (not imported) into ``target``."""
    command = [sys.executable, "-m", "pip", "install", "-qq", "--disable-pip-version-check", "--no-compile"]
    command += ["--target", str(target), *platform.pip_arguments(), "-r", str(ROOT / "requirements.txt")]
    subprocess.run(command, check=True)


def _our_code(chalice_zip: Path) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
    """app.py, chalicelib/ and Chalice's runtime module (chalice/app.py) as Chalice packed them.

    The OpenAPI document goes in as JSON (`chalicelib.api.pages.openapi_document` reads
    either): PyYAML, only ever needed to read it, then stays out of the zip (~170 KB).
    """
    with zipfile.ZipFile(chalice_zip) as source:
        for info in source.infolist():
            if info.filename == OPENAPI_YAML:
                document = yaml.safe_load(source.read(info))
                entry = zipfile.ZipInfo(OPENAPI_JSON, info.date_time)
                yield entry, json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
            elif info.filename == "app.py" or info.filename.startswith(("chalicelib/", "chalice/")):
                yield info, source.read(info)


def build_zip(chalice_zip: Path, platform: Platform, out: Path) -> int:
    """Our code from Chalice's zip plus ``platform``'s dependencies, slimmed; returns the size in bytes."""
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        install_dependencies(platform, site)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
            for info, data in _our_code(chalice_zip):
                if "/__pycache__/" not in info.filename:
                    target.writestr(info, data)
            for path in sorted(p for p in site.rglob("*") if p.is_file()):
                name = path.relative_to(site).as_posix()
                if _kept(name):
                    entry = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))  # fixed times: same input, same zip
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    target.writestr(entry, _slim(name, path.read_bytes(), Path(scratch)))
    return out.stat().st_size
