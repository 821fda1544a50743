"""``make package``: Chalice's SAM template merged with infra/deploy/template.yaml, and a lean zip for the runtime.

1. ``chalice package --merge-template infra/deploy/template.yaml`` writes the
   template and a zip.
2. The template is finished where Chalice cannot say it: every function gets
   ``RUNTIME`` and ``ARCHITECTURE`` once, in ``Globals`` (Chalice copies the
   *local* Python version into every function), its per-function
   environment, tags and default tracing are dropped (the template's ``Globals`` is the only source, so a
   stage's local table names never reach AWS), and the WebSocket deployment
   is renamed after a hash of the routes and integrations it deploys
   (CloudFormation only redeploys an ``AWS::ApiGatewayV2::Deployment`` whose
   logical id changes). Every function must run as a role the merge template
   writes (``manage_iam_role`` is false: Chalice writes ``Role: null``). It is
   written without YAML anchors, as ``aws cloudformation package`` would
   expand them anyway.
3. The zip's third-party packages are replaced by wheels for ``RUNTIME`` on
   ``ARCHITECTURE``, slimmed (`infra.deploy.bundle`).

Usage: ``python -m infra.deploy.package [--stage prod] [--out build]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.deploy.bundle import ARCHITECTURE, RUNTIME, Platform, build_zip
from infra.deploy.cfn_yaml import dump_expanded, load

ROOT = Path(__file__).resolve().parents[2]
S3_TEMPLATE_LIMIT = 1_048_576  # bytes of a template deployed through S3 (docs/deploy.md: `deploy --s3-bucket`)
FUNCTION = "AWS::Serverless::Function"
ANY_METHOD = "x-amazon-apigateway-any-method"
# Chalice's outputs that ours name better (HttpApiUrl, WebSocketUrl, SendFunctionArn) or nobody reads.
CHALICE_OUTPUTS = (
    "EndpointURL", "RestAPIId", "WebsocketAPIId", "WebsocketConnectEndpointURL", "APIHandlerArn", "APIHandlerName",
    "WebsocketConnectHandlerArn", "WebsocketConnectHandlerName", "WebsocketMessageHandlerArn",
    "WebsocketMessageHandlerName", "WebsocketDisconnectHandlerArn", "WebsocketDisconnectHandlerName",
)  # fmt: skip


# --- the template --------------------------------------------------------------------------------


def _functions(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in template["Resources"].values():
        if resource["Type"] == FUNCTION:
            yield resource["Properties"]


WEBSOCKET_DEPLOYED = (
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::RouteResponse",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::IntegrationResponse",
)


def websocket_deployment_id(template: dict[str, Any]) -> str:
    """``WebsocketAPIDeployment`` + a hash of everything a deployment of the WebSocket API freezes."""
    deployed = {
        name: resource
        for name, resource in sorted(template["Resources"].items())
        if resource["Type"] in WEBSOCKET_DEPLOYED or (resource["Type"] == "AWS::ApiGatewayV2::Api" and name == "WebsocketAPI")
    }
    digest = hashlib.sha256(json.dumps(deployed, sort_keys=True).encode()).hexdigest()
    return f"WebsocketAPIDeployment{digest[:10]}"


def _rename_websocket_deployment(template: dict[str, Any]) -> None:
    """Renamed after what it deploys, and made after all of it.

    Chalice makes the deployment wait for its own three routes only: the
    merge template's mock ``ping`` route and its responses would otherwise
    be deployed or not depending on the order CloudFormation happened to
    create them in.
    """
    resources = template["Resources"]
    new_id = websocket_deployment_id(template)
    deployment = resources[new_id] = resources.pop("WebsocketAPIDeployment")
    deployment["DependsOn"] = sorted(name for name, r in resources.items() if r["Type"] in WEBSOCKET_DEPLOYED)
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


def check_roles(template: dict[str, Any]) -> None:
    """Every function runs as a role infra/deploy/template.yaml writes: Chalice manages none (.chalice/config.json)."""
    resources = template["Resources"]
    for name, resource in resources.items():
        if resource["Type"] == FUNCTION:
            role = resource["Properties"].get("Role")
            target = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
            if resources.get(target, {}).get("Type") != "AWS::IAM::Role":
                raise ValueError(f"{name}: Role must be Fn::GetAtt of a role in infra/deploy/template.yaml, not {role!r}")


def finish_template(template: dict[str, Any]) -> dict[str, Any]:
    """What Chalice's output lacks; see the module docstring (step 2)."""
    check_roles(template)
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


# --- the command ---------------------------------------------------------------------------------


def chalice_package(stage: str, out: Path) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    command = [
        str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage,
        "--merge-template", str(ROOT / "infra" / "deploy" / "template.yaml"), "--template-format", "yaml", str(out),
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
