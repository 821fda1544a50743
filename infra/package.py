"""``make package``: Chalice's SAM template merged with infra/template.yaml, and a lean zip for the runtime.

1. ``chalice package --merge-template infra/template.yaml`` writes the
   template and a zip.
2. The template is finished where Chalice cannot say it: every function gets
   ``RUNTIME`` and ``ARCHITECTURE`` once, in ``Globals`` (Chalice copies the
   *local* Python version into every function), its per-function
   environment, tags and default tracing are dropped (the template's ``Globals`` is the only source, so a
   stage's local table names never reach AWS), and the WebSocket deployment
   is renamed after a hash of the routes and integrations it deploys
   (CloudFormation only redeploys an ``AWS::ApiGatewayV2::Deployment`` whose
   logical id changes). It is written without YAML anchors, as
   ``aws cloudformation package`` would expand them anyway.
3. The zip's third-party packages are replaced by wheels for ``RUNTIME`` on
   ``ARCHITECTURE`` (Chalice resolves wheels for the local interpreter, and
   its cross-version download lacks ``--python-version``), leaving out what
   the runtime provides (boto3, botocore, urllib3 and their dependencies,
   ~75 % of the zip) and what no handler imports (Powertools utilities
   other than metrics), with native symbol tables stripped.

Usage: ``python -m infra.package [--stage prod] [--out build]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cfn_yaml import dump_expanded, load

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# Powertools is a family of utilities; the handlers import only its metrics (chalicelib/core/metrics.py),
# whose package imports its logger, tracer (without X-Ray's SDK) and jmespath helpers.
UNUSED_PARTS = ("aws_lambda_powertools/utilities/", "aws_lambda_powertools/event_handler/")
NEEDED_PARTS = ("aws_lambda_powertools/utilities/__init__.py", "aws_lambda_powertools/utilities/jmespath_utils/")
S3_TEMPLATE_LIMIT = 1_048_576  # bytes of a template deployed through S3 (docs/deploy.md: `deploy --s3-bucket`)
FUNCTION = "AWS::Serverless::Function"
ANY_METHOD = "x-amazon-apigateway-any-method"
# Chalice's outputs that ours name better (HttpApiUrl, WebSocketUrl, SendFunctionArn) or nobody reads.
CHALICE_OUTPUTS = (
    "EndpointURL", "RestAPIId", "WebsocketAPIId", "WebsocketConnectEndpointURL", "APIHandlerArn", "APIHandlerName",
    "WebsocketConnectHandlerArn", "WebsocketConnectHandlerName", "WebsocketMessageHandlerArn",
    "WebsocketMessageHandlerName", "WebsocketDisconnectHandlerArn", "WebsocketDisconnectHandlerName",
)  # fmt: skip


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


# --- the template --------------------------------------------------------------------------------


def _functions(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in template["Resources"].values():
        if resource["Type"] == FUNCTION:
            yield resource["Properties"]


def websocket_deployment_id(template: dict[str, Any]) -> str:
    """``WebsocketAPIDeployment`` + a hash of everything a deployment of the WebSocket API freezes."""
    deployed = {
        name: resource
        for name, resource in sorted(template["Resources"].items())
        if resource["Type"] in ("AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration")
        or (resource["Type"] == "AWS::ApiGatewayV2::Api" and name == "WebsocketAPI")
    }
    digest = hashlib.sha256(json.dumps(deployed, sort_keys=True).encode()).hexdigest()
    return f"WebsocketAPIDeployment{digest[:10]}"


def _rename_websocket_deployment(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    new_id = websocket_deployment_id(template)
    resources[new_id] = resources.pop("WebsocketAPIDeployment")
    resources["WebsocketAPIStage"]["Properties"]["DeploymentId"] = {"Ref": new_id}


def proxy_operation(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation in the shape SAM writes for its own Lambda proxy events.

    Chalice writes models, method responses and integration responses that a
    proxy integration never uses (~600 bytes per operation, 28 of them); the
    Lambda answers status and headers itself. ``contentHandling`` goes too:
    it only converts payloads of the binary media types, which go as well
    (`_slim_rest_definition`).
    """
    integration = operation["x-amazon-apigateway-integration"]
    kept = {key: integration[key] for key in ("type", "httpMethod", "uri") if key in integration}
    return {"responses": {}, "x-amazon-apigateway-integration": kept}


