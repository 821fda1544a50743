"""EventBridge presets: AWS events routed into a channel by the send function, through an input transformer."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.inbox_tables import InboxMessage
from infra.deploy import presets
from tests import packaging
from tests.conftest import Api, LambdaClient, Worker

PRESETS = {rule: (parameter, event) for rule, parameter, event in presets.PRESETS.values()}
transformed = presets.transformed


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


@pytest.mark.parametrize("preset", sorted(presets.PRESETS))
def test_the_local_sample_is_what_the_packaged_rule_makes_of_it(template: dict[str, Any], preset: str) -> None:
    """`make event` reads the merge template; the deployed rule is the packaged one: the same payload."""
    rule, _, event = presets.PRESETS[preset]
    assert presets.sample_send(preset, "ops") == transformed(template["Resources"][rule], event, "ops")
