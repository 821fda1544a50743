"""Audience sends: 202 at once, fan-out through the queue in chunks, exact under crashes and redelivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import service
from chalicelib.storage import dynamo as storage
from chalicelib.storage.audience_tables import SendLog
from chalicelib.storage.batches import write_batches
from chalicelib.storage.inbox_tables import InboxMessage
from tests.conftest import Api, LambdaClient, TokenFactory, Worker, assert_counts_exact, assert_error

USERS = [f"user-{i:03d}" for i in range(230)]  # with chunks of 100: 100 + 100 + 30, in groups of 49


@pytest.fixture
def subscribed(api: Api, admin_token: str, channel: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """230 subscribers, one copy each: the per-subscriber fan-out's tests (broadcasts: tests/service/broadcast)."""
    monkeypatch.setenv("INAPP_FANOUT_CHUNK_SIZE", "100")
    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", str(len(USERS)))
    service.reset()
    response = api.call("POST", "/channels/news/subscribers", token=admin_token, json_body={"add": USERS})
    assert response.json_body == {"added": len(USERS), "removed": 0}
    return USERS


def _broadcast(api: Api, admin_token: str, key: str | None = None, **fields: Any) -> Any:
    body = {"channel": "news", "audience": "subscribers", "title": "To everyone", **fields}
    response = api.call("POST", "/messages", token=admin_token, json_body=body, headers={"Idempotency-Key": key} if key else None)
    assert response.status_code == 202, response.json_body
    return response.json_body


def _log(api: Api, admin_token: str, send_id: str) -> Any:
    return api.call("GET", f"/messages/{send_id}", token=admin_token).json_body


def assert_exact(send_id: str, users: list[str], channel: str = "news") -> None:
    """Every user holds the send exactly once, and every counter equals a recount of the user's items."""
    for user in users:
        items = [m for m in InboxMessage.query(user) if m.channel == channel]
        assert [m.id for m in items].count(send_id) == 1, user
    assert_counts_exact(*users)
    entry = SendLog.get(send_id)
    assert (entry.status, int(entry.stored), int(entry.recipients)) == ("done", len(users), len(users))


