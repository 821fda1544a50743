"""Property-based state machine over the real code on moto: counts stay exact, nothing sent is lost.

Random sequences of sends (duplicates, retries with the same Idempotency-Key,
a write failing midway, with tags and an expiry of their own), subscriptions
and unsubscriptions, broadcasts (audience sends stored once: the threshold is
0) around them, read/unread,
seen, archive/restore, delete, pins, snoozes and their wake-ups (by the
scheduler, run twice, or by hand), mark-all-read, mark-all-seen,
archive-all, mutes, TTL expiries, time passing beyond messages' own
expiries, and stream
batches delivered, failed midway and replayed; and DynamoDB's weather as AWS
has it and moto does not (a step may turn on half-unprocessed batch answers
or transaction conflicts for the steps after it, and turn them off again),
with stream shards that roll over or split, so that one user's records come
from two shards whose batches run in either order.
After every step, once the stream has caught up:

* every user's counts (unread, total, unseen and their critical parts, per
  channel, and the mutes) equal a recount from the items;
* every send that answered 202 is stored for every receiver exactly once
  (less what the user deleted or TTL expired), live or archived; every
  broadcast is held by exactly the users subscribed when it was sent, as a
  broadcast or, once they changed it, as their own copy — never both.

And right after every change a user makes, before the stream catches up
(read-your-own-writes): that user's ``GET /me/unread-count``,
``/me/channels`` and unread list equal a recount of their items.

The same machine runs again on one deployment serving two tenants, the same
``sub`` and the same channel names in both: every user's items, counts and
lists stay their own.

Batch writes carry 2 items (instead of 25) so that small sends span several
calls and a failure can fall between them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import boto3
import pytest
from chalice.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from moto import mock_aws

from chalicelib import broadcast, counts, service
from chalicelib.broadcast import views
from chalicelib.core.auth import DEFAULT_TENANT_CLAIM, issue_token
from chalicelib.core.clock import iso
from chalicelib.core.config import load_settings
from chalicelib.inbox import expiry, lookup, queries
from chalicelib.inbox.repair import tally
from chalicelib.sending import group_write
from chalicelib.storage.inbox_tables import ARCHIVED, DELETED, ENTRIES, PREFERENCES, SNOOZED, InboxMessage
from chalicelib.storage.tables import create_tables
from infra.local.lambdas.queue_poller import create_queues
from infra.local.lambdas.scheduler import fire_due
from tests.conftest import SECRET
from tests.events import CountsKeeper, ShardMap, StreamTap, as_ttl_deletions
from tests.faults import dynamodb_faults, failing_write

USERS = ("ann", "ben", "cat", "dan", "eve")
CHANNELS = ("ops", "news")
KEYS = ("k1", "k2", "k3")
NOT_MESSAGES = (DELETED, PREFERENCES, *ENTRIES)  # the other items of a user's partition


class InboxMachine(RuleBasedStateMachine):
    """The rules name users by label (``USERS``); each label is a user of a tenant (none: tenants off)."""

    TENANT_OF: ClassVar[dict[str, str | None]] = dict.fromkeys(USERS)
    SUB: ClassVar[dict[str, str]] = {user: user for user in USERS}  # the token's ``sub`` of each label

    def _id(self, user: str) -> str:
        """The user's id as stored (``<tenant>|<sub>`` with tenants on)."""
        tenant = self.TENANT_OF[user]
        return self.SUB[user] if tenant is None else f"{tenant}|{self.SUB[user]}"

    def _token(self, user: str) -> str:
        return issue_token(self.SUB[user], SECRET, tenant=self.TENANT_OF[user])

    @staticmethod
    def _admin(tenant: str | None) -> str:
        return issue_token("admin", SECRET, admin=True, tenant=tenant)

    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        queue = create_queues(boto3.client("sqs", region_name="us-east-1"), "inapp-dev-fanout", visibility_seconds=0)
        os.environ["INAPP_FANOUT_QUEUE_URL"] = queue.url  # a broadcast queues its frames (no socket here: never run)
        service.reset()
        create_tables(load_settings())
        from app import app

        self.client = Client(app, stage_name="dev").__enter__()
        self.stream = StreamTap()
        self.shards = ShardMap()  # which shard each record came from: the same for deliveries and the keeper
        self.ttl_deleted: set[tuple[str, str]] = set()  # the items TTL deleted: their REMOVEs carry its identity
        self.keeper = CountsKeeper(self.shards, self.ttl_deleted)  # "once the stream has caught up", for the invariants
        self.expected: dict[str, set[str]] = {user: set() for user in USERS}  # ids each user must hold
        self.gone: dict[str, set[str]] = {user: set() for user in USERS}  # expired or deleted
        self.answered: dict[str, tuple[str, str]] = {}  # key → (body, id) of a 202
        self.weather: dict[str, float] = {}  # DynamoDB faults on for the steps from now on
        self.passed = timedelta(0)  # how far the app's clock is ahead (messages' own expiries come due)
        self.expiries: dict[str, datetime] = {}  # send id → its own expiry
        self.subscribed: dict[tuple[str | None, str], set[str]] = {}  # (tenant, channel) → the labels subscribed
        for tenant in sorted(set(self.TENANT_OF.values()), key=str):
            for channel in CHANNELS:
                self._http("POST", "/channels", self._admin(tenant), {"name": channel, "title": channel.title()})

    def teardown(self) -> None:
        os.environ.pop("INAPP_FANOUT_QUEUE_URL", None)
        self.client.__exit__(None, None, None)
        self.mock.stop()
        for module in CLOCKED:
            module.utc_now = _REAL_UTC_NOW

    def _http(self, method: str, path: str, token: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with dynamodb_faults(self.weather):
            return self.client.http.request(method, path, headers=headers, body=json.dumps(body).encode())

    @rule(weather=st.sampled_from(({}, {"unprocessed": 0.5}, {"conflict": 0.3}, {"unprocessed": 0.3, "conflict": 0.2})))
    def storage_weather(self, weather: dict[str, float]) -> None:
        """Partial batch answers and transaction conflicts, for the steps that follow."""
        self.weather = weather

    # --- sends -----------------------------------------------------------------------------

    @rule(
        receivers=st.lists(st.sampled_from(USERS), min_size=1, max_size=5),
        channel=st.sampled_from(CHANNELS),
        title=st.sampled_from(("a", "b")),
        key=st.none() | st.sampled_from(KEYS),
        fail_on=st.none() | st.integers(min_value=1, max_value=3),
        tags=st.sampled_from((None, ["t1"], ["t1", "t2"])),
        expires=st.booleans(),
    )
    def send(
        self, receivers: list[str], channel: str, title: str, key: str | None, fail_on: int | None, tags: Any, expires: bool
    ) -> None:
        severity = "critical" if title == "b" else "normal"
        tenant = self.TENANT_OF[receivers[0]]  # one admin sends to users of their own tenant
        receivers = [user for user in receivers if self.TENANT_OF[user] == tenant]
        subs = [self.SUB[user] for user in receivers]
        body: dict[str, Any] = {"channel": channel, "receivers": subs, "title": title, "severity": severity}
        if tags:
            body["tags"] = tags
        if expires:  # due once `time_passes` has run twice after it
            body["expiresAt"] = iso(datetime.now(UTC) + self.passed + timedelta(minutes=3))
        raw = json.dumps(body, sort_keys=True)
        if fail_on is None:
            response = self._post(raw, key, tenant)
        else:
            with failing_write(fail_on):
                response = self._post(raw, key, tenant)
        scope = (tenant, key)  # each tenant's admin has keys of their own
        if key is not None and scope in self.answered and self.answered[scope][0] != raw:
            assert response.status_code == 409, response.json_body  # the key belongs to another body
            return
        if response.status_code == 429 and key is not None:
            response = self._post(raw, key, tenant)  # as the 429 says: the same key completes the send
        if response.status_code == 429:
            self._adopt_partial(receivers)  # without a key, a failed send may have reached some receivers
            return
        assert response.status_code == 202, response.json_body
        send_id = response.json_body["id"]
        if expires and send_id not in self.expiries:
            self.expiries[send_id] = datetime.fromisoformat(body["expiresAt"])
        if key is not None:
            assert self.answered.get(scope, (raw, send_id)) == (raw, send_id)  # a replay answers the first id
            self.answered[scope] = (raw, send_id)
        for user in set(receivers):
            if send_id not in self.gone[user]:  # a replayed answer stores nothing: an expired or deleted copy stays gone
                self.expected[user].add(send_id)

    def _post(self, raw: str, key: str | None, tenant: str | None) -> Any:
        headers = {"Authorization": f"Bearer {self._admin(tenant)}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        with dynamodb_faults(self.weather):
            return self.client.http.request("POST", "/messages", headers=headers, body=raw.encode())

    def _adopt_partial(self, receivers: list[str]) -> None:
        """The groups that committed before the failure are real messages: expect them from now on."""
        for user in set(receivers):
            self.expected[user] |= self._held(user) - self.expected[user] - self.gone[user]

    def _held(self, user: str) -> set[str]:
        """The message ids the user holds: their items, live or archived, and the broadcasts they hold."""
        own = {m.message_id for m in InboxMessage.query(self._id(user)) if not m.id.startswith(NOT_MESSAGES)}
        return own | {entry.id for entry in broadcast.held_by(self._id(user))}

    # --- subscriptions and broadcasts (threshold 0: every audience send with a subscriber is one) ----------------

    @initialize(pairs=st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(CHANNELS)), min_size=2, max_size=8))
    def subscribers_at_first(self, pairs: list[tuple[str, str]]) -> None:
        """Some users subscribed from the start, so that broadcasts have holders to change them."""
        for user, channel in pairs:
            self.subscription(user, channel, True)

    @rule(user=st.sampled_from(USERS), channel=st.sampled_from(CHANNELS), add=st.booleans())
    def subscription(self, user: str, channel: str, add: bool) -> None:
        tenant = self.TENANT_OF[user]
        body = {"add" if add else "remove": [self.SUB[user]]}
        response = self._http("POST", f"/channels/{channel}/subscribers", self._admin(tenant), body)
        assert response.status_code in (200, 429), response.json_body  # 429: a conflict outlasted the retries
        held = self.subscribed.setdefault((tenant, channel), set())
        if response.status_code == 200:
            (held.add if add else held.discard)(user)

    @rule(user=st.sampled_from(USERS), channel=st.sampled_from(CHANNELS), key=st.sampled_from(("b1", "b2", "b3")))
    def broadcast(self, user: str, channel: str, key: str) -> None:
        """An audience send from the admin of ``user``'s tenant: every label subscribed now holds it."""
        tenant = self.TENANT_OF[user]
        raw = json.dumps({"channel": channel, "audience": "subscribers", "title": f"to {channel}", "tags": ["t1"]})
        scope = (tenant, key)
        if scope in self.answered and self.answered[scope][0] != raw:
            return  # the key's conflict is the sends' rule to check
        response = self._post(raw, key, tenant)
        if response.status_code == 429:
            response = self._post(raw, key, tenant)  # the same key completes it
        if response.status_code == 429:
            for label in self.subscribed.get((tenant, channel), set()):
                self._adopt_partial([label])
            return
        assert response.status_code == 202, response.json_body
        send_id = response.json_body["id"]
        replay = scope in self.answered
        self.answered[scope] = (raw, send_id)
        if replay:
            return  # answered before: stored then, for whoever was subscribed then
        for label in self.subscribed.get((tenant, channel), set()):
            if send_id not in self.gone[label]:
                self.expected[label].add(send_id)

    # --- the user's changes --------------------------------------------------------------------

    def _pick(self, data: st.DataObject) -> tuple[str, str] | None:
        """One of a user's messages, or None. The draws never depend on what the weather let through
        (a send answered 429 in one run and 202 in its replay): hypothesis needs the same kinds of
        draws on the same path, or it stops with FlakyStrategyDefinition."""
        user = data.draw(st.sampled_from(USERS))
        index = data.draw(st.integers(min_value=0, max_value=63))
        held = sorted(self.expected[user])
        return (user, held[index % len(held)]) if held else None

    @rule(data=st.data(), status=st.sampled_from(("read", "unread")))
    def set_status(self, data: st.DataObject, status: str) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        user, message_id = picked
        response = self._http("PATCH", f"/me/messages/{message_id}", self._token(user), {"status": status})
        assert response.status_code in (200, 429), response.json_body  # 429: a conflict outlasted the retries
        self._own_changes_show(user)

    @rule(data=st.data(), archived=st.booleans())
    def archive_or_restore(self, data: st.DataObject, archived: bool) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        user, message_id = picked
        response = self._http("PATCH", f"/me/messages/{message_id}", self._token(user), {"archived": archived})
        assert response.status_code in (200, 429), response.json_body
        assert response.status_code == 429 or response.json_body["archived"] is archived
        self._own_changes_show(user)

    @rule(data=st.data(), pinned=st.booleans())
    def pin(self, data: st.DataObject, pinned: bool) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        user, message_id = picked
        response = self._http("PATCH", f"/me/messages/{message_id}", self._token(user), {"pinned": pinned})
        assert response.status_code in (200, 404, 409, 429), response.json_body  # 404: expired; 409: not live
        self._own_changes_show(user)

    @rule(data=st.data(), hours=st.sampled_from((1, 2)))
    def snooze(self, data: st.DataObject, hours: int) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        user, message_id = picked
        until = iso(datetime.now(UTC) + timedelta(hours=hours))
        response = self._http("PATCH", f"/me/messages/{message_id}", self._token(user), {"snoozedUntil": until})
        assert response.status_code in (200, 404, 409, 429), response.json_body  # 409: archived
        self._own_changes_show(user)

    @rule(data=st.data())
    def wake_by_hand(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        user, message_id = picked
        response = self._http("PATCH", f"/me/messages/{message_id}", self._token(user), {"snoozedUntil": None})
        assert response.status_code in (200, 404, 429), response.json_body
        self._own_changes_show(user)

    @rule(hours=st.sampled_from((1, 3)), twice=st.booleans())
    def scheduler_wakes_what_is_due(self, hours: int, twice: bool) -> None:
        """EventBridge Scheduler runs the due wake-ups (at least once: maybe twice)."""
        moment = datetime.now(UTC) + timedelta(hours=hours)
        client = boto3.client("scheduler", region_name="us-east-1")
        ran: list[dict[str, Any]] = []

        def invoke(function: str, event: dict[str, Any]) -> Any:
            ran.append(event)
            with dynamodb_faults(self.weather):
                return self.client.lambda_.invoke(function.removeprefix("inapp-dev-"), event).payload

        for _ in range(3):  # a wake-up the weather failed is tried again, as the scheduler retries
            fire_due(client, invoke, now=moment)
        if twice:
            for event in ran:
                self.client.lambda_.invoke("wake", event)

    @rule()
    def time_passes(self) -> None:
        """The app's clock moves on 2 minutes: messages' own expiries come due (TTL has not deleted them yet)."""
        self.passed += timedelta(minutes=2)
        moment = datetime.now(UTC) + self.passed
        for module in CLOCKED:
            module.utc_now = lambda moment=moment: moment  # type: ignore[attr-defined]
        for user in USERS:
            due = {i for i in self.expected[user] if i in self.expiries and self.expiries[i] <= moment}
            self.expected[user] -= due
            self.gone[user] |= due

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        picked = self._pick(data)
        if picked is None:
            return
        user, message_id = picked
        status = self._http("DELETE", f"/me/messages/{message_id}", self._token(user), None).status_code
        assert status in (204, 404, 429)  # 404: expired meanwhile
        self._own_changes_show(user)
        if status != 204:  # the transaction did not commit: still there (or gone already)
            return
        assert self._http("DELETE", f"/me/messages/{message_id}", self._token(user), None).status_code == 404
        self.expected[user].discard(message_id)
        self.gone[user].add(message_id)

    @rule(
        user=st.sampled_from(USERS),
        channel=st.none() | st.sampled_from(CHANNELS),
        action=st.sampled_from(("read", "seen", "archive")),
    )
    def mark_all(self, user: str, channel: str | None, action: str) -> None:
        body: dict[str, Any] = {} if channel is None else {"channel": channel}
        if action == "archive":
            body["status"] = "read"
        response = self._http("POST", f"/me/messages/{action}", self._token(user), body)
        assert response.status_code in (200, 429), response.json_body  # 429: what was done stays done
        self._own_changes_show(user)

    @rule(user=st.sampled_from(USERS), channel=st.sampled_from(CHANNELS), muted=st.booleans())
    def mute(self, user: str, channel: str, muted: bool) -> None:
        response = self._http("PUT", f"/me/preferences/channels/{channel}", self._token(user), {"muted": muted})
        assert response.status_code in (200, 429), response.json_body
        self._own_changes_show(user)

    def _own_changes_show(self, user: str) -> None:
        """Read-your-own-writes: the stream caught up before this step (the invariants below), so right after the
        user's change, and before it catches up again, what the user reads equals a recount of their items."""
        headers = {"Authorization": f"Bearer {self._token(user)}"}

        def get(path: str) -> Any:
            response = self.client.http.request("GET", path, headers=headers)
            assert response.status_code == 200, response.json_body
            return response.json_body

        now = expiry.utc_now()
        due = [m.serialize() for m in InboxMessage.query(self._id(user), InboxMessage.id < "a") if expiry.expired(m, now)]
        held = broadcast.held_by(self._id(user))  # each an unread live message of the user's
        expected = broadcast.counts_with(tally(self._id(user)).without(due), held)  # less what expired (and deletes it)
        assert get("/me/unread-count") == expected.summary(), user
        shown = {c["name"]: (c["unread"], c["total"]) for c in get("/me/channels?limit=100")["items"]}
        assert shown == {c: (expected.of("u", c), expected.of("t", c)) for c in expected.channels}, user
        live = InboxMessage.query(self._id(user), InboxMessage.id < "a")
        unread = {m.id for m in live if m.status == "unread" and not expiry.expired(m, now)} | {e.id for e in held}
        assert {m["id"] for m in get("/me/messages?status=unread&limit=100")["items"]} == unread, user

    # --- the stream: TTL expiries, batches failing midway and replayed ----------------------------

    @rule(data=st.data())
    def ttl_expires_the_oldest(self, data: st.DataObject) -> None:
        """TTL deletes in creation order (one retention for all), so a user's oldest message goes first."""
        picked = self._pick(data)
        if picked is None:
            return
        user, oldest = picked[0], min(self.expected[picked[0]])
        deleted = False
        for message in InboxMessage.batch_get([(self._id(user), prefix + oldest) for prefix in ("", ARCHIVED, SNOOZED)]):
            message.delete()
            self.ttl_deleted.add((self._id(user), message.id))
            deleted = True
        if deleted:  # a broadcast the user never changed has no item of theirs: it expires with its retention
            self.expected[user].discard(oldest)
            self.gone[user].add(oldest)

    @rule(ways=st.sampled_from([1, 2]))
    def shards_roll_over_or_split(self, ways: int) -> None:
        """The stream's shards end and 1 child (a rollover) or 2 (a partition split) take the next records."""
        self.shards.roll_over(ways)

    @rule(split=st.integers(min_value=0, max_value=10), replay=st.booleans())
    def deliver(self, split: int, replay: bool) -> None:
        """Per shard: a batch whose first part succeeds, then (as Lambda retries from the failed record) all of it."""
        for shard, records in self.shards.batches(as_ttl_deletions(self.stream.batch(), self.ttl_deleted)["Records"]):
            batch = {"Records": records, "shardId": shard, "window": {"start": "", "end": ""}, "state": {}}
            head = {**batch, "Records": records[: min(split, len(records))]}
            for attempt in (head, batch, batch) if replay else (head, batch):
                self._deliver_until_done(attempt)

    def _deliver_until_done(self, batch: dict[str, Any]) -> None:
        """As Lambda does: a batch with failed records runs again from the first of them (in weather, then out)."""
        records = batch["Records"]
        for weather in (self.weather, self.weather, {}):
            with dynamodb_faults(weather):
                answer = self.client.lambda_.invoke("deliver", {**batch, "Records": records}).payload
            assert answer["state"] == {}, "a tumbling window's invocation that answers no state has failed"
            failed = [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]
            if not failed:
                return
            first = min(index for index, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed)
            records = records[first:]
        raise AssertionError(f"records still failing out of the weather: {answer}")

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def counts_equal_a_recount_once_the_stream_caught_up(self) -> None:
        self.keeper.catch_up()
        for user in USERS:
            stored, expected = counts.read(self._id(user), consistent=True), tally(self._id(user))
            assert (stored.numbers(), stored.muted) == (expected.numbers(), expected.muted), user
            assert stored.summary() == expected.summary(), user

    @invariant()
    def every_accepted_send_is_stored_once_per_receiver(self) -> None:
        for user in USERS:
            now = expiry.utc_now()  # what expired may still be stored until a read finds it (or TTL deletes it)
            items = [m for m in InboxMessage.query(self._id(user)) if not m.id.startswith(NOT_MESSAGES)]
            stored = [m.message_id for m in items if not expiry.expired(m, now)]
            assert len(items) == len({m.message_id for m in items}), user  # never both live and archived (or snoozed)
            held = {entry.id for entry in broadcast.held_by(self._id(user))}
            assert not held & {m.message_id for m in items}, user  # a broadcast copied is no longer held as well
            assert set(stored) | held == self.expected[user], user


_REAL_UTC_NOW = expiry.utc_now
CLOCKED = (expiry, queries, lookup, views)  # the modules whose clock the machine moves


@pytest.fixture
def small_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chalicelib.storage import batches

    monkeypatch.setattr(batches, "BATCH_WRITE_ITEMS", 2)
    monkeypatch.setattr(group_write, "MESSAGES_PER_TRANSACTION", 2)
    monkeypatch.setenv("INAPP_WS_ENDPOINT", "http://127.0.0.1:9/api")  # no socket is connected: nothing is posted
    yield


class TenantsMachine(InboxMachine):
    """The same, on one deployment serving two tenants: "ann" of t1 and "ann" of t2 (labels ann and cat) are two
    users, and so are both tenants' channels "ops" and "news"; what each user holds and counts is their own."""

    TENANT_OF: ClassVar[dict[str, str | None]] = {"ann": "t1", "ben": "t1", "cat": "t2", "dan": "t2", "eve": "t2"}
    SUB: ClassVar[dict[str, str]] = {"ann": "ann", "ben": "ben", "cat": "ann", "dan": "dan", "eve": "ben"}


@pytest.mark.parametrize("machine", [InboxMachine, TenantsMachine], ids=["one tenant", "two tenants"])
def test_counts_stay_exact_and_nothing_is_lost(
    small_groups: None, machine: type[InboxMachine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", "0")  # every audience send with a subscriber is a broadcast
    if machine is TenantsMachine:
        monkeypatch.setenv("INAPP_TENANT_CLAIM", DEFAULT_TENANT_CLAIM)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=int(os.environ.get("INAPP_INVARIANT_EXAMPLES", "25")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
