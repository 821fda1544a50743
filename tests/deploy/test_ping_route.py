"""A ping costs no function: deployed, a mock route answers it, as the local gateway does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.deploy import package
from infra.local.apigateway.websocket import MOCK_ROUTES, mock_reply
from tests import packaging


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return packaging.template()


def _ref(value: Any) -> str:
    return str(value["Ref"]) if isinstance(value, dict) else ""


def test_the_ping_route_is_a_mock_with_the_local_gateways_answer(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["WebsocketAPI"]["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    route = resources["WebsocketPingRoute"]["Properties"]
    assert route["RouteKey"] == "ping" and route["RouteResponseSelectionExpression"] == "$default"
    integration_name = route["Target"]["Fn::Join"][1][1]["Ref"]
    integration = resources[integration_name]["Properties"]
    assert integration["IntegrationType"] == "MOCK"
    assert json.loads(integration["RequestTemplates"]["$default"]) == {"statusCode": 200}
    (answer,) = [
        r["Properties"] for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::IntegrationResponse" and _ref(r["Properties"]["IntegrationId"]) == integration_name
    ]  # fmt: skip
    assert answer["IntegrationResponseKey"] == "$default"
    assert json.loads(answer["ResponseTemplates"]["$default"]) == json.loads(MOCK_ROUTES["ping"]) == {"type": "pong"}
    # Without a route response API Gateway answers nothing on a WebSocket route.
    assert [
        r["Properties"]["RouteResponseKey"] for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::RouteResponse" and _ref(r["Properties"]["RouteId"]) == "WebsocketPingRoute"
    ] == ["$default"]  # fmt: skip
    assert mock_reply('{"action":"ping"}') == MOCK_ROUTES["ping"]


def test_the_deployment_waits_for_every_route_integration_and_their_responses(template: dict[str, Any]) -> None:
    """Chalice's deployment waited for its own three routes only: the mock route could be left out of it."""
    kinds = package.WEBSOCKET_DEPLOYED
    deployed = sorted(name for name, r in template["Resources"].items() if r["Type"] in kinds)
    assert {"WebsocketPingRoute", "WebsocketPingRouteResponse", "WebsocketPingIntegrationResponse"} <= set(deployed)
    (deployment,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Deployment"]
    assert deployment["DependsOn"] == deployed


@pytest.mark.parametrize("name", ["WebsocketPingRouteResponse", "WebsocketPingIntegrationResponse"])
def test_changing_a_response_renames_the_deployment(template: dict[str, Any], name: str) -> None:
    changed = json.loads(json.dumps(template))
    changed["Resources"][name]["Properties"]["ModelSelectionExpression"] = "changed"
    assert package.websocket_deployment_id(changed) != package.websocket_deployment_id(template)