class Killer:
    """A botocore hook that fails chosen inbox writes (batch or transaction), as a worker dying mid-chunk would."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_calls: set[int] = set()  # the 1-based numbers of the calls to fail
        self.fail_all = False

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.fail_all or self.calls in self.fail_calls:
            raise RuntimeError(f"worker killed at transaction {self.calls}")


@pytest.fixture
def killer(api: Api) -> Iterator[Killer]:
    hook = Killer()
    clients = storage.botocore_clients()
    events = ("before-call.dynamodb.TransactWriteItems", "before-call.dynamodb.BatchWriteItem")
    for client in clients:
        for event in events:
            client.meta.events.register(event, hook)
    yield hook
    for client in clients:
        for event in events:
            client.meta.events.unregister(event, hook)


def test_an_audience_send_answers_202_queued_and_the_worker_stores_every_subscriber(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, token: TokenFactory
) -> None:
    sent = _broadcast(api, admin_token)
    assert sent == {"id": sent["id"], "channel": "news", "audience": "subscribers", "status": "queued"}
    queued = _log(api, admin_token, sent["id"])
    assert (queued["status"], queued["stored"], queued["sender"], queued["completedAt"]) == ("queued", 0, "admin-1", None)
    assert worker.drain() == 3  # chunks of 100, 100 and 30
    done = _log(api, admin_token, sent["id"])
    assert done == {
        "id": sent["id"],
        "channel": "news",
        "title": "To everyone",
        "sender": "admin-1",
        "audience": "subscribers",
        "recipients": 230,
        "stored": 230,
        "status": "done",
        "createdAt": queued["createdAt"],
        "completedAt": done["completedAt"],
    }
    assert_exact(sent["id"], subscribed)
    message = api.call("GET", f"/me/messages/{sent['id']}", token=token("user-007")).json_body
    assert (message["title"], message["channel"]) == ("To everyone", "news")


def test_an_audience_send_carries_severity_actions_and_mobile_url_to_every_subscriber(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, token: TokenFactory
) -> None:
    actions = [{"label": "Open {{n}}", "url": "/leads/{{n}}"}, {"label": "Later", "url": "/later"}]
    fields = {"severity": "critical", "mobileUrl": "/m/leads/{{n}}", "actions": actions, "data": {"n": "7"}}
    sent = _broadcast(api, admin_token, **fields)
    worker.drain()
    for user in ("user-000", "user-229"):
        message = api.call("GET", f"/me/messages/{sent['id']}", token=token(user)).json_body
        assert (message["severity"], message["mobileUrl"]) == ("critical", "/m/leads/7")
        assert message["actions"] == [{"label": "Open 7", "url": "/leads/7"}, {"label": "Later", "url": "/later"}]


def test_a_worker_killed_mid_chunk_and_redelivered_stores_each_recipient_once(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, killer: Killer
) -> None:
    killer.fail_calls = {6}  # chunk 1's second batch: chunk 0 and 25 of chunk 1 are stored, then the worker dies
    sent = _broadcast(api, admin_token)
    worker.drain()
    assert killer.calls > 5
    assert_exact(sent["id"], subscribed)


def test_a_crash_after_queueing_the_next_chunk_runs_a_duplicate_chain_without_duplicates(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import sending
    from chalicelib.sending import sender as sender_module

    advance = sending.advance
    crashes = iter([True])

    def crash_once(send_id: str, number: int, stored: int, *, last: bool) -> None:
        if number == 1 and next(crashes, False):
            raise RuntimeError("worker killed between queueing chunk 2 and counting chunk 1")
        advance(send_id, number, stored, last=last)

    monkeypatch.setattr(sender_module, "advance", crash_once)  # the sender counts a chunk after queueing the next
    sent = _broadcast(api, admin_token)
    assert worker.drain() == 5  # 0, 1 (dies), 1 again, 2, and 2's duplicate (finds it done)
    assert_exact(sent["id"], subscribed)


def test_a_chunk_run_again_after_users_archived_or_deleted_leaves_their_choice(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by review: a copy of a step (first delivery of its own) wrote blind and brought deleted messages back."""
    from chalicelib import sending, service
    from chalicelib.sending import sender as sender_module
    from chalicelib.storage.queue import Step

    sent = _broadcast(api, admin_token)
    first = worker.client.receive_message(QueueUrl=worker.queues.url)["Messages"][0]
    advance = sending.advance
    crashes = iter([True])

    def crash_once(send_id: str, number: int, stored: int, *, last: bool) -> None:
        if next(crashes, False):
            raise RuntimeError("worker killed after writing chunk 0, before counting it")
        advance(send_id, number, stored, last=last)

    monkeypatch.setattr(sender_module, "advance", crash_once)  # the sender counts a chunk after queueing the next
    with pytest.raises(RuntimeError, match="worker killed"):
        service.get_audience_worker().run(Step.parse(first["Body"]))
    archived, deleted = subscribed[0], subscribed[1]
    api.call("PATCH", f"/me/messages/{sent['id']}", token=token(archived), json_body={"archived": True})
    assert api.call("DELETE", f"/me/messages/{sent['id']}", token=token(deleted)).status_code == 204
    service.get_audience_worker().run(Step.parse(first["Body"]))  # a copy of the step, delivered for the first time
    worker.drain()
    assert [m.id for m in InboxMessage.query(archived)] == [f"archived#{sent['id']}"]
    assert [m.id for m in InboxMessage.query(deleted)] == [f"deleted#{sent['id']}"]
    for user in subscribed[2:]:
        assert [m.id for m in InboxMessage.query(user)] == [sent["id"]], user
    assert_counts_exact(*subscribed)
    entry = _log(api, admin_token, sent["id"])  # stored: every recipient's item was stored, whatever they did since
    assert (entry["status"], entry["stored"], entry["recipients"]) == ("done", 230, 230)


def test_the_same_step_delivered_twice_changes_nothing(api: Api, admin_token: str, subscribed: list[str], worker: Worker) -> None:
    sent = _broadcast(api, admin_token)
    first = worker.client.receive_message(QueueUrl=worker.queues.url)["Messages"][0]
    worker.client.send_message(QueueUrl=worker.queues.url, MessageBody=first["Body"])  # SQS's at-least-once
    worker.client.send_message(QueueUrl=worker.queues.url, MessageBody=first["Body"])
    worker.drain()
    for number, cursor in ((1, "user-099"), (2, "user-199")):  # late copies of later steps
        body = {"kind": "chunk", "target": sent["id"], "cursor": cursor, "number": number, "before": None}
        worker.client.send_message(QueueUrl=worker.queues.url, MessageBody=json.dumps(body))
    worker.drain()
    assert_exact(sent["id"], subscribed)


