"""``make package``: Chalice's SAM template merged with infra/template.yaml, and a lean zip.

Runs ``chalice package --merge-template`` into ``build/``, then slims
``deployment.zip`` the way serverless-python-requirements' ``slim`` option
does: it drops the packages the Lambda Python runtime already provides
(boto3, botocore and their dependencies, ~75 % of the zip), strips the
symbol tables of native extensions (cryptography's is 14 MB) and leaves out
``__pycache__``. Usage: ``python -m infra.package [--stage prod] [--out build]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    base = top.split("-", 1)[0].lower().replace("python_", "")
    return base in PROVIDED_BY_RUNTIME or top in ("six.py",)


def _slim(name: str, data: bytes, scratch: Path) -> bytes:
    if not name.endswith(".so") or shutil.which("strip") is None:
        return data
    native = scratch / "native.so"
    native.write_bytes(data)
    subprocess.run(["strip", "--strip-unneeded", str(native)], check=True)
    return native.read_bytes()


def slim_zip(path: Path) -> tuple[int, int]:
    """Rewrite ``path`` slimmed; return (before, after) sizes in bytes."""
    before = path.stat().st_size
    slimmed = path.with_suffix(".slim.zip")
    with (
        tempfile.TemporaryDirectory() as scratch,
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            if _provided(info.filename) or "/__pycache__/" in info.filename:
                continue
            target.writestr(info, _slim(info.filename, source.read(info.filename), Path(scratch)))
    slimmed.replace(path)
    return before, path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", default=str(ROOT / "build"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    command = [
        str(Path(sys.executable).with_name("chalice")), "package", "--stage", args.stage,
        "--merge-template", str(ROOT / "infra" / "template.yaml"), "--template-format", "yaml", str(out),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    before, after = slim_zip(out / "deployment.zip")
    print(f"build/sam.yaml and build/deployment.zip ({after / 1e6:.2f} MB; {before / 1e6:.2f} MB before slimming)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
