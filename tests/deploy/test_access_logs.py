"""Both APIs write one JSON access-log line per request, to log groups that expire, and never a token.

API Gateway's access logs are the only record of what it answered itself
(throttling, a refused route) and the ground of the 429 alarm
(tests/deploy/test_alarms.py). The format is a template string: here it must
be JSON whose values are ``$context`` variables, carry the fields an
operator needs, and read nothing from the query string (the WebSocket's
``?token=``) or the headers (``Authorization``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests import packaging

COMMON = {"requestId", "ip", "caller", "status", "integrationError"}
# stage type in the transformed template → (its access-log property, the fields it must have, its log group)
STAGES = {
    "AWS::ApiGateway::Stage": ("AccessLogSetting", COMMON | {"resourcePath", "responseLength"}, "RestApiAccessLogGroup"),
    "AWS::ApiGatewayV2::Stage": ("AccessLogSettings", COMMON | {"routeKey"}, "WebSocketAccessLogGroup"),
}


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return packaging.transformed()


def access_log(transformed: dict[str, Any], kind: str) -> dict[str, Any]:
    (stage,) = [r["Properties"] for r in transformed["Resources"].values() if r["Type"] == kind]
    setting: dict[str, Any] = stage[STAGES[kind][0]]
    return setting


@pytest.mark.parametrize("kind", sorted(STAGES))
def test_each_stage_logs_json_lines_with_the_fields_an_operator_needs(transformed: dict[str, Any], kind: str) -> None:
    setting = access_log(transformed, kind)
    fields = json.loads(setting["Format"])
    assert set(fields) >= STAGES[kind][1]
    for name, value in fields.items():
        assert re.fullmatch(r"\$context\.[A-Za-z.]+", value), name
        assert not re.search(r"(?i)querystring|header|authorization|token|\.path$", value), name
    assert fields["requestId"] == "$context.requestId"  # API Gateway refuses a format without it


@pytest.mark.parametrize("kind", sorted(STAGES))
def test_each_stage_logs_to_its_own_group_that_expires_like_the_functions_logs(transformed: dict[str, Any], kind: str) -> None:
    group = STAGES[kind][2]
    assert access_log(transformed, kind)["DestinationArn"] == {"Fn::GetAtt": [group, "Arn"]}
    properties = transformed["Resources"][group]["Properties"]
    assert properties["LogGroupName"]["Fn::Sub"].startswith("/aws/apigateway/${AWS::StackName}/")
    functions = transformed["Resources"]["ApiHandlerLogGroup"]["Properties"]["RetentionInDays"]
    assert properties["RetentionInDays"] == functions


def test_the_deploy_docs_name_the_account_role_api_gateway_needs_to_log() -> None:
    text = " ".join((packaging.ROOT / "docs" / "deploy.md").read_text().split())
    assert "aws apigateway update-account" in text and "cloudwatchRoleArn" in text
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in text