def test_a_step_failing_every_time_marks_the_send_failed_goes_to_the_dlq_and_redrives_to_done(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, killer: Killer
) -> None:
    sent = _broadcast(api, admin_token)
    killer.fail_all = True
    worker.drain(max_steps=50)
    failed = _log(api, admin_token, sent["id"])
    assert (failed["status"], failed["stored"]) == ("failed", 0)
    dead = worker.dead_letters()
    assert [json.loads(body)["target"] for body in dead] == [sent["id"]]
    killer.fail_all = False
    for body in dead:  # the redrive docs/operations.md describes: back onto the queue
        worker.client.send_message(QueueUrl=worker.queues.url, MessageBody=body)
    worker.drain()
    assert_exact(sent["id"], subscribed)


def test_only_subscriptions_older_than_the_send_receive_it(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker
) -> None:
    sent = _broadcast(api, admin_token)
    changes = {"add": ["late-comer"], "remove": ["user-000"]}
    api.call("POST", "/channels/news/subscribers", token=admin_token, json_body=changes)
    worker.drain()
    assert list(InboxMessage.query("late-comer")) == []
    assert list(InboxMessage.query("user-000")) == []  # removed before its chunk was reached
    entry = _log(api, admin_token, sent["id"])
    assert (entry["status"], entry["stored"], entry["recipients"]) == ("done", 229, 229)


def test_the_idempotency_key_replays_the_202_and_queues_once(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker
) -> None:
    first = _broadcast(api, admin_token, key="k1")
    assert _broadcast(api, admin_token, key="k1") == first
    assert worker.drain() == 3
    assert [e["id"] for e in api.call("GET", "/messages", token=admin_token).json_body["items"]] == [first["id"]]


def test_the_send_lambda_takes_audience_sends_and_names_its_sender(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, lambdas: Any
) -> None:
    direct = lambdas.invoke("send", {"channel": "news", "audience": "subscribers", "title": "A"}).payload
    detail = {"channel": "news", "audience": "subscribers", "title": "B"}
    bridged = lambdas.invoke("send", {"detail-type": "deploy", "source": "ci.deploys", "detail": detail}).payload
    assert direct["status"] == bridged["status"] == "queued"
    worker.drain()
    assert _log(api, admin_token, direct["id"])["sender"] == "lambda"
    assert _log(api, admin_token, bridged["id"])["sender"] == "events:ci.deploys"
    assert_exact(bridged["id"], subscribed)


BAD = [
    ({"receivers": ["a"]}, "audience: cannot be given together with receivers"),
    ({"audience": "everyone"}, 'audience: must be "subscribers"'),
    ({"audience": ["subscribers"]}, 'audience: must be "subscribers"'),
]


@pytest.mark.parametrize(("fields", "message"), BAD, ids=[m for _, m in BAD])
def test_exactly_one_of_receivers_and_audience(api: Api, admin_token: str, channel: str, fields: Any, message: str) -> None:
    body = {"channel": "news", "audience": "subscribers", "title": "T", **fields}
    assert_error(api.call("POST", "/messages", token=admin_token, json_body=body), 400, message)
    neither = api.call("POST", "/messages", token=admin_token, json_body={"channel": "news", "title": "T"})
    assert_error(neither, 400, "receivers: is required")
    assert SendLog.count() == 0


def test_null_receivers_with_an_audience_is_an_audience_send(api: Api, admin_token: str, channel: str) -> None:
    _broadcast(api, admin_token, receivers=None)


def test_an_audience_send_to_a_channel_without_subscribers_is_done_with_none(
    api: Api, admin_token: str, channel: str, worker: Worker
) -> None:
    sent = _broadcast(api, admin_token)
    assert worker.drain() == 1
    entry = _log(api, admin_token, sent["id"])
    assert (entry["status"], entry["recipients"], entry["stored"]) == ("done", 0, 0)


def test_an_unreadable_step_is_a_batch_item_failure_not_a_crashed_batch(api: Api, lambdas: LambdaClient) -> None:
    """Found by review: a message that is not a step raised out of the handler (five failed invocations)."""
    event = {"Records": [{"messageId": "m-1", "body": "not json", "attributes": {"ApproximateReceiveCount": "1"}}]}
    assert lambdas.invoke("fan_out", event).payload == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


