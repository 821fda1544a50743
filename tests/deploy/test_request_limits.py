"""The per-user request limit as deployed: a WAF rate-based rule per token on the /me routes, the exact limit in the app."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.api.pages import openapi_document
from chalicelib.core.config import DEFAULT_USER_BURST, DEFAULT_USER_RATE
from tests import packaging

WAF_FLOOR = 10  # the lowest limit a rate-based rule takes
WAF_WINDOWS = (60, 120, 300, 600)  # the evaluation windows it offers, in seconds


@pytest.fixture
def template() -> dict[str, Any]:
    return packaging.template()


@pytest.fixture
def transformed() -> dict[str, Any]:
    return packaging.transformed()


def _rule(template: dict[str, Any]) -> dict[str, Any]:
    (rule,) = template["Resources"]["UserRequestsWebAcl"]["Properties"]["Rules"]
    return dict(rule)


def test_a_rate_based_rule_counts_me_requests_per_authorization_header(template: dict[str, Any]) -> None:
    acl = template["Resources"]["UserRequestsWebAcl"]
    assert acl["Type"] == "AWS::WAFv2::WebACL" and acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    statement = _rule(template)["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "CUSTOM_KEYS"
    assert statement["CustomKeys"] == [
        {"Header": {"Name": "authorization", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]
    assert statement["EvaluationWindowSec"] in WAF_WINDOWS and statement["Limit"] == {"Ref": "WafUserRequestsPerMinute"}
    match = statement["ScopeDownStatement"]["ByteMatchStatement"]
    assert (match["FieldToMatch"], match["PositionalConstraint"], match["SearchString"]) == ({"UriPath": {}}, "CONTAINS", "/me/")


def test_the_scope_is_exactly_the_user_routes() -> None:
    """Every /me route's path holds "/me/" (the stage's prefix or a custom domain before it); no admin route's does."""
    paths = openapi_document()["paths"]
    for path in paths:
        assert ("/me/" in f"/api{path}") == path.startswith("/me/"), path
    assert sum(path.startswith("/me/") for path in paths) >= 8


def test_past_the_fence_the_answer_is_429_in_the_apps_error_shape_with_retry_after(template: dict[str, Any]) -> None:
    block = _rule(template)["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    assert block["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "60"}]
    body = template["Resources"]["UserRequestsWebAcl"]["Properties"]["CustomResponseBodies"][block["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    answer = json.loads(body["Content"])
    assert answer["Code"] == "TooManyRequestsError" and answer["Message"].startswith("rate: ")


def test_the_fence_sits_above_what_the_app_allows_a_minute_and_the_app_has_the_same_defaults(template: dict[str, Any]) -> None:
    """WAF estimates: at twice the app's 1,300 a minute, a client within the app's limit is never fenced."""
    parameters = template["Parameters"]
    assert (parameters["UserRateLimit"]["Default"], parameters["UserBurstLimit"]["Default"]) == (
        DEFAULT_USER_RATE,
        DEFAULT_USER_BURST,
    )
    per_minute = DEFAULT_USER_RATE * 60 + DEFAULT_USER_BURST
    assert parameters["WafUserRequestsPerMinute"]["Default"] >= max(2 * per_minute, WAF_FLOOR)


def test_the_web_acl_guards_the_rest_apis_stage_and_zero_turns_it_off(
    template: dict[str, Any], transformed: dict[str, Any]
) -> None:
    association = transformed["Resources"]["UserRequestsWebAclAssociation"]
    (stage,) = [name for name, r in transformed["Resources"].items() if r["Type"] == "AWS::ApiGateway::Stage"]
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert arn == f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{RestAPI}}/stages/${{{stage}}}"
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["UserRequestsWebAcl", "Arn"]}
    associations = [r for r in template["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACLAssociation"]
    assert len(associations) == 1  # WAF cannot guard a WebSocket API: its frames are the app's to limit
    for name in ("UserRequestsWebAcl", "UserRequestsWebAclAssociation"):
        assert template["Resources"][name]["Condition"] == "HasUserWaf"
    assert template["Conditions"]["HasUserWaf"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WafUserRequestsPerMinute"}, 0]}]}


def test_the_functions_get_the_apps_limit_by_ref(transformed: dict[str, Any]) -> None:
    for function in ("APIHandler", "WebsocketMessage"):
        variables = transformed["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert (variables["INAPP_USER_RATE"], variables["INAPP_USER_BURST"]) == (
            {"Ref": "UserRateLimit"},
            {"Ref": "UserBurstLimit"},
        )


def _bucket_grant(template: dict[str, Any], role: str) -> dict[str, Any]:
    policy = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    (grant,) = [s for s in policy["Statement"] if "Condition" in s and s["Action"] == ["dynamodb:UpdateItem"]]
    return dict(grant)


def test_each_role_may_write_only_its_own_kind_of_bucket(template: dict[str, Any]) -> None:
    http, frames = _bucket_grant(template, "ApiHandlerRole"), _bucket_grant(template, "WebsocketMessageRole")
    for grant in (http, frames):
        assert grant["Action"] == ["dynamodb:UpdateItem"] and grant["Resource"] == {"Fn::Sub": "${ConnectionsTable.Arn}"}
    assert http["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["rate#user#*", "lease#bulk#*"]}}
    assert frames["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["budget#*", "rate#conn#*"]}}


def test_the_http_role_may_delete_only_bulk_leases_in_the_connections_table(template: dict[str, Any]) -> None:
    policy = template["Resources"]["ApiHandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    statements = policy["Statement"]
    deletes = [s for s in statements if "dynamodb:DeleteItem" in s["Action"] and "ConnectionsTable" in str(s["Resource"])]
    assert deletes == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:DeleteItem"],
            "Resource": {"Fn::Sub": "${ConnectionsTable.Arn}"},
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["lease#bulk#*"]}},
        }
    ]
