"""Every alarm and dashboard graph watches a metric that will exist.

CloudWatch accepts an alarm on any namespace, name and dimensions, and a
typo (or one dimension too many) leaves it in INSUFFICIENT_DATA forever.
So: AWS/* metrics must carry the dimension set AWS publishes them with,
each value pointing at a real resource of the right kind; our own metrics
must be named in chalicelib.core.metrics and carry exactly its dimensions, in
the namespace the functions are configured with.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.core import metrics
from tests import packaging

ALARMS = {
    "DeliveryFailureQueueAlarm",
    "StreamIteratorAgeAlarm",
    "FunctionErrorsAlarm",
    "FunctionThrottlesAlarm",
    "RestApi5xxAlarm",
    "WebSocketConnectErrorsAlarm",
    "FanOutFailuresAlarm",
    "FanOutDeadLetterAlarm",
    "SendFailureQueueAlarm",
    "DynamoDbWriteThrottlesAlarm",
    "DynamoDbReadThrottlesAlarm",
    "ApiThrottledAlarm",
}
ACCESS_LOG_NAMESPACE = "${MetricsNamespace}/AccessLogs"  # metrics the access logs' metric filters publish
# (namespace, metric) → the dimension sets AWS publishes it with.
AWS_METRICS: dict[tuple[str, str], set[tuple[str, ...]]] = {
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): {("QueueName",)},
    **{("AWS/Lambda", name): {("FunctionName",)} for name in ("IteratorAge", "Errors", "Throttles")},
    **{("AWS/ApiGateway", name): {("ApiName", "Stage")} for name in ("5XXError", "4XXError", "Count")},
    **{
        ("AWS/ApiGateway", name): {("ApiId", "Stage"), ("ApiId", "Stage", "Route")}
        for name in ("ExecutionError", "ConnectCount", "MessageCount")
    },
    **{("AWS/DynamoDB", name): {("TableName",)} for name in ("ReadThrottleEvents", "WriteThrottleEvents")},
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return packaging.template()


def _resource_type(template: dict[str, Any], name: str) -> str:
    return str(template["Resources"][name]["Type"])


def _sub(value: Any) -> str:
    """Any dimension value as the ``${…}`` text a dashboard would hold."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"${{{value['Ref']}}}"
    if "Fn::GetAtt" in value:
        return f"${{{'.'.join(value['Fn::GetAtt'])}}}"
    return str(value["Fn::Sub"])


def check_aws_dimension(template: dict[str, Any], name: str, value: str) -> None:
    resources = template["Resources"]
    if name == "QueueName":
        queue, attribute = re.fullmatch(r"\$\{(\w+)\.(\w+)\}", value).groups()  # type: ignore[union-attr]
        assert _resource_type(template, queue) == "AWS::SQS::Queue" and attribute == "QueueName"
    elif name == "FunctionName":
        function = re.fullmatch(r"\$\{(\w+)\}", value).group(1)  # type: ignore[union-attr]
        assert _resource_type(template, function) == "AWS::Serverless::Function"
    elif name == "ApiName":
        assert value == _sub(resources["RestAPI"]["Properties"]["Name"])
    elif name == "ApiId":
        assert value == "${WebsocketAPI}" and resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    elif name == "Stage":
        rest_stage = resources["RestAPI"]["Properties"]["StageName"]
        assert value == rest_stage == resources["WebsocketAPIStage"]["Properties"]["StageName"]
    elif name == "TableName":
        table = re.fullmatch(r"\$\{(\w+)\}", value).group(1)  # type: ignore[union-attr]
        assert _resource_type(template, table) == "AWS::DynamoDB::Table"
    elif name == "Route":
        routes = {r["Properties"]["RouteKey"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"}
        assert value in routes
        assert resources["WebsocketAPIStage"]["Properties"]["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    else:
        raise AssertionError(f"unexpected dimension {name}")


def check_access_log_metric(template: dict[str, Any], name: str, dimensions: list[tuple[str, str]]) -> None:
    """A metric one of the template's metric filters publishes from an API's access log (no dimensions)."""
    producers = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Logs::MetricFilter"
        for transformation in resource["Properties"]["MetricTransformations"]
        if transformation["MetricName"] == name and _sub(transformation["MetricNamespace"]) == ACCESS_LOG_NAMESPACE
    ]
    assert len(producers) == 1, name
    assert dimensions == [] and "Dimensions" not in producers[0]["MetricTransformations"][0], name
    group = producers[0]["LogGroupName"]["Ref"]
    stages = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] in ("AWS::ApiGatewayV2::Stage", "AWS::Serverless::Api")
    ]
    destinations = [(p.get("AccessLogSetting") or p.get("AccessLogSettings"))["DestinationArn"] for p in stages]
    assert {"Fn::GetAtt": [group, "Arn"]} in destinations, name
    fields = re.findall(r"\$\.(\w+)", producers[0]["FilterPattern"])
    for stage in stages:
        setting = stage.get("AccessLogSetting") or stage.get("AccessLogSettings")
        if setting["DestinationArn"] == {"Fn::GetAtt": [group, "Arn"]}:
            assert set(fields) <= set(json.loads(setting["Format"])), (name, fields)  # it filters on logged fields