# --- catch-up: an audience message is stored after newer ones ------------------------------------


def _catch_up(api: Api, user_token: str, after: str, query: str = "") -> list[list[str]]:
    """Every page of ``?after=`` (ids), the way a reconnecting client asks for them."""
    pages, cursor = [], None
    while True:
        path = f"/me/messages?after={after}{query}" + (f"&cursor={cursor}" if cursor else "")
        response = api.call("GET", path, token=user_token)
        assert response.status_code == 200, response.json_body
        pages.append([m["id"] for m in response.json_body["items"]])
        cursor = response.json_body["nextCursor"]
        if cursor is None:
            return pages


def test_the_catch_up_after_a_newer_message_returns_audience_messages_stored_behind_it(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker, send: Any, token: TokenFactory
) -> None:
    """Found by `make chaos`: a client saw a newer message, lost its socket, and ``?after=`` never asked for these."""
    audience = [_broadcast(api, admin_token, title=f"To everyone {i}")["id"] for i in range(5)]
    seen = send(["user-007"], title="Newer, stored at once")["id"]  # the client's last id seen
    assert all(a < seen for a in audience)
    worker.drain()  # the chunks land now, behind `seen`
    newest = send(["user-007"], title="Newest")["id"]
    user = token("user-007")
    assert _catch_up(api, user, seen) == [[*audience, newest]]
    assert _catch_up(api, user, seen, "&limit=2") == [audience[:2], audience[2:4], [audience[4], newest]]
    assert _catch_up(api, user, seen, "&limit=5") == [audience, [newest]]
    assert _catch_up(api, user, seen, "&channel=news") == [[*audience, newest]]
    assert _catch_up(api, user, seen, "&channel=ops") == [[]]
    assert _catch_up(api, user, seen, "&status=read") == [[]]
    # Stored after `newest` was minted: sent again, de-duplicated by id; `seen` too, minted just before `newest`.
    assert _catch_up(api, user, newest) == [[*audience, seen]]

    for change in ({"status": "read"}, {"archived": True}):
        api.call("PATCH", f"/me/messages/{audience[0]}", token=user, json_body=change)
    assert api.call("DELETE", f"/me/messages/{audience[1]}", token=user).status_code == 204
    assert _catch_up(api, user, seen, "&status=unread") == [[*audience[2:], newest]]
    assert _catch_up(api, user, seen) == [[*audience[2:], newest]]  # the archived and the deleted one are gone


