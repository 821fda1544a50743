"""The packaged template and zip, built once per test process (``make package`` into a scratch folder)."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.deploy import package
from infra.deploy.cfn_yaml import load
from infra.deploy.transform import transform

ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def packaged() -> Path:
    out = Path(tempfile.mkdtemp(prefix="inapp-package-"))
    atexit.register(shutil.rmtree, out, True)
    subprocess.run([sys.executable, "-m", "infra.deploy.package", "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def template() -> dict[str, Any]:
    """A fresh copy each call: tests may change it."""
    return load((packaged() / "sam.yaml").read_text())


def merge_template() -> dict[str, Any]:
    """infra/deploy/template.yaml as written, before the merge with Chalice's output (a fresh copy each call)."""
    return load((ROOT / "infra" / "deploy" / "template.yaml").read_text())


@functools.lru_cache(maxsize=1)
def _transformed_text() -> str:
    result = transform(package.as_cli_packages((packaged() / "sam.yaml").read_text()))
    (packaged() / "transformed.json").write_text(json.dumps(result))
    return json.dumps(result)


def transformed() -> dict[str, Any]:
    """What CloudFormation's SAM transform makes of the template `aws cloudformation package` writes."""
    result: dict[str, Any] = json.loads(_transformed_text())
    return result


# The table settings every function gets, and the template's logical id of each table.
TABLE_VARIABLES = {
    "INAPP_INBOX_TABLE": "InboxTable",
    "INAPP_CHANNELS_TABLE": "ChannelsTable",
    "INAPP_COUNTERS_TABLE": "CountersTable",
    "INAPP_IDEMPOTENCY_TABLE": "IdempotencyTable",
    "INAPP_CONNECTIONS_TABLE": "ConnectionsTable",
    "INAPP_SUBSCRIBERS_TABLE": "SubscribersTable",
    "INAPP_SENDS_TABLE": "SendsTable",
}