def check_metric(template: dict[str, Any], namespace: str, name: str, dimensions: list[tuple[str, str]]) -> None:
    """One metric reference, every value in ``${…}`` form; fails with what is wrong."""
    if namespace == ACCESS_LOG_NAMESPACE:
        check_access_log_metric(template, name, dimensions)
        return
    if namespace == "${MetricsNamespace}":
        assert template["Parameters"]["MetricsNamespace"]["Default"] == metrics.DEFAULT_NAMESPACE
        assert name in metrics.METRIC_NAMES, name
        assert dict(dimensions) == metrics.DIMENSIONS and len(dimensions) == len(metrics.DIMENSIONS), (name, dimensions)
        return
    assert (namespace, name) in AWS_METRICS, (namespace, name)
    assert tuple(n for n, _ in dimensions) in AWS_METRICS[(namespace, name)], (name, dimensions)
    for dimension, value in dimensions:
        check_aws_dimension(template, dimension, value)


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    if "MetricName" in alarm:
        return [alarm]
    returned = [m for m in alarm["Metrics"] if m["ReturnData"]]
    assert len(returned) == 1 and "Expression" in returned[0]
    return [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]


def test_the_template_has_exactly_the_alarms_operations_documents(template: dict[str, Any]) -> None:
    alarms = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == ALARMS
    operations = (packaging.ROOT / "docs" / "operations.md").read_text()
    for alarm in ALARMS:
        assert f"`{alarm}`" in operations, alarm


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_watches_a_metric_that_exists(template: dict[str, Any], alarm: str) -> None:
    properties = template["Resources"][alarm]["Properties"]
    watched = _alarm_metrics(properties)
    assert watched
    for metric in watched:
        namespace = _sub(metric["Namespace"])
        dimensions = [(d["Name"], _sub(d["Value"])) for d in metric.get("Dimensions", [])]
        check_metric(template, namespace, metric["MetricName"], dimensions)


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_notifies_the_optional_topic_and_is_an_output(template: dict[str, Any], alarm: str) -> None:
    properties = template["Resources"][alarm]["Properties"]
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    assert properties["AlarmActions"] == notify and properties["OKActions"] == notify
    assert properties["TreatMissingData"] == "notBreaching"  # no data = nothing happened, not a failure
    assert template["Outputs"][f"{alarm}Name"]["Value"] == {"Ref": alarm}
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""


def test_every_function_is_in_the_errors_and_throttles_alarms(template: dict[str, Any]) -> None:
    functions = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    for alarm in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm"):
        watched = {m["Dimensions"][0]["Value"]["Ref"] for m in _alarm_metrics(template["Resources"][alarm]["Properties"])}
        assert watched == functions, alarm


