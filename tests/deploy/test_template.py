"""The packaged CloudFormation template (``make package``) and deployment.zip."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.core.config import load_settings
from chalicelib.counts import stream
from chalicelib.realtime import stream_mapping
from chalicelib.storage.tables import MODELS, create_tables
from infra.deploy import bundle
from infra.deploy.cfn_yaml import load
from tests import packaging

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "InboxTable": "inbox",
    "ChannelsTable": "channels",
    "CountersTable": "counters",
    "IdempotencyTable": "idempotency",
    "ConnectionsTable": "connections",
    "SubscribersTable": "subscribers",
    "SendsTable": "sends",
}
TABLE_ENV = packaging.TABLE_VARIABLES
FUNCTIONS = ["APIHandler", "Send", "Deliver", "FanOut", "Wake", "WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect"]


def _load(path: Path) -> dict[str, Any]:
    return load(path.read_text())


@pytest.fixture
def packaged() -> Path:
    return packaging.packaged()


@pytest.fixture
def template() -> dict[str, Any]:
    return packaging.template()


@pytest.fixture
def transformed() -> dict[str, Any]:
    return packaging.transformed()


@pytest.mark.parametrize("name", ["sam.yaml", "transformed.json"])
def test_cfn_lint_passes(packaged: Path, transformed: dict[str, Any], name: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(packaged / name)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_gets_its_configuration_by_ref(transformed: dict[str, Any], function: str) -> None:
    variables = transformed["Resources"][function]["Properties"]["Environment"]["Variables"]
    for name, table in TABLE_ENV.items():
        assert variables[name] == {"Ref": table}
    for name, scheme in (("INAPP_WS_ENDPOINT", "https"), ("INAPP_WS_URL", "wss")):
        stage = transformed["Resources"]["WebsocketAPIStage"]["Properties"]["StageName"]
        assert variables[name] == {
            "Fn::Sub": f"{scheme}://${{WebsocketAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}"
        }
    assert "INAPP_WS_API_ID" not in variables  # the code's fallback from an id writes amazonaws.com
    assert variables["INAPP_SECRET_PARAMETER"] == {"Ref": "SecretParameterName"}
    assert variables["INAPP_RETENTION_DAYS"] == {"Ref": "RetentionDays"}
    assert variables["INAPP_MAX_CONNECTIONS_PER_USER"] == {"Ref": "MaxConnectionsPerUser"}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert "INAPP_JWT_SECRET" not in variables  # never a plaintext secret


def _sub(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{([\w:]+)\}", lambda m: values[m.group(1)], text)


def test_the_websocket_endpoints_follow_the_partition(transformed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """In China the domain is amazonaws.com.cn: the template passes whole endpoints built with AWS::URLSuffix."""
    variables = transformed["Resources"]["Deliver"]["Properties"]["Environment"]["Variables"]
    china = {"WebsocketAPI": "abc123", "AWS::Region": "cn-north-1", "AWS::URLSuffix": "amazonaws.com.cn"}
    for name in ("INAPP_WS_ENDPOINT", "INAPP_WS_URL"):
        monkeypatch.setenv(name, _sub(variables[name]["Fn::Sub"], china))
    monkeypatch.setenv("AWS_REGION", "cn-north-1")
    settings = load_settings()
    assert settings.ws_management_endpoint == "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/api"
    assert settings.ws_client_url == "wss://abc123.execute-api.cn-north-1.amazonaws.com.cn/api"
    assert _sub(transformed["Outputs"]["WebSocketUrl"]["Value"]["Fn::Sub"], china) == settings.ws_client_url


def test_no_address_in_the_template_hard_codes_the_partitions_domain(packaged: Path) -> None:
    """Only service principals (the same in every partition) may spell amazonaws.com; addresses use AWS::URLSuffix."""

    def strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from strings(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v, key)
        elif isinstance(value, str):
            yield key, value

    for template in (_load(packaged / "sam.yaml"), packaging.transformed()):
        for key, text in strings(template):
            if "amazonaws.com" in text and key not in ("Description", "AssertDescription"):
                assert re.fullmatch(r"[a-z-]+\.amazonaws\.com", text) and key in ("Service", "Principal"), (key, text)


def test_configuration_has_one_source_the_templates_globals(template: dict[str, Any]) -> None:
    """A stage's local table names (.chalice/config.json) must never override the Refs."""
    for function in FUNCTIONS:
        assert "Environment" not in template["Resources"][function]["Properties"], function


