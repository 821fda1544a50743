"""``chalice deploy`` stops before it creates anything; ``make package`` writes every role itself.

``chalice deploy`` cannot deploy this app: it creates no tables, its stream
mapping cannot report partial batch failures (Chalice's decorator cannot say
``ReportBatchItemFailures``), and its roles would come from Chalice. With
``manage_iam_role`` false and no role ARN, Chalice's own validation refuses
every stage before it builds, packages or calls AWS. Here it runs on a copy
of the project against a loopback endpoint that records any request: none
may arrive.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from infra.deploy import package
from tests import packaging

ROOT = packaging.ROOT
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


class _Recorder(BaseHTTPRequestHandler):
    """Any AWS request: recorded, answered 500."""

    requests: ClassVar[list[str]] = []

    def _any(self) -> None:
        self.requests.append(f"{self.command} {self.path} {self.headers.get('X-Amz-Target', '')}")
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._any()

    def do_POST(self) -> None:
        self._any()

    def do_PUT(self) -> None:
        self._any()

    def do_PATCH(self) -> None:
        self._any()

    def do_DELETE(self) -> None:
        self._any()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def aws_endpoint() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.requests.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The files ``chalice deploy`` reads, copied (a deploy that got further would write into .chalice/)."""
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("chalicelib", ".chalice"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    return tmp_path


@pytest.mark.parametrize("stage", ["dev", "prod", "a-new-stage"])
def test_chalice_deploy_refuses_before_it_builds_or_calls_aws(
    project: Path, aws_endpoint: tuple[str, list[str]], stage: str
) -> None:
    url, requests = aws_endpoint
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(project),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,  # every service, so nothing can leave the machine
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    chalice = str(Path(sys.executable).with_name("chalice"))
    result = subprocess.run(
        [chalice, "--project-dir", str(project), "deploy", "--stage", stage],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert requests == []
    assert "'manage_iam_role' is set to false" in output, output
    assert not (project / ".chalice" / "deployments").exists()  # refused before packaging
    assert not (project / ".chalice" / "deployed").exists()


def test_chalice_manages_no_role_and_no_file_grants_or_denies_anything() -> None:
    assert CONFIG["manage_iam_role"] is False
    assert "docs/deploy.md" in CONFIG["manage_iam_role_why"]
    for key in ("iam_role_arn", "iam_policy_file", "autogen_policy"):
        assert key not in json.dumps(CONFIG), key  # at no level: a stage with a role ARN would deploy
    assert not [p.name for p in (ROOT / ".chalice").glob("*.json") if p.name != "config.json"]


def test_every_function_runs_as_a_role_the_template_writes() -> None:
    template = packaging.template()
    source = packaging.merge_template()
    lambda_only = [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    for name, resource in template["Resources"].items():
        if resource["Type"] == package.FUNCTION:
            (role, attribute) = resource["Properties"]["Role"]["Fn::GetAtt"]
            assert attribute == "Arn" and source["Resources"][role]["Type"] == "AWS::IAM::Role", name
            assert source["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == lambda_only


def test_packaging_refuses_a_function_without_a_written_role() -> None:
    template = packaging.template()
    broken = copy.deepcopy(template)
    broken["Resources"]["Send"]["Properties"]["Role"] = None  # what Chalice writes when it manages no role
    with pytest.raises(ValueError, match="Send: Role must be"):
        package.check_roles(broken)
    package.check_roles(template)


def test_no_placeholder_arn_reaches_the_template() -> None:
    """app.py's placeholders (account 000000000000) are only there for `chalice package`; the merge replaces them."""
    text = (packaging.packaged() / "sam.yaml").read_text()
    assert "000000000000" not in text and "replaced-by-template" not in text


def test_the_deploy_docs_explain_the_refusal() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text[text.index("## Why not `chalice deploy`") : text.index("## The runtime and the zip")]
    assert "'manage_iam_role' is set to false" in section and "Do not add\nan `iam_role_arn`" in section