def _slim_rest_definition(template: dict[str, Any]) -> None:
    """One ``ANY`` proxy operation per path: Chalice routes by method itself (405 for one it lacks).

    Chalice's default binary media types (images, audio, archives) are dropped: every request and
    answer of this API is JSON or text (the page, its script and style), so they never applied.
    """
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    body.pop("definitions", None)
    body.pop("x-amazon-apigateway-binary-media-types", None)
    for path, path_item in body["paths"].items():
        operations = [proxy_operation(operation) for operation in path_item.values()]
        if any(operation != operations[0] for operation in operations):
            raise ValueError(f"{path}: methods integrate differently; cannot merge them into ANY")
        body["paths"][path] = {ANY_METHOD: operations[0]}


def finish_template(template: dict[str, Any]) -> dict[str, Any]:
    """What Chalice's output lacks; see the module docstring (step 2)."""
    functions = list(_functions(template))
    api_handler = template["Resources"]["APIHandler"]["Properties"]
    common = {key: api_handler[key] for key in ("MemorySize", "Timeout")}  # the stage's defaults
    template["Globals"]["Function"].update(Runtime=RUNTIME, Architectures=[ARCHITECTURE], **common)
    for function in functions:
        for said_once in ("Runtime", "Architectures", "Environment", "Tags", "Tracing"):  # Tracing: PassThrough
            function.pop(said_once, None)  # (Tags: Chalice's version stamp; the template's size is what counts)
        for key, value in common.items():
            if function.get(key) == value:
                del function[key]
        for event in function.get("Events", {}).values():
            if event["Type"] == "SQS" and event["Properties"].get("MaximumBatchingWindowInSeconds") == 0:  # the default
                del event["Properties"]["MaximumBatchingWindowInSeconds"]
    _rename_websocket_deployment(template)
    _slim_rest_definition(template)
    for duplicate in CHALICE_OUTPUTS:
        template["Outputs"].pop(duplicate, None)
    return template


def as_cli_packages(template_text: str, bucket: str = "a" * 63) -> dict[str, Any]:
    """The template as `aws cloudformation package` rewrites it: each CodeUri an S3 URL (63: the longest bucket name)."""
    template = load(template_text)
    for function in _functions(template):
        function["CodeUri"] = f"s3://{bucket}/{'0' * 32}"  # the CLI names the upload after its MD5
    return template


def cli_packaged_size(template_text: str) -> int:
    """Bytes `aws cloudformation deploy` would send: the CLI's re-dump, anchors expanded."""
    return len(dump_expanded(as_cli_packages(template_text)).encode("utf-8"))


# --- the zip -------------------------------------------------------------------------------------


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    base = top.split("-", 1)[0].lower().replace("python_", "")
    return base in PROVIDED_BY_RUNTIME or top in ("six.py",)


def _kept(name: str) -> bool:
    unused = name.startswith(UNUSED_PARTS) and not name.startswith(NEEDED_PARTS)
    return not (_provided(name) or "/__pycache__/" in name or unused)


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
    """app.py, chalicelib/ and Chalice's runtime module (chalice/app.py) as Chalice packed them."""
    with zipfile.ZipFile(chalice_zip) as source:
        for info in source.infolist():
            if info.filename == "app.py" or info.filename.startswith(("chalicelib/", "chalice/")):
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


# --- the command ---------------------------------------------------------------------------------


def chalice_package(stage: str, out: Path) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    command = [
        str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage,
        "--merge-template", str(ROOT / "infra" / "template.yaml"), "--template-format", "yaml", str(out),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", default=str(ROOT / "build"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    chalice_package(args.stage, out)
    template_path = out / "sam.yaml"
    text = dump_expanded(finish_template(load(template_path.read_text())))
    template_path.write_text(text)
    chalice_zip = out / "chalice.zip"
    (out / "deployment.zip").replace(chalice_zip)
    size = build_zip(chalice_zip, Platform.lambda_target(), out / "deployment.zip")
    chalice_zip.unlink()
    packaged = cli_packaged_size(text)
    print(
        f"build/sam.yaml ({len(text.encode()):,} bytes; {packaged:,} as `aws cloudformation package` writes it,"
        f" limit through S3 {S3_TEMPLATE_LIMIT:,}) and build/deployment.zip ({size / 1e6:.2f} MB, {RUNTIME} {ARCHITECTURE})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
