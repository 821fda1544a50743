"""EventBridge presets: AWS events routed into a channel by the send function, through an input transformer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from tests import packaging
from tests.conftest import Api, LambdaClient, Worker

# Samples in the shape of AWS's documented events (ids and names made up).
PIPELINE_FAILED = {
    "version": "0",
    "id": "01234567-0123-0123-0123-012345678901",
    "detail-type": "CodePipeline Pipeline Execution State Change",
    "source": "aws.codepipeline",
    "account": "123456789012",
    "time": "2026-12-07T02:00:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:codepipeline:eu-west-1:123456789012:release-web"],
    "detail": {"pipeline": "release-web", "execution-id": "b7b1c1c5-1111-2222-3333-4444", "state": "FAILED", "version": 3},
}
HEALTH_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "AWS Health Event",
    "source": "aws.health",
    "account": "123456789012",
    "time": "2026-12-07T02:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "eventArn": "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_7f35c8ae",
        "service": "EC2",
        "eventTypeCode": "AWS_EC2_OPERATIONAL_ISSUE",
        "eventTypeCategory": "issue",
        "eventDescription": [{"language": "en_US", "latestDescription": 'Elevated "API" error rates'}],
    },
}
PRESETS = {
    "PipelineFailuresRule": ("PipelineFailuresChannel", PIPELINE_FAILED),
    "HealthEventsRule": ("HealthEventsChannel", HEALTH_EVENT),
}


def _path(event: dict[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


def transformed(rule: dict[str, Any], event: dict[str, Any], channel: str) -> dict[str, Any]:
    """What EventBridge hands the target: each ``<name>`` replaced, as text inside quotes, as JSON outside them."""
    transformer = rule["Properties"]["Targets"][0]["InputTransformer"]
    template = transformer["InputTemplate"]["Fn::Sub"]
    template = re.sub(r"\$\{[A-Za-z]+Channel\}", channel, template)
    values = {name: _path(event, path) for name, path in transformer["InputPathsMap"].items()}

    def fill(match: re.Match[str]) -> str:
        inside = template[: match.start()].count('"') % 2 == 1
        value = values[match.group(1)]
        return str(value) if inside else json.dumps(value)

    return dict(json.loads(re.sub(r"<([A-Za-z]+)>", fill, template)))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return packaging.template()


def test_presets_are_off_unless_a_channel_is_named(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for rule, (parameter, _) in PRESETS.items():
        assert template["Parameters"][parameter]["Default"] == ""
        permission = rule.replace("Rule", "Permission")
        assert resources[rule]["Condition"] == resources[permission]["Condition"]
        condition = template["Conditions"][resources[rule]["Condition"]]
        assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}
        assert resources[permission]["Properties"]["Principal"] == "events.amazonaws.com"
        assert resources[permission]["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule, "Arn"]}
        assert resources[rule]["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["Send", "Arn"]}


@pytest.mark.parametrize("rule", sorted(PRESETS))
def test_the_rule_matches_its_sample_event(template: dict[str, Any], rule: str) -> None:
    pattern = template["Resources"][rule]["Properties"]["EventPattern"]
    event = PRESETS[rule][1]
    assert event["source"] in pattern["source"] and event["detail-type"] in pattern["detail-type"]
    for field, allowed in pattern.get("detail", {}).items():
        assert event["detail"][field] in allowed


@pytest.mark.parametrize("rule", sorted(PRESETS))
def test_a_preset_event_reaches_every_subscriber_once_however_often_it_comes(
    template: dict[str, Any], rule: str, api: Api, admin_token: str, lambdas: LambdaClient, worker: Worker
) -> None:
    assert api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"}).status_code == 201
    added = api.call("POST", "/channels/ops/subscribers", token=admin_token, json_body={"add": ["oncall-a", "oncall-b"]})
    assert added.json_body == {"added": 2, "removed": 0}
    payload = transformed(template["Resources"][rule], PRESETS[rule][1], "ops")
    first = lambdas.invoke("send", payload).payload
    assert lambdas.invoke("send", payload).payload == first  # EventBridge delivers at least once: the same event again
    worker.drain()
    log = api.call("GET", f"/messages/{first['id']}", token=admin_token).json_body
    assert (log["status"], log["recipients"], log["sender"]) == ("done", 2, f"events:{PRESETS[rule][1]['source']}")
    for user in ("oncall-a", "oncall-b"):
        (message,) = InboxMessage.query(user)
        assert message.id == first["id"] and message.severity == "high" and message.url.startswith("https://")
    assert "release-web" in message.title or "EC2" in message.title
