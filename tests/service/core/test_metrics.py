"""chalicelib.core.metrics: the EMF lines it prints are what CloudWatch will read."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.app import Chalice, DynamoDBEvent
from chalice.test import Client

from chalicelib.core import metrics
from tests.conftest import Api, ConnectFactory, LambdaClient, SendFactory
from tests.events import StreamTap
from tests.standin import ManagementStandIn

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def clean_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        monkeypatch.delenv(name, raising=False)
    metrics._take()
    yield
    metrics._take()


def emf_lines(output: str) -> list[dict[str, Any]]:
    """Every EMF document printed (other lines ignored), as CloudWatch would pick them out."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def values(documents: list[dict[str, Any]], name: str) -> list[float]:
    found: list[float] = []
    for document in documents:
        if name in document:
            value = document[name]
            found += value if isinstance(value, list) else [value]
    return found


def test_flush_prints_one_emf_document_with_namespace_service_dimension_and_units(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.add(metrics.FRAMES_POSTED, 3)
    metrics.add(metrics.FRAMES_POSTED, 2)
    metrics.add(metrics.DELIVERY_LAG, 840.5, "Milliseconds")
    metrics.flush()

    (document,) = emf_lines(capsys.readouterr().out)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.DEFAULT_NAMESPACE == "InApp"
    assert directive["Dimensions"] == [list(metrics.DIMENSIONS)]
    assert document["service"] == metrics.SERVICE
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {metrics.FRAMES_POSTED: "Count", metrics.DELIVERY_LAG: "Milliseconds"}
    assert document[metrics.FRAMES_POSTED] == [3.0, 2.0]
    assert values([document], metrics.DELIVERY_LAG) == [840.5]
    assert isinstance(document["_aws"]["Timestamp"], int)


def test_a_flush_forgets_what_it_printed(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.add(metrics.SENDS)
    metrics.flush()
    metrics.flush()
    assert len(emf_lines(capsys.readouterr().out)) == 1


def test_nothing_recorded_prints_nothing_and_warns_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.flush()
    assert capsys.readouterr().out == ""


def test_namespace_comes_from_the_powertools_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "InAppStaging")
    metrics.add(metrics.SENDS)
    metrics.flush()
    (document,) = emf_lines(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "InAppStaging"


@pytest.mark.parametrize(("variable", "value"), [("POWERTOOLS_METRICS_DISABLED", "true"), ("POWERTOOLS_DEV", "true")])
def test_disabled_publishes_nothing_and_keeps_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    metrics.add(metrics.SENDS)
    metrics.flush()
    monkeypatch.delenv(variable)
    metrics.flush()
    assert emf_lines(capsys.readouterr().out) == []


def test_unknown_names_and_changed_units_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric 'Sent'"):
        metrics.add("Sent")
    metrics.add(metrics.DELIVERY_LAG, 1, "Milliseconds")
    with pytest.raises(ValueError, match="'DeliveryLag' is recorded in Milliseconds, not Count"):
        metrics.add(metrics.DELIVERY_LAG, 1)


def test_more_than_100_values_are_all_published(capsys: pytest.CaptureFixture[str]) -> None:
    for lag in range(250):
        metrics.add(metrics.DELIVERY_LAG, lag, "Milliseconds")
    metrics.flush()
    documents = emf_lines(capsys.readouterr().out)
    assert sorted(values(documents, metrics.DELIVERY_LAG)) == [float(v) for v in range(250)]
    assert all(len(d[metrics.DELIVERY_LAG]) <= 100 for d in documents)  # EMF's limit per value array


def test_adds_from_many_threads_are_all_counted(capsys: pytest.CaptureFixture[str]) -> None:
    def post() -> None:
        for _ in range(50):
            metrics.add(metrics.FRAMES_POSTED)

    workers = [threading.Thread(target=post) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    metrics.flush()
    assert sum(values(emf_lines(capsys.readouterr().out), metrics.FRAMES_POSTED)) == 400


def test_importing_the_app_does_not_import_powertools() -> None:
    script = (
        "import sys, app; from chalicelib.core import metrics; metrics.flush(); print('aws_lambda_powertools' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _app_with_every_handler_kind() -> Chalice:
    app = Chalice(app_name="metrics-test")
    app.register_middleware(metrics.middleware, "all")

    @app.route("/")
    def index() -> dict[str, str]:
        metrics.add(metrics.SENDS)
        return {}

    @app.lambda_function(name="send")
    def send(event: Any, context: Any) -> dict[str, str]:
        metrics.add(metrics.SENDS)
        return {}

    @app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x")
    def deliver(event: DynamoDBEvent) -> None:
        metrics.add(metrics.FRAMES_POSTED)
        raise RuntimeError("a failed batch still publishes what it counted")

    return app


def test_the_middleware_flushes_once_per_invocation_of_every_handler_kind(capsys: pytest.CaptureFixture[str]) -> None:
    with Client(_app_with_every_handler_kind()) as client:
        client.http.get("/")
        assert len(emf_lines(capsys.readouterr().out)) == 1
        client.lambda_.invoke("send", {})
        client.lambda_.invoke("send", {})
        assert len(emf_lines(capsys.readouterr().out)) == 2
        with pytest.raises(RuntimeError, match="a failed batch still publishes"):
            client.lambda_.invoke("deliver", {"Records": []})
        (document,) = emf_lines(capsys.readouterr().out)
        assert document[metrics.FRAMES_POSTED] == [1.0]


def test_the_handlers_publish_sends_recipients_frames_lag_and_gone(
    capsys: pytest.CaptureFixture[str],
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    connect: ConnectFactory,
) -> None:
    """What the deployed functions print: parsed as CloudWatch parses EMF."""
    connect("alice", "a1=", "a2=")
    connect("bob", "b1=")
    standin.script("a2=", [410])
    capsys.readouterr()
    send(["alice", "bob", "carol"])
    sent = emf_lines(capsys.readouterr().out)
    assert (values(sent, metrics.SENDS), values(sent, metrics.RECIPIENTS_STORED)) == ([1.0], [3.0])
    lambdas.invoke("deliver", stream.batch())
    delivered = emf_lines(capsys.readouterr().out)
    assert values(delivered, metrics.FRAMES_POSTED) == [2.0]  # a1= and b1=: the message, its counts riding on it
    assert values(delivered, metrics.CONNECTIONS_GONE) == [1.0]
    assert values(delivered, metrics.BATCH_ITEM_FAILURES) == [0.0]
    lags = values(delivered, metrics.DELIVERY_LAG)
    assert len(lags) == 2 and all(0 <= lag < 60_000 for lag in lags)