def test_every_table_is_in_the_dynamodb_throttle_alarms(template: dict[str, Any]) -> None:
    tables = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    for alarm, metric in (
        ("DynamoDbWriteThrottlesAlarm", "WriteThrottleEvents"),
        ("DynamoDbReadThrottlesAlarm", "ReadThrottleEvents"),
    ):
        watched = _alarm_metrics(template["Resources"][alarm]["Properties"])
        assert {m["MetricName"] for m in watched} == {metric}
        assert {m["Dimensions"][0]["Value"]["Ref"] for m in watched} == tables, alarm


def test_the_429_alarm_watches_api_gateways_throttling_not_the_per_user_limits(template: dict[str, Any]) -> None:
    """API Gateway has no 429 metric; the per-user limits answer 429 by design (a noisy user), so only graphed."""
    watched = {m["MetricName"] for m in _alarm_metrics(template["Resources"]["ApiThrottledAlarm"]["Properties"])}
    assert watched == {"HttpThrottled", "WebSocket429"}
    patterns = {
        t["MetricName"]: r["Properties"]["FilterPattern"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        for t in r["Properties"]["MetricTransformations"]
    }
    assert patterns["HttpThrottled"] == '{ $.status = "429" && $.errorType = "THROTTLED" }'
    assert patterns["Http429"] == patterns["WebSocket429"] == '{ $.status = "429" }'


def _expand(rows: list[list[Any]]) -> list[tuple[list[str], dict[str, Any]]]:
    """CloudWatch's row shorthand: "." repeats the value above, a leading "..." all but the last values."""
    expanded: list[tuple[list[str], dict[str, Any]]] = []
    previous: list[str] = []
    for row in rows:
        options = row[-1] if isinstance(row[-1], dict) else {}
        values = [v for v in row if not isinstance(v, dict)]
        if values and values[0] == "...":
            values = previous[: len(previous) - (len(values) - 1)] + values[1:]
        values = [previous[i] if v == "." else v for i, v in enumerate(values)]
        expanded.append((values, options))
        previous = values
    return expanded


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    return body


def test_every_dashboard_graph_shows_a_metric_that_exists(template: dict[str, Any]) -> None:
    graphs = [w for w in _dashboard(template)["widgets"] if w["type"] == "metric"]
    shown = set()
    for graph in graphs:
        for values, _ in _expand(graph["properties"]["metrics"]):
            namespace, name, *pairs = values
            check_metric(template, namespace, name, list(zip(pairs[::2], pairs[1::2], strict=True)))
            shown.add(name)
    assert shown >= metrics.METRIC_NAMES  # every business metric has a graph


def test_the_dashboard_shows_every_alarm_and_is_an_output(template: dict[str, Any]) -> None:
    (alarm_widget,) = [w for w in _dashboard(template)["widgets"] if w["type"] == "alarm"]
    assert set(alarm_widget["properties"]["alarms"]) == {f"${{{alarm}.Arn}}" for alarm in ALARMS}
    assert template["Outputs"]["DashboardName"]["Value"] == {"Ref": "Dashboard"}


def test_a_wrong_dimension_is_caught() -> None:
    """The checks above can fail: one extra dimension on a custom metric, a function that does not exist."""
    template = packaging.template()
    with pytest.raises(AssertionError, match="function"):
        check_metric(template, "${MetricsNamespace}", metrics.SENDS, [("service", "inapp"), ("function", "send")])
    with pytest.raises(KeyError, match="Delivery"):
        check_metric(template, "AWS/Lambda", "Errors", [("FunctionName", "${Delivery}")])
    with pytest.raises(AssertionError, match="Sent"):
        check_metric(template, "${MetricsNamespace}", "Sent", [("service", "inapp")])
    with pytest.raises(AssertionError, match="Http5xx"):
        check_metric(template, ACCESS_LOG_NAMESPACE, "Http5xx", [])
    with pytest.raises(KeyError, match="InboxTabel"):
        check_metric(template, "AWS/DynamoDB", "WriteThrottleEvents", [("TableName", "${InboxTabel}")])