def test_the_catch_up_skips_messages_stored_well_before_the_last_id_seen(
    api: Api,
    admin_token: str,
    subscribed: list[str],
    worker: Worker,
    send: Any,
    token: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A late message stored more than the window before ``after`` was minted reached the socket before it did."""
    from chalicelib.core import ids
    from chalicelib.inbox import queries as inbox

    late = _broadcast(api, admin_token)["id"]
    worker.drain()
    later = ids.id_time_ms(late) + inbox.LATE_STORE_WINDOW_MS + 1000
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: later))
    seen = send(["user-007"], title="Minted after the window")["id"]
    assert _catch_up(api, token("user-007"), seen) == [[]]
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: later - 2000))
    inside = send(["user-007"], title="Minted inside the window")["id"]
    assert _catch_up(api, token("user-007"), inside) == [[late, seen]]


def test_the_window_covers_every_late_writers_timeout() -> None:
    """Each late store's writes land within one invocation of its function: the window must outlast the longest."""
    from pathlib import Path

    from chalicelib.inbox import queries as inbox

    config = json.loads((Path(__file__).resolve().parents[3] / ".chalice" / "config.json").read_text())
    timeouts = [config.get("lambda_timeout", 60)]
    for stage in config["stages"].values():
        timeouts.append(stage.get("lambda_timeout", 60))
        timeouts += [function.get("lambda_timeout", 60) for function in stage.get("lambda_functions", {}).values()]
    assert max(timeouts) * 1000 < inbox.LATE_STORE_WINDOW_MS  # with a margin for clocks and writes in flight


def test_a_catch_up_request_looks_at_a_bounded_part_of_the_late_messages(
    api: Api, channel: str, send: Any, token: TokenFactory, dynamodb_calls: Any
) -> None:
    """Found by review: late messages newer than ``after`` were filtered out one page after another, in one request."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.core import ids
    from chalicelib.inbox import queries as inbox
    from chalicelib.storage.inbox_tables import UNREAD

    behind = ids.new_id()  # minted before the last id seen, stored after every other late message
    seen = send(["u1"], title="Seen")["id"]
    newer = [ids.new_id() for _ in range(2 * inbox.LATE_PAGE + 50)]
    expires = datetime.now(UTC) + timedelta(days=1)
    late = []
    for message_id in [*newer, behind]:
        item = InboxMessage("u1", message_id, channel="news", channel_title="News", title="late", user_channel="u1#news")
        item.created_at, item.expires_at, item.stored_id = "2026-11-25T00:00:00.000Z", expires, ids.new_id()
        item.set_status(UNREAD, None)
        late.append(item)
    write_batches(InboxMessage, late)
    pages, cursor, calls = [], None, []
    while True:
        dynamodb_calls.reset()
        path = f"/me/messages?after={seen}&limit=20" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, token=token("u1")).json_body
        calls.append(dynamodb_calls.total)
        pages.append([m["id"] for m in page["items"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert max(calls) <= 3  # one Query on stored-index, a BatchGetItem of what it kept, one Query of the ids
    assert [i for p in pages for i in p] == [behind, *newer]  # behind `seen` first, then the newer ids, each once
    assert [] in pages[:3]  # the late pages that found only newer ids say so, and go on


def test_a_message_restored_while_the_client_was_away_comes_back_with_the_catch_up(
    api: Api, channel: str, send: Any, token: TokenFactory
) -> None:
    """Found by review: a restored message returns behind newer ids."""
    user = token("u1")
    restored = send(["u1"], title="Archived, then restored")["id"]
    api.call("PATCH", f"/me/messages/{restored}", token=user, json_body={"archived": True})
    seen = send(["u1"], title="Seen")["id"]
    assert _catch_up(api, user, seen) == [[]]
    api.call("PATCH", f"/me/messages/{restored}", token=user, json_body={"archived": False})
    assert _catch_up(api, user, seen) == [[restored]]


def test_deleting_the_channel_cancels_its_running_send_and_keeps_its_recipients(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker
) -> None:
    """Found by review: the send ran on, found the subscriptions gone and logged recipients = stored, done."""
    sent = _broadcast(api, admin_token)
    assert worker.drain(max_steps=1) == 1  # the first chunk of 100
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    worker.drain()
    entry = _log(api, admin_token, sent["id"])
    assert (entry["status"], entry["recipients"], entry["stored"]) == ("cancelled", 230, 100)
    assert entry["completedAt"] is not None
    held = [u for u in subscribed if any(m.id == sent["id"] for m in InboxMessage.query(u))]
    assert len(held) == 100  # who got it is what stored says


def test_a_send_whose_channel_was_deleted_and_made_again_is_cancelled_too(
    api: Api, admin_token: str, subscribed: list[str], worker: Worker
) -> None:
    sent = _broadcast(api, admin_token)
    assert api.call("DELETE", "/channels/news", token=admin_token).status_code == 204
    assert api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News"}).status_code == 201
    api.call("POST", "/channels/news/subscribers", token=admin_token, json_body={"add": subscribed[:5]})
    worker.drain()
    entry = _log(api, admin_token, sent["id"])
    assert (entry["status"], entry["recipients"], entry["stored"]) == ("cancelled", 0, 0)  # cancelled before it started


def test_a_chunk_in_flight_when_its_send_is_cancelled_still_counts_what_it_stored(tables: None) -> None:
    from chalicelib import sending

    entry = SendLog("01JD0000000000000000000000", log="sends#0", channel="news", channel_title="News", title="t",
                    sender="a", audience="subscribers", created_at="2026-12-06T00:00:00.000Z", status="sending",
                    recipients=300, stored=100, chunks=1)  # fmt: skip
    entry.save()
    sending.cancel(entry.id)
    sending.advance(entry.id, 1, 100, last=False)  # the chunk that was running
    sending.advance(entry.id, 1, 100, last=False)  # and its redelivery: counted once
    stored = SendLog.get(entry.id)
    assert (stored.status, int(stored.recipients), int(stored.stored), int(stored.chunks)) == ("cancelled", 300, 200, 2)