def test_stream_mapping_reports_partial_failures_and_bounds_retries(template: dict[str, Any]) -> None:
    events = template["Resources"]["Deliver"]["Properties"]["Events"]
    (mapping,) = [e["Properties"] for e in events.values() if e["Type"] == "DynamoDB"]
    assert mapping["Stream"] == {"Fn::GetAtt": ["InboxTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 24 * 3600
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeliveryFailureQueue", "Arn"]}
    assert template["Resources"]["DeliveryFailureQueue"]["Type"] == "AWS::SQS::Queue"


def test_stream_mapping_is_tuned_as_the_local_poller_reads_it(template: dict[str, Any]) -> None:
    (mapping,) = [e["Properties"] for e in template["Resources"]["Deliver"]["Properties"]["Events"].values()]
    assert mapping["BatchSize"] == stream_mapping.STREAM_BATCH_SIZE
    assert mapping["MaximumBatchingWindowInSeconds"] == stream_mapping.STREAM_BATCH_WINDOW_SECONDS
    assert mapping["MaximumRetryAttempts"] == stream_mapping.STREAM_MAX_RETRY_ATTEMPTS
    assert mapping["MaximumRecordAgeInSeconds"] == stream_mapping.STREAM_MAX_RECORD_AGE_SECONDS
    # Lambda keeps a shard's records in order only with one batch at a time per shard: with more, only
    # each item's records stay in order, and the counts' sequence guard needs a whole user's (counts.py).
    assert mapping["ParallelizationFactor"] == 1
    # Lambda names a batch's shard only in tumbling-window events; the counts' guard is per shard, and
    # outlives the records it guards (those older than the maximum record age are never handed over).
    assert mapping["TumblingWindowInSeconds"] == 900
    assert stream.GUARD_KEPT_SECONDS > stream_mapping.STREAM_MAX_RECORD_AGE_SECONDS
    assert "StreamParallelization" not in template["Parameters"]


def test_stream_mapping_starts_at_the_oldest_record(template: dict[str, Any], transformed: dict[str, Any]) -> None:
    """LATEST skips what was written while the mapping was being (re)created; the counts' guard makes replays harmless."""
    (mapping,) = [e["Properties"] for e in template["Resources"]["Deliver"]["Properties"]["Events"].values()]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    mappings = [r["Properties"] for r in transformed["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    (deployed,) = [m for m in mappings if m["EventSourceArn"] == {"Fn::GetAtt": ["InboxTable", "StreamArn"]}]
    assert deployed["StartingPosition"] == "TRIM_HORIZON"


def test_send_keeps_asynchronous_invocations_that_fail_for_good(transformed: dict[str, Any]) -> None:
    """EventBridge and SNS invoke send asynchronously: Lambda retries, then hands the event to a queue, never drops it."""
    resources = transformed["Resources"]
    (config,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert config["FunctionName"] == {"Ref": "Send"} and config["Qualifier"] == "$LATEST"
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["SendFailureQueue", "Arn"]}
    queue = resources["SendFailureQueue"]
    assert queue["Type"] == "AWS::SQS::Queue" and queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert (
        "SendRole",
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::Sub": "${SendFailureQueue.Arn}"}},
    ) in list(_statements(transformed))
    assert transformed["Outputs"]["SendFailureQueueUrl"]["Value"] == {"Ref": "SendFailureQueue"}


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_iam_is_least_privilege(template: dict[str, Any]) -> None:
    roles = {name for name, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    # A role per function, and the one EventBridge Scheduler invokes Wake with (tests/deploy/test_grants.py).
    assert roles == {f"{f}Role" if f != "APIHandler" else "ApiHandlerRole" for f in FUNCTIONS} | {"SchedulerRole"}
    for role, statement in _statements(template):
        actions = _as_list(statement["Action"])
        assert statement["Effect"] == "Allow", role
        assert not any(a in ("*", "dynamodb:*", "execute-api:*", "sqs:*", "ssm:*") for a in actions), (role, actions)
        for resource in _as_list(statement["Resource"]):
            assert resource != "*", (role, statement)
            text = json.dumps(resource)
            if any(a.startswith("dynamodb:") for a in actions):
                assert any(table in text for table in TABLES), (role, resource)
            if "execute-api:ManageConnections" in actions:  # posting frames, and closing connections
                assert re.search(r"\$\{WebsocketAPI\}/api/(POST|DELETE)/@connections/\*", text), (role, text)
                assert actions == ["execute-api:ManageConnections"]


def test_each_role_has_only_what_its_function_does(template: dict[str, Any]) -> None:
    def actions(role: str) -> set[str]:
        return {a for r, s in _statements(template) if r == role for a in _as_list(s["Action"])}

    assert "execute-api:ManageConnections" not in actions("ApiHandlerRole") | actions("SendRole")
    # The $default route's DynamoDB actions: its pong's lease from the post budget (budget# keys), its frame's
    # bucket (rate#conn# keys), and reading and forgetting the connection itself when its token expired (conn#
    # and user# keys).
    message_grants = [s for r, s in _statements(template) if r == "WebsocketMessageRole" and "Condition" in s]
    assert sorted(s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for s in message_grants) == [
        ["budget#*", "rate#conn#*"],
        ["conn#*", "user#*"],
    ]
    assert {a for a in actions("WebsocketMessageRole") if a.startswith("dynamodb:")} == {
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
    }
    assert "dynamodb:GetRecords" in actions("DeliverRole") and "dynamodb:GetRecords" not in actions("ApiHandlerRole")
    assert "dynamodb:Scan" not in actions("SendRole") | actions("DeliverRole")


def test_the_fan_out_queue_redrives_to_a_dlq_after_the_workers_receives_and_outlives_its_timeout(
    template: dict[str, Any],
) -> None:
    from chalicelib.storage.queue import MAX_RECEIVES

    resources = template["Resources"]
    queue = resources["FanOutQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FanOutDeadLetterQueue", "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }
    assert queue["VisibilityTimeout"] >= 6 * resources["FanOut"]["Properties"]["Timeout"]  # AWS's advice for Lambda
    (mapping,) = resources["FanOut"]["Properties"]["Events"].values()
    assert mapping["Type"] == "SQS" and mapping["Properties"]["Queue"] == {"Fn::GetAtt": ["FanOutQueue", "Arn"]}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_websocket_routes_rest_api_and_throttling_exist(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    routes = {r["Properties"]["RouteKey"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes == {"$connect", "$default", "$disconnect", "ping"}  # ping: a mock route, no function
    assert resources["RestAPI"]["Type"] == "AWS::Serverless::Api"
    (throttle,) = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] and throttle["ThrottlingBurstLimit"]
    assert resources["WebsocketAPIStage"]["Properties"]["DefaultRouteSettings"]["ThrottlingRateLimit"]
    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert {"/messages", "/me/messages", "/me/unread-count", "/"} <= set(paths)


def test_deployment_zip_is_small_and_holds_only_lambda_code(packaged: Path) -> None:
    archive = packaged / "deployment.zip"
    assert archive.stat().st_size <= 5_000_000  # the benchmark's "MB" too
    names = zipfile.ZipFile(archive).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {"app.py", "chalicelib", "chalice", "jwt", "pynamodb", "cryptography", "aws_lambda_powertools"} <= tops
    forbidden = ("moto", "pytest", "infra", "tests", "bench", "botocore", "urllib3", "playwright", "websockets", "cfnlint")
    for name in (*forbidden, "yaml"):  # yaml: the OpenAPI document goes in as JSON
        assert name not in tops, name


def test_deployment_zip_keeps_each_packages_metadata_and_licenses_but_not_what_only_pip_reads(packaged: Path) -> None:
    names = zipfile.ZipFile(packaged / "deployment.zip").namelist()
    infos = [n for n in names if ".dist-info/" in n]
    assert [n for n in infos if n.endswith(("/RECORD", "/INSTALLER", "/REQUESTED")) or "/sboms/" in n] == []
    assert any(n.startswith("cryptography-") and n.endswith("/licenses/LICENSE.APACHE") for n in infos)
    assert len([n for n in infos if n.endswith("/METADATA")]) == len({n.split("/", 1)[0] for n in infos})


def test_deployment_zip_ships_sources_only(packaged: Path) -> None:
    """No ``.pyc``: the 5 MB budget has no room for them (bundle.py gives the numbers)."""
    names = zipfile.ZipFile(packaged / "deployment.zip").namelist()
    assert not [n for n in names if n.endswith(".pyc") or "/__pycache__/" in n]


ELF_MACHINE = {"aarch64": 183, "x86_64": 62}


def test_deployment_zip_wheels_match_the_runtime_and_architecture(packaged: Path) -> None:
    """Native code for the template's Runtime on arm64, never the build machine's Python or CPU."""
    target = bundle.Platform.lambda_target()
    abi = "cp" + str(target.python).replace(".", "")
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        natives = [n for n in archive.namelist() if n.endswith(".so")]
        assert natives
        for name in natives:
            assert name.endswith(".abi3.so") or f".cpython-{abi[2:]}-{target.machine}-linux-gnu.so" in name, name
            header = archive.read(name)[:20]
            assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE[str(target.machine)], name
        for name in (n for n in archive.namelist() if n.endswith(".dist-info/WHEEL")):
            tags = [line.split(": ", 1)[1] for line in archive.read(name).decode().splitlines() if line.startswith("Tag: ")]
            assert any(t.endswith("-any") or str(target.machine) in t for t in tags), (name, tags)


def test_deployment_zip_recipe_imports_the_app_and_publishes_a_metric(packaged: Path, tmp_path: Path) -> None:
    """The same recipe built for this machine (the arm64 zip cannot load here): app, RS256 and Powertools import from it."""
    local_zip = tmp_path / "local.zip"
    chalice_zip = tmp_path / "chalice.zip"
    with zipfile.ZipFile(packaged / "deployment.zip") as source, zipfile.ZipFile(chalice_zip, "w") as target:
        for name in source.namelist():
            if name == "app.py" or name.startswith(("chalicelib/", "chalice/")):
                target.writestr(name, source.read(name))
    bundle.build_zip(chalice_zip, bundle.LOCAL, local_zip)
    site = tmp_path / "site"
    zipfile.ZipFile(local_zip).extractall(site)
    script = (
        "import sys, jwt, app\n"
        "from chalicelib.core import metrics\n"
        "from cryptography.hazmat.primitives.asymmetric import rsa\n"
        "key = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n"
        "token = jwt.encode({'sub': 'u'}, key, algorithm='RS256')\n"
        "assert jwt.decode(token, key.public_key(), algorithms=['RS256']) == {'sub': 'u'}\n"
        f"assert jwt.__file__.startswith({str(site)!r})\n"
        "metrics.add(metrics.SENDS); metrics.flush()\n"
        "from chalicelib.api import openapi_document\n"
        "assert openapi_document()['paths']['/me/messages'] and 'yaml' not in sys.modules\n"
        "import aws_lambda_powertools\n"
        f"assert aws_lambda_powertools.__file__.startswith({str(site)!r})\n"
    )
    # The Lambda runtime provides boto3/botocore/urllib3; here they come from the venv, everything else from the zip.
    venv_site = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "botocore").is_dir())
    shadow = tmp_path / "runtime"
    shadow.mkdir()
    for provided in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        (shadow / provided).symlink_to(venv_site / provided)
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=site,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{site}:{shadow}", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr
    assert '"Sends":[1.0]' in result.stdout


def _index_shape(index: dict[str, Any]) -> dict[str, Any]:
    projection = index["Projection"]
    return {
        "name": index["IndexName"],
        "keys": index["KeySchema"],
        "projection": (projection["ProjectionType"], sorted(projection.get("NonKeyAttributes", []))),
    }


def _table_shape(description: dict[str, Any]) -> dict[str, Any]:
    return {
        "keys": description["KeySchema"],
        "attributes": sorted(description["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
        "indexes": sorted((_index_shape(i) for i in description.get("GlobalSecondaryIndexes", [])), key=lambda i: i["name"]),
        "stream": (description.get("StreamSpecification") or {}).get("StreamViewType"),
        "billing": (description.get("BillingModeSummary") or {}).get("BillingMode", "PAY_PER_REQUEST"),
    }


def test_template_tables_match_the_models(aws: None) -> None:
    source = _load(ROOT / "infra" / "deploy" / "template.yaml")
    tables_only = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Stage": source["Parameters"]["Stage"]},
        "Conditions": {"IsProd": source["Conditions"]["IsProd"]},
        "Resources": {name: source["Resources"][name] for name in TABLES},
        "Outputs": {name: {"Value": {"Ref": name}} for name in TABLES},
    }
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack(
        StackName="tables",
        TemplateBody=json.dumps(tables_only),
        Parameters=[{"ParameterKey": "Stage", "ParameterValue": "dev"}],
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cloudformation.describe_stacks(StackName="tables")["Stacks"][0]["Outputs"]
    }
    create_tables(load_settings())
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for logical, kind in TABLES.items():
        from_template = dynamodb.describe_table(TableName=outputs[logical])["Table"]
        from_models = dynamodb.describe_table(TableName=MODELS[kind].Meta.table_name)["Table"]
        assert _table_shape(from_template) == _table_shape(from_models), logical
        ttl_attribute = MODELS[kind]._ttl_attribute()
        spec = source["Resources"][logical]["Properties"].get("TimeToLiveSpecification")
        assert (spec["AttributeName"] if spec else None) == (ttl_attribute.attr_name if ttl_attribute else None), logical
