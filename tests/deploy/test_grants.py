"""Each role grants exactly the DynamoDB, SQS and schedule actions its function's code calls, on exactly those resources.

moto checks no IAM, so a missing grant would only show in AWS and an unused
one never. Here every DynamoDB request the models' botocore clients make
(and every request of the work queue's and the wake scheduler's clients) is
recorded while one function's handlers run through all their paths, and turned into the IAM
actions AWS authorizes it with (a transaction's items are authorized one by
one: PutItem, UpdateItem, DeleteItem); that set must equal what the
function's role grants in the packaged template. What an event source
mapping calls with the role (stream reads, the on-failure queue, receiving
and deleting queue messages) is checked apart.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import service
from chalicelib.core.auth import issue_token
from chalicelib.core.clock import iso
from chalicelib.realtime.connections import LiveConnection
from chalicelib.storage import Channel
from chalicelib.storage import dynamo as storage
from chalicelib.storage.inbox_tables import InboxMessage
from tests import packaging
from tests.conftest import SECRET
from tests.events import ws_event
from tests.faults import failing_write

Grant = tuple[str, str, str | None]  # (action, table's logical id, index name)
TABLE_VARIABLES = packaging.TABLE_VARIABLES
QUEUE_VARIABLES = {"INAPP_FANOUT_QUEUE_URL": "FanOutQueue"}
SCHEDULE_GROUP = "WakeScheduleGroup"  # the snoozes' schedules' group in the template
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
STREAM_ACTIONS = {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}  # the event source mapping's
MAPPING_QUEUE_GRANTS = {  # what Lambda calls with the function's role (mappings, async destinations), not the code
    ("sqs:SendMessage", "DeliveryFailureQueue"),
    ("sqs:SendMessage", "SendFailureQueue"),
    ("sqs:ReceiveMessage", "FanOutQueue"),
    ("sqs:DeleteMessage", "FanOutQueue"),
    ("sqs:GetQueueAttributes", "FanOutQueue"),
}


def authorized_as(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str, str | None]]:
    """The (action, table name, index) pairs IAM checks for one DynamoDB request."""
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, action),) = item.items()
            yield TRANSACT_ACTIONS[kind], action["TableName"], None
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params["RequestItems"]:
            yield operation, table, None
    else:
        yield operation, params["TableName"], params.get("IndexName")


class Recorder:
    """Collects grants while ``recording``; a botocore hook on every model's client."""

    def __init__(self) -> None:
        self.used: set[Grant] = set()
        self._on = False
        self._tables = {os.environ[variable]: logical for variable, logical in TABLE_VARIABLES.items()}

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._on:
            for action, table, index in authorized_as(model.name, params):
                self.used.add((f"dynamodb:{action}", self._tables[table], index))

    def queue_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._on:
            queues = {os.environ[variable]: logical for variable, logical in QUEUE_VARIABLES.items()}
            self.used.add((f"sqs:{model.name}", queues[params["QueueUrl"]], None))

    def scheduler_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self._on:  # deployed, the group is INAPP_SCHEDULE_GROUP: the template's WakeScheduleGroup
            assert params["GroupName"] == service.get_services().settings.schedule_group
            self.used.add((f"scheduler:{model.name}", SCHEDULE_GROUP, None))

    @contextmanager
    def recording(self) -> Iterator[set[Grant]]:
        self.used = set()  # a new set per recording: an earlier one stays as it was
        self._on = True
        try:
            yield self.used
        finally:
            self._on = False


@pytest.fixture(autouse=True)
def post_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """As deployed: every function that posts leases from the account's post budget (an UpdateItem), and
    the /me routes and WebSocket frames take from their request limit's bucket (an UpdateItem too)."""
    monkeypatch.setenv("INAPP_POST_BUDGET", "5000")
    monkeypatch.delenv("INAPP_USER_RATE")  # the default, 20 a second


