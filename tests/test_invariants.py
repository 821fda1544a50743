"""Property-based state machine over the real code on moto: counts stay exact, nothing sent is lost.

Random sequences of sends (duplicates, retries with the same Idempotency-Key,
a transaction failing midway), read/unread, mark-all-read, TTL expiries,
and stream batches delivered, failed midway and replayed. After every step:

* for every user and channel, the counter's ``unread``/``total`` equal a
  recount from the items, and ``latest`` is the newest item;
* every send that answered 202 is stored for every receiver exactly once
  (less what TTL has since expired).

Sends go in groups of 2 receivers (instead of 50) so that small sends span
several transactions and a failure can fall between them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from moto import mock_aws

from chalicelib import sending, service
from chalicelib.auth import issue_token
from chalicelib.config import load_settings
from chalicelib.models import ChannelCounter, InboxMessage, create_tables
from chalicelib.repair import Tally
from tests.conftest import SECRET
from tests.events import StreamTap, as_ttl_deletions
from tests.faults import failing_transaction

USERS = ("ann", "ben", "cat", "dan", "eve")
CHANNELS = ("ops", "news")
KEYS = ("k1", "k2", "k3")
ADMIN = issue_token("admin", SECRET, admin=True)
TOKENS = {user: issue_token(user, SECRET) for user in USERS}


class InboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mock = mock_aws()
        self.mock.start()
        service.reset()
        create_tables(load_settings())
        from app import app

        self.client = Client(app, stage_name="dev").__enter__()
        self.stream = StreamTap()
        self.expected: dict[str, set[str]] = {user: set() for user in USERS}  # ids each user must hold
        self.expired: dict[str, set[str]] = {user: set() for user in USERS}
        self.in_flight: dict[str, list[InboxMessage]] = {user: [] for user in USERS}  # expired, stream not yet read
        self.answered: dict[str, tuple[str, str]] = {}  # key → (body, id) of a 202
        for channel in CHANNELS:
            self._http("POST", "/channels", ADMIN, {"name": channel, "title": channel.title()})

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)
        self.mock.stop()

    def _http(self, method: str, path: str, token: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return self.client.http.request(method, path, headers=headers, body=json.dumps(body).encode())

    # --- sends -----------------------------------------------------------------------------

    @rule(
        receivers=st.lists(st.sampled_from(USERS), min_size=1, max_size=5),
        channel=st.sampled_from(CHANNELS),
        title=st.sampled_from(("a", "b")),
        key=st.none() | st.sampled_from(KEYS),
        fail_on=st.none() | st.integers(min_value=1, max_value=3),
    )
    def send(self, receivers: list[str], channel: str, title: str, key: str | None, fail_on: int | None) -> None:
        raw = json.dumps({"channel": channel, "receivers": receivers, "title": title}, sort_keys=True)
        if fail_on is None:
            response = self._post(raw, key)
        else:
            with failing_transaction(fail_on):
                response = self._post(raw, key)
        if key is not None and key in self.answered and self.answered[key][0] != raw:
            assert response.status_code == 409, response.json_body  # the key belongs to another body
            return
        if response.status_code == 429 and key is not None:
            response = self._post(raw, key)  # as the 429 says: the same key completes the send
        if response.status_code == 429:
            self._adopt_partial(receivers)  # without a key, a failed send may have reached some receivers
            return
        assert response.status_code == 202, response.json_body
        send_id = response.json_body["id"]
        if key is not None:
            assert self.answered.get(key, (raw, send_id)) == (raw, send_id)  # a replay answers the first id
            self.answered[key] = (raw, send_id)
        for user in set(receivers):
            self.expected[user].add(send_id)

    def _post(self, raw: str, key: str | None) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        return self.client.http.request("POST", "/messages", headers=headers, body=raw.encode())

    def _adopt_partial(self, receivers: list[str]) -> None:
        """The groups that committed before the failure are real messages: expect them from now on."""
        for user in set(receivers):
            self.expected[user] |= {m.id for m in InboxMessage.query(user)} - self.expected[user] - self.expired[user]

    # --- the user's changes --------------------------------------------------------------------

    @precondition(lambda self: any(self.expected.values()))
    @rule(data=st.data(), status=st.sampled_from(("read", "unread")))
    def set_status(self, data: st.DataObject, status: str) -> None:
        user = data.draw(st.sampled_from([u for u in USERS if self.expected[u]]))
        message_id = data.draw(st.sampled_from(sorted(self.expected[user])))
        response = self._http("PATCH", f"/me/messages/{message_id}", TOKENS[user], {"status": status})
        assert response.status_code == 200, response.json_body

    @rule(user=st.sampled_from(USERS), channel=st.none() | st.sampled_from(CHANNELS))
    def mark_all_read(self, user: str, channel: str | None) -> None:
        response = self._http("POST", "/me/messages/read", TOKENS[user], {} if channel is None else {"channel": channel})
        assert response.status_code == 200, response.json_body

    # --- the stream: TTL expiries, batches failing midway and replayed ----------------------------

    @precondition(lambda self: any(self.expected.values()))
    @rule(data=st.data())
    def ttl_expires_the_oldest(self, data: st.DataObject) -> None:
        """TTL deletes in creation order (one retention for all), so a user's oldest message goes first."""
        user = data.draw(st.sampled_from([u for u in USERS if self.expected[u]]))
        oldest = min(self.expected[user])
        message = InboxMessage.get(user, oldest)
        message.delete()
        self.in_flight[user].append(message)
        self.expected[user].discard(oldest)
        self.expired[user].add(oldest)

    @rule(split=st.integers(min_value=0, max_value=10), replay=st.booleans())
    def deliver(self, split: int, replay: bool) -> None:
        """A batch whose first part succeeds, then (as Lambda retries from the failed record) all of it, maybe twice."""
        batch = as_ttl_deletions(self.stream.batch())
        records = batch["Records"]
        head = {"Records": records[: min(split, len(records))]}
        for attempt in (head, batch, batch) if replay else (head, batch):
            answer = self.client.lambda_.invoke("deliver", attempt).payload
            assert answer == {"batchItemFailures": []}
        for pending in self.in_flight.values():
            pending.clear()  # every expiry so far has reached the stream handler

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def counters_equal_a_recount(self) -> None:
        for user in USERS:
            tallies: dict[str, Tally] = {}
            # An expiry counts down once the stream handler sees it; until then the counter still counts it.
            for message in [*InboxMessage.query(user), *self.in_flight[user]]:
                tallies.setdefault(message.channel, Tally()).add(message)
            for counter in ChannelCounter.query(user):
                tally = tallies.pop(counter.channel, Tally())
                assert (counter.unread, counter.total) == (tally.unread, tally.total), (user, counter.channel)
                if tally.latest is not None:
                    assert counter.latest_id == tally.latest.id, (user, counter.channel)
            assert tallies == {}, f"{user} has messages no counter counts: {sorted(tallies)}"

    @invariant()
    def every_accepted_send_is_stored_once_per_receiver(self) -> None:
        for user in USERS:
            stored = [m.id for m in InboxMessage.query(user)]
            assert len(stored) == len(set(stored))
            assert set(stored) == self.expected[user], user


@pytest.fixture
def small_groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sending, "RECEIVERS_PER_TRANSACTION", 2)
    monkeypatch.setenv("INAPP_WS_ENDPOINT", "http://127.0.0.1:9/api")  # no socket is connected: nothing is posted
    yield


def test_counts_stay_exact_and_nothing_is_lost(small_groups: None) -> None:
    run_state_machine_as_test(
        InboxMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
