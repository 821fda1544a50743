"""The template's EventBridge presets, as EventBridge would run them: a sample event each, and what the rule hands `send`.

The deployed rules (`PipelineFailuresRule`, `HealthEventsRule` in
``infra/deploy/template.yaml``) match AWS events and invoke the ``send``
function with an input transformer's output. Locally there is no
EventBridge: ``python -m infra.local event`` (``make event``) renders a
rule's transformer for a sample event in the shape of AWS's documented one
and invokes the stack's ``send`` with it, as the rule would; the deploy
tests do the same against the packaged template.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.deploy import cfn_yaml

MERGE_TEMPLATE = Path(__file__).with_name("template.yaml")

# Samples in the shape of AWS's documented events (ids and names made up).
PIPELINE_FAILED: dict[str, Any] = {
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
HEALTH_EVENT: dict[str, Any] = {
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
PRESETS: dict[str, tuple[str, str, dict[str, Any]]] = {  # name → (rule, its channel parameter, a sample event)
    "pipeline": ("PipelineFailuresRule", "PipelineFailuresChannel", PIPELINE_FAILED),
    "health": ("HealthEventsRule", "HealthEventsChannel", HEALTH_EVENT),
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


def sample_send(preset: str, channel: str) -> dict[str, Any]:
    """The ``send`` payload the preset's rule would make of its sample event, for ``channel``."""
    rule, _, event = PRESETS[preset]
    resources = cfn_yaml.load(MERGE_TEMPLATE.read_text(encoding="utf-8"))["Resources"]
    return transformed(resources[rule], event, channel)