@pytest.fixture
def recorder(api: Any) -> Recorder:
    return _rehooked(Recorder())


def _resource(value: Any) -> tuple[str, str | None]:
    if "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0], None
    if group := re.fullmatch(r".*:schedule/\$\{(\w+)\}/\*", value["Fn::Sub"]):  # every schedule of a group
        return group[1], None
    table, index = re.fullmatch(r"\$\{(\w+)\.Arn\}(?:/index/([\w-]+))?", value["Fn::Sub"]).groups()  # type: ignore[union-attr]
    return table, index


def _statements(role: str) -> list[dict[str, Any]]:
    return list(packaging.template()["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])


def granted(role: str) -> tuple[set[Grant], set[str]]:
    """The role's DynamoDB item and index, SQS and schedule grants, and its other actions."""
    statements = _statements(role)
    grants: set[Grant] = set()
    others: set[str] = set()
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in statement["Action"]:
            if not action.startswith(("dynamodb:", "sqs:", "scheduler:")) or action.removeprefix("dynamodb:") in STREAM_ACTIONS:
                others.add(action)
                continue
            found = {(action, *_resource(resource)) for resource in resources}
            if {grant[:2] for grant in found} <= MAPPING_QUEUE_GRANTS:
                others.add(action)
                continue
            grants |= found
    return grants, others


def _call(api: Any, method: str, path: str, token: str, body: Any = None, status: int = 200, **headers: str) -> Any:
    response = api.call(method, path, token=token, json_body=body, headers=headers)
    assert response.status_code == status, (method, path, response.json_body)
    return response.json_body


def test_the_http_api_role_grants_what_the_routes_call(api: Any, recorder: Recorder, admin_token: str, token: Any) -> None:
    alice = token("alice")
    message = {"channel": "news", "receivers": ["alice", "bob"], "title": "Hi"}
    api.settle_counts = False  # the counts the stream keeps are the deliver role's
    with recorder.recording() as used:
        _call(api, "POST", "/channels", admin_token, {"name": "news", "title": "News"}, 201)
        _call(api, "POST", "/channels", admin_token, {"name": "news", "title": "News"}, 409)
        _call(api, "POST", "/channels", admin_token, {"name": "other", "title": "Other"}, 201)
        page = _call(api, "GET", "/channels?limit=1", admin_token)
        _call(api, "GET", f"/channels?limit=1&cursor={page['nextCursor']}", admin_token)
        _call(api, "GET", "/channels/news", admin_token)
        _call(api, "PATCH", "/channels/news", admin_token, {"title": "All the news"})
        sent = _call(api, "POST", "/messages", admin_token, message, 202, **{"Idempotency-Key": "k1"})
        _call(api, "POST", "/messages", admin_token, message, 202, **{"Idempotency-Key": "k1"})  # replay
        _call(api, "POST", "/messages", admin_token, {**message, "title": "x"}, 409, **{"Idempotency-Key": "k1"})
        _call(api, "POST", "/messages", admin_token, {**message, "channel": "gone"}, 404, **{"Idempotency-Key": "k2"})
        _call(api, "POST", "/messages", admin_token, {**message, "channel": "other"}, 202)
        with failing_write(1):
            _call(api, "POST", "/messages", admin_token, message, 429, **{"Idempotency-Key": "k3"})
        _call(api, "POST", "/messages", admin_token, message, 202, **{"Idempotency-Key": "k3"})  # the retry path
        queries = ("", "?channel=news", "?status=unread", "?channel=news&status=unread", f"?after={sent['id']}", "?archived=true")
        for query in queries:
            _call(api, "GET", f"/me/messages{query}", alice)
        _call(api, "GET", "/me/channels?limit=1&status=unread", alice)
        _call(api, "GET", f"/me/messages/{sent['id']}", alice)
        _call(api, "PATCH", f"/me/messages/{sent['id']}", alice, {"status": "read"})
        _call(api, "PATCH", f"/me/messages/{sent['id']}", alice, {"status": "unread"})
        _call(api, "POST", "/me/messages/read", alice, {"channel": "news"})
        _call(api, "POST", "/me/messages/read", alice, {})
        _call(api, "POST", "/me/messages/seen", alice, {})
        tagged = {**message, "tags": ["ops"], "expiresAt": "2100-01-01T00:00:00Z"}
        _call(api, "POST", "/messages", admin_token, {**tagged, "expiresAt": _soon()}, 202)  # entries beside the messages
        later = _call(api, "POST", "/messages", admin_token, {**tagged, "expiresAt": _soon()}, 202)["id"]
        _call(api, "GET", "/me/messages?tag=ops", alice)
        _call(api, "PATCH", f"/me/messages/{later}", alice, {"pinned": True})
        _call(api, "GET", "/me/messages", alice)  # the pinned ones first
        _call(api, "PATCH", f"/me/messages/{later}", alice, {"pinned": False})
        _call(api, "PATCH", f"/me/messages/{later}", alice, {"snoozedUntil": _soon()})
        _call(api, "GET", "/me/messages?snoozed=true", alice)
        _call(api, "PATCH", f"/me/messages/{later}", alice, {"snoozedUntil": None})
        _call(api, "PATCH", f"/me/messages/{sent['id']}", alice, {"archived": True})
        _call(api, "DELETE", f"/me/messages/{sent['id']}", alice, status=204)
        _call(api, "POST", "/me/messages/archive", alice, {"status": "read"})
        _call(api, "PUT", "/me/preferences/channels/news", alice, {"muted": True})
        _call(api, "GET", "/me/preferences", alice)
        _call(api, "GET", "/me/unread-count", alice)
        _call(api, "POST", "/channels/news/subscribers", admin_token, {"add": ["alice", "bob"], "remove": ["carol"]})
        _call(api, "GET", "/channels/news/subscribers?limit=1", admin_token)
        broadcast = {"channel": "news", "audience": "subscribers", "title": "All"}
        queued = _call(api, "POST", "/messages", admin_token, broadcast, 202)
        _call(api, "GET", f"/messages/{queued['id']}", admin_token)
        for query in ("?limit=1", "?channel=news"):
            _call(api, "GET", f"/messages{query}", admin_token)
        _call(api, "DELETE", "/channels/news", admin_token, status=204)
    broadcasts = _broadcast_paths(api, admin_token, alice, recorder)
    grants, others = granted("ApiHandlerRole")
    _same(used | broadcasts, grants)
    assert {("scheduler:CreateSchedule", SCHEDULE_GROUP, None), ("scheduler:DeleteSchedule", SCHEDULE_GROUP, None)} <= used
    assert "iam:PassRole" in others  # a snooze's schedule runs with the scheduler's role


def _broadcast_paths(api: Any, admin_token: str, alice: str, recorder: Recorder) -> set[Grant]:
    """The routes again where an audience send is a broadcast (threshold 0): its store, what its holders read and
    change (their copies), subscribers ending with broadcasts held."""
    os.environ["INAPP_BROADCAST_THRESHOLD"] = "0"
    try:
        service.reset()
        recorder = _rehooked(recorder)
        _call(api, "POST", "/channels", admin_token, {"name": "wide", "title": "Wide"}, 201)
        _call(api, "POST", "/channels/wide/subscribers", admin_token, {"add": ["alice", "bob"]})
        with recorder.recording() as used:
            body = {"channel": "wide", "audience": "subscribers", "title": "All", "tags": ["ops"]}
            sent = [_call(api, "POST", "/messages", admin_token, body, 202)["id"] for _ in range(3)]
            for query in ("", "?channel=wide", "?tag=ops", f"?after={sent[0]}"):
                _call(api, "GET", f"/me/messages{query}", alice)
            _call(api, "GET", "/me/unread-count", alice)
            _call(api, "GET", "/me/channels", alice)
            _call(api, "GET", f"/me/messages/{sent[0]}", alice)
            _call(api, "PATCH", f"/me/messages/{sent[0]}", alice, {"status": "read"})
            _call(api, "POST", "/me/messages/read", alice, {"channel": "wide"})
            _call(api, "POST", "/channels/wide/subscribers", admin_token, {"remove": ["bob"], "add": ["carol"]})
            _call(api, "DELETE", "/channels/wide", admin_token, status=204)
        return used
    finally:
        del os.environ["INAPP_BROADCAST_THRESHOLD"]
        service.reset()


def _same(used: set[Grant], grants: set[Grant]) -> None:
    """What the code called is what the role grants: each side's surplus named."""
    assert (sorted(used - grants, key=str), sorted(grants - used, key=str)) == ([], [])


def _soon() -> str:
    return iso(datetime.now(UTC) + timedelta(minutes=5))


def test_the_wake_role_grants_what_a_wake_up_calls(
    api: Any, lambdas: Any, recorder: Recorder, channel: str, send: Any, token: Any
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    until = _call(api, "PATCH", f"/me/messages/{sent}", alice, {"snoozedUntil": _soon()})["snoozedUntil"]
    with recorder.recording() as used:
        assert lambdas.invoke("wake", {"userId": "alice", "id": sent, "snoozedUntil": until}).payload == {"woken": True}
        assert lambdas.invoke("wake", {"userId": "alice", "id": sent, "snoozedUntil": until}).payload == {"woken": False}
    grants, _ = granted("WakeRole")
    assert used == grants
    scheduler = packaging.template()["Resources"]["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert scheduler["Statement"] == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": {"Fn::GetAtt": ["Wake", "Arn"]}}
    ]


def test_the_send_role_grants_what_the_send_lambda_calls(api: Any, lambdas: Any, recorder: Recorder, channel: str) -> None:
    message = {"channel": channel, "receivers": ["alice"], "title": "Hi"}
    with recorder.recording() as used:
        lambdas.invoke("send", {**message, "idempotencyKey": "k1"})
        lambdas.invoke("send", {**message, "idempotencyKey": "k1"})  # replay
        with failing_write(1), pytest.raises(Exception, match="retry with the same"):
            lambdas.invoke("send", {**message, "idempotencyKey": "k3"})
        lambdas.invoke("send", {**message, "idempotencyKey": "k3"})  # the retry path
        lambdas.invoke("send", {"messages": [message, message]})
        with pytest.raises(Exception, match="not found"):
            lambdas.invoke("send", {**message, "channel": "gone", "idempotencyKey": "k2"})
        lambdas.invoke("send", {"channel": channel, "audience": "subscribers", "title": "All"})
    api.call("POST", f"/channels/{channel}/subscribers", token=issue_token("admin", SECRET, admin=True), json_body={"add": ["a"]})
    os.environ["INAPP_BROADCAST_THRESHOLD"] = "0"  # the same audience send, as a broadcast
    try:
        service.reset()
        recorder = _rehooked(recorder)
        with recorder.recording() as broadcasting:
            lambdas.invoke("send", {"channel": channel, "audience": "subscribers", "title": "All"})
    finally:
        del os.environ["INAPP_BROADCAST_THRESHOLD"]
        service.reset()
    grants, others = granted("SendRole")
    _same(used | broadcasting, grants)
    assert "sqs:SendMessage" in others  # Lambda, for an asynchronous invocation that failed for good


def test_the_fan_out_role_grants_what_the_worker_calls(
    api: Any, admin_token: str, recorder: Recorder, channel: str, worker: Any, monkeypatch: pytest.MonkeyPatch, standin: Any
) -> None:
    monkeypatch.setenv("INAPP_FANOUT_CHUNK_SIZE", "60")  # two chunks: the worker queues the second itself
    service.reset()
    recorder = _rehooked(recorder)
    _call(api, "POST", f"/channels/{channel}/subscribers", admin_token, {"add": [f"u{i:03d}" for i in range(100)]})
    _call(api, "POST", "/messages", admin_token, {"channel": channel, "audience": "subscribers", "title": "All"}, 202)
    with recorder.recording() as sending, failing_write(1):
        assert worker.drain() == 3  # two chunks, the first twice: its write failed
    _call(api, "POST", "/messages", admin_token, {"channel": channel, "audience": "subscribers", "title": "Cut"}, 202)
    _call(api, "DELETE", f"/channels/{channel}", admin_token, status=204)
    with recorder.recording() as cancelling:
        assert worker.drain() == 2  # the second send, cancelled (its channel is gone), and one page of clean-up
    grants, others = granted("FanOutRole")
    _same(sending | cancelling | _broadcast_steps(api, admin_token, worker), grants)
    assert standin.frames("a1=") and standin.deleted == ["b1="]  # a broadcast's frame; an expired token's socket closed
    assert "execute-api:ManageConnections" in others
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= others


def _broadcast_steps(api: Any, admin_token: str, worker: Any) -> set[Grant]:
    """The worker's steps of a broadcast (threshold 0): its frames to a holder online, and the spans its channel's
    clean-up keeps for its subscribers."""
    os.environ["INAPP_BROADCAST_THRESHOLD"] = "0"
    try:
        service.reset()
        recorder = _rehooked(Recorder())
        _call(api, "POST", "/channels", admin_token, {"name": "wide", "title": "Wide"}, 201)
        _call(api, "POST", "/channels/wide/subscribers", admin_token, {"add": ["alice", "bob"]})
        now = time.time()
        registry = service.get_services().registry
        registry.connect(LiveConnection("a1=", "alice", int(now * 1000), int(now) + 3600))
        registry.connect(LiveConnection("b1=", "bob", int(now * 1000) - 60_000, int(now) - 1))  # its token expired
        _call(api, "POST", "/messages", admin_token, {"channel": "wide", "audience": "subscribers", "title": "All"}, 202)
        _call(api, "DELETE", "/channels/wide", admin_token, status=204)
        _call(api, "POST", "/channels", admin_token, {"name": "older", "title": "Made before broadcasts"}, 201)
        Channel.get("older").update(actions=[Channel.counted.remove()])  # its subscriptions are counted once, by a step
        _call(api, "POST", "/channels/older/subscribers", admin_token, {"add": ["carol"]})
        _call(api, "POST", "/messages", admin_token, {"channel": "older", "audience": "subscribers", "title": "Old"}, 202)
        with recorder.recording() as used:
            assert worker.drain() == 4  # the frames, the clean-up's one page, the older channel's count and chunk
        return used
    finally:
        del os.environ["INAPP_BROADCAST_THRESHOLD"]
        service.reset()


def _rehooked(recorder: Recorder) -> Recorder:
    """The recorder on the clients (built again after a settings change)."""
    for client in storage.botocore_clients():
        client.meta.events.register("provide-client-params.dynamodb", recorder)
    service.get_work_queue().client.meta.events.register("provide-client-params.sqs", recorder.queue_call)
    scheduler = service.get_wake_scheduler()
    assert scheduler is not None
    scheduler.client.meta.events.register("provide-client-params.scheduler", recorder.scheduler_call)
    return recorder


def test_the_deliver_role_grants_what_delivery_calls(
    api: Any, lambdas: Any, recorder: Recorder, standin: Any, stream: Any, channel: str, send: Any, token: Any
) -> None:
    for user, connection_id in (("alice", "a1="), ("bob", "b1=")):
        lambdas.invoke("ws_connect", ws_event("$connect", connection_id, token=token(user)))
    standin.script("b1=", [410])
    first = send(["alice", "bob"])
    inserts = stream.batch()
    InboxMessage.get("alice", first["id"]).delete()  # as DynamoDB's TTL would
    expiries = stream.batch()
    for record in expiries["Records"]:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    with recorder.recording() as used:
        assert lambdas.invoke("deliver", inserts).payload == {"batchItemFailures": []}
        assert lambdas.invoke("deliver", inserts).payload == {"batchItemFailures": []}  # a replay reads the counts
        assert lambdas.invoke("deliver", expiries).payload == {"batchItemFailures": []}
    admin = issue_token("admin", SECRET, admin=True)  # alice holds a broadcast: her frames' counts add it
    api.call("POST", f"/channels/{channel}/subscribers", token=admin, json_body={"add": ["alice"]})
    os.environ["INAPP_BROADCAST_THRESHOLD"] = "0"
    try:
        service.reset()
        api.call("POST", "/messages", token=admin, json_body={"channel": channel, "audience": "subscribers", "title": "All"})
        stream.batch()
        send(["alice"])
        recorder = _rehooked(recorder)
        with recorder.recording() as holding:
            assert lambdas.invoke("deliver", stream.batch()).payload == {"batchItemFailures": []}
    finally:
        del os.environ["INAPP_BROADCAST_THRESHOLD"]
        service.reset()
    grants, others = granted("DeliverRole")
    _same(used | holding, grants)
    assert standin.frames("a1=") and "execute-api:ManageConnections" in others
    assert {"dynamodb:GetRecords", "sqs:SendMessage"} <= others  # what the event source mapping does with this role


def test_the_websocket_roles_grant_what_each_route_calls(
    api: Any, lambdas: Any, recorder: Recorder, standin: Any, token: Any
) -> None:
    with recorder.recording() as connect_used:
        for tab in range(11):  # the 11th is one beyond the cap: the oldest is closed and forgotten
            lambdas.invoke("ws_connect", ws_event("$connect", f"c{tab}=", token=token("alice")))
    assert len(standin.deleted) == 1
    (live,) = [f"c{tab}=" for tab in range(11) if f"c{tab}=" not in standin.deleted][:1]
    now = time.time()
    service.get_services().registry.connect(LiveConnection("expired=", "bob", int(now * 1000) - 60_000, int(now) - 1))
    with recorder.recording() as message_used:
        lambdas.invoke("ws_message", ws_event("$default", live, body=json.dumps({"action": "ping"})))
        lambdas.invoke("ws_message", ws_event("$default", "expired=", body=json.dumps({"action": "ping"})))
    assert standin.frames(live) == [{"type": "pong"}]
    assert standin.deleted[-1] == "expired="
    with recorder.recording() as disconnect_used:
        lambdas.invoke("ws_disconnect", ws_event("$disconnect", live))
        lambdas.invoke("ws_disconnect", ws_event("$disconnect", "unknown="))
    assert connect_used == granted("WebsocketConnectRole")[0]
    # Its pong is a post: a lease from the account's post budget, on budget#<second> items, and the frame takes
    # from its connection's bucket, on rate#conn#<id> items; a frame of a connection whose token expired reads it
    # and forgets it, on conn# and user# items. Those keys only.
    assert message_used == granted("WebsocketMessageRole")[0]
    conditions = [s.get("Condition") for s in _statements("WebsocketMessageRole") if "dynamodb:UpdateItem" in s["Action"]]
    assert conditions == [
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["budget#*", "rate#conn#*"]}},
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["conn#*", "user#*"]}},
    ]
    for role in ("WebsocketMessageRole", "WebsocketConnectRole"):  # the connect closes the oldest beyond the cap
        assert "execute-api:ManageConnections" in granted(role)[1], role
    assert disconnect_used == granted("WebsocketDisconnectRole")[0]
    for role in ("ApiHandlerRole", "SendRole", "WebsocketDisconnectRole"):
        assert "execute-api:ManageConnections" not in granted(role)[1], role  # they never post
