"""chalicelib.inbox.snooze: out of every list and count until its one-time schedule wakes it, back unread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import inbox, service, storage
from chalicelib.core.clock import iso
from chalicelib.core.errors import BusyError
from chalicelib.inbox import snooze
from chalicelib.storage import SNOOZED, InboxMessage
from infra.local.lambdas.scheduler import fire_due
from tests.conftest import (
    Api,
    ConnectFactory,
    LambdaClient,
    SendFactory,
    TokenFactory,
    assert_counts_exact,
    assert_error,
    deliver_and_replay,
)
from tests.events import StreamTap
from tests.faults import Throttle, aws_answer, hooked
from tests.standin import ManagementStandIn


def _ahead(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


def _schedules() -> list[dict[str, Any]]:
    client = boto3.client("scheduler", region_name="us-east-1")
    return [client.get_schedule(Name=s["Name"]) for s in client.list_schedules()["Schedules"]]


def _names() -> list[str]:
    return [schedule["Name"] for schedule in _schedules()]


def _name_of(user: str, message_id: str) -> str:
    """The schedule of the snooze the message is in now (each snooze written has its own)."""
    (stored,) = storage.read_batch(InboxMessage, [(user, SNOOZED + message_id)], consistent=True)
    assert stored.snoozed_until is not None and stored.wake_id is not None
    return snooze.schedule_name(user, message_id, stored.snoozed_until, stored.wake_id)


def _scheduler() -> snooze.EventBridgeScheduler:
    scheduler = service.get_wake_scheduler()
    assert scheduler is not None
    return scheduler


@contextmanager
def _failing_cancels() -> Iterator[None]:
    """Within the block, EventBridge Scheduler answers every DeleteSchedule with a 500."""

    def fail(**_: Any) -> Any:
        return aws_answer(500, {"Error": {"Code": "InternalServerException", "Message": "injected"}})

    events = _scheduler().client.meta.events
    events.register_first("before-call.scheduler.DeleteSchedule", fail)
    try:
        yield
    finally:
        events.unregister("before-call.scheduler.DeleteSchedule", fail)


@pytest.fixture
def fire(lambdas: LambdaClient) -> Any:
    """The local stand-in for EventBridge Scheduler, run once at a given moment: the ``wake`` function for what is due."""

    def _fire(at: datetime) -> int:
        def invoke(function: str, event: dict[str, Any]) -> Any:
            return lambdas.invoke(function.removeprefix("inapp-dev-"), event).payload

        return fire_due(boto3.client("scheduler", region_name="us-east-1"), invoke, now=at)

    return _fire


def test_a_snoozed_message_leaves_every_list_and_count_and_its_schedule_brings_it_back_unread(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, fire: Any
) -> None:
    alice = token("alice")
    kept, snoozed = send(["alice"])["id"], send(["alice"], title="later")["id"]
    api.change_message(alice, snoozed, {"status": "read"})
    until = _ahead(hours=2)
    moved = api.change_message(alice, snoozed, {"snoozedUntil": until})
    assert (moved["id"], moved["snoozedUntil"], moved["status"]) == (snoozed, until, "read")
    for query in ("", "?status=read", "?channel=news", "?channel=news&status=read", f"?after={kept}", "?archived=true"):
        assert snoozed not in api.message_ids(alice, query), query
    assert api.message_ids(alice, "?snoozed=true") == [snoozed]
    assert api.call("GET", f"/me/messages/{snoozed}", token=alice).json_body == moved
    assert api.unread_count(alice) == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    (news,) = api.call("GET", "/me/channels", token=alice).json_body["items"]
    assert news["total"] == 1
    assert_counts_exact("alice")
    (schedule,) = _schedules()  # one one-time schedule, deleted after it runs, invoking `wake` with the snooze
    assert schedule["ScheduleExpression"] == f"at({until[:19]})" and schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"].endswith(":function:inapp-dev-wake")

    assert fire(datetime.now(UTC) + timedelta(hours=1)) == 0  # not yet
    assert api.message_ids(alice, "?snoozed=true") == [snoozed]
    assert fire(datetime.now(UTC) + timedelta(hours=3)) == 1
    woken = api.call("GET", f"/me/messages/{snoozed}", token=alice).json_body
    assert (woken["status"], woken["seen"], "snoozedUntil" in woken) == ("unread", False, False)
    assert api.message_ids(alice) == [snoozed, kept] and api.message_ids(alice, "?snoozed=true") == []
    assert api.unread_count(alice) == {"total": 2, "unseen": 2, "channels": {"news": 2}}
    assert _schedules() == []
    # The wake-up run again (EventBridge Scheduler delivers at least once) changes nothing.
    assert snooze.wake("alice", snoozed, until) is None
    assert api.call("GET", f"/me/messages/{snoozed}", token=alice).json_body == woken
    assert_counts_exact("alice")


def test_snoozing_again_leaves_only_the_new_schedule_and_a_wake_up_for_the_old_one_finds_nothing(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    first, second = _ahead(hours=1), _ahead(days=3)
    api.change_message(alice, sent, {"snoozedUntil": first})
    assert api.change_message(alice, sent, {"snoozedUntil": second})["snoozedUntil"] == second  # snoozed again: later
    assert _names() == [_name_of("alice", sent)]
    assert snooze.wake("alice", sent, first) is None  # the first schedule, had it run after all: its snooze is no more
    assert api.message_ids(alice, "?snoozed=true") == [sent]
    assert_counts_exact("alice")


def test_snoozing_again_until_the_same_time_leaves_one_schedule_its_own(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    until = _ahead(hours=1)
    for _ in range(2):  # a request retried after it went through
        assert api.change_message(alice, sent, {"snoozedUntil": until})["snoozedUntil"] == until
    assert _names() == [_name_of("alice", sent)]


def test_a_late_cancel_of_an_earlier_snooze_to_the_same_time_leaves_the_later_snooze_its_schedule(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """Two requests at once: one moves the snooze from X to Y and, after its write, cancels X's schedule; meanwhile
    the other snoozes back to X. Schedules named by the time alone made that cancel remove the schedule the new
    snooze to X counted on (it found it there and kept it): the message never woke (found in review)."""
    alice = token("alice")
    sent = send(["alice"])["id"]
    at_x = api.change_message(alice, sent, {"snoozedUntil": _ahead(hours=1)})["snoozedUntil"]
    first_snooze = inbox.find_message("alice", sent)  # what the slow request replaced, to cancel after its write
    api.change_message(alice, sent, {"snoozedUntil": _ahead(days=2)})
    assert api.change_message(alice, sent, {"snoozedUntil": at_x})["snoozedUntil"] == at_x  # the other request
    snooze.forget_wake_up(_scheduler(), first_snooze)  # the slow request's cancel, late
    assert _names() == [_name_of("alice", sent)]  # the snooze back to X keeps its own schedule
    assert snooze.wake("alice", sent, at_x, first_snooze.wake_id) is None  # the first snooze's wake-up is not its
    assert api.message_ids(alice, "?snoozed=true") == [sent]


def test_null_wakes_at_once_and_cancels_its_schedule(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, fire: Any
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    api.change_message(alice, sent, {"snoozedUntil": _ahead(hours=1)})
    woken = api.change_message(alice, sent, {"snoozedUntil": None})
    assert (woken["status"], "snoozedUntil" in woken) == ("unread", False)
    assert _schedules() == []
    assert api.change_message(alice, sent, {"snoozedUntil": None}) == woken  # awake already: nothing changes
    assert fire(datetime.now(UTC) + timedelta(hours=2)) == 0
    assert api.unread_count(alice) == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    assert_counts_exact("alice")


@pytest.mark.parametrize("change", ["archive", "delete"])
def test_a_snoozed_message_archived_or_deleted_has_its_schedule_cancelled_and_its_wake_up_finds_nothing(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, change: str
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    until = api.change_message(alice, sent, {"snoozedUntil": _ahead(minutes=5)})["snoozedUntil"]
    if change == "archive":
        moved = api.change_message(alice, sent, {"archived": True})
        assert (moved["archived"], "snoozedUntil" in moved) == (True, False)
    else:
        assert api.call("DELETE", f"/me/messages/{sent}", token=alice).status_code == 204
    assert _schedules() == []
    assert snooze.wake("alice", sent, until) is None  # its schedule, had it run after all
    assert api.message_ids(alice) == [] and api.message_ids(alice, "?archived=true") == ([sent] if change == "archive" else [])
    assert api.unread_count(alice) == {"total": 0, "unseen": 0, "channels": {}}
    assert_counts_exact("alice")


def test_a_cancel_that_fails_is_logged_and_every_change_answers_as_without_it(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, fire: Any, caplog: pytest.LogCaptureFixture
) -> None:
    alice = token("alice")
    snoozed, woken, deleted = (send(["alice"])["id"] for _ in range(3))
    for sent in (snoozed, woken, deleted):
        api.change_message(alice, sent, {"snoozedUntil": _ahead(hours=1)})
    later = _ahead(days=1)
    with _failing_cancels():
        assert api.change_message(alice, snoozed, {"snoozedUntil": later})["snoozedUntil"] == later
        assert api.change_message(alice, woken, {"snoozedUntil": None})["status"] == "unread"
        assert api.call("DELETE", f"/me/messages/{deleted}", token=alice).status_code == 204
    assert [r.levelname for r in caplog.records if "not cancelled" in r.getMessage()] == ["WARNING"] * 3
    assert len(_schedules()) == 4  # the three left behind, and the new one
    assert fire(datetime.now(UTC) + timedelta(hours=2)) == 3  # those left behind run and find nothing to wake
    assert api.message_ids(alice) == [woken] and api.message_ids(alice, "?snoozed=true") == [snoozed]
    assert_counts_exact("alice")


def test_a_snooze_that_loses_to_another_change_cancels_its_schedule(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    read_before = inbox.find_message("alice", sent)
    api.change_message(alice, sent, {"status": "read"})  # another device, between the snooze's read and its write
    with pytest.raises(BusyError, match=r"^snoozedUntil: the message is being changed elsewhere; try again$"):
        snooze.snooze("alice", read_before, datetime.now(UTC) + timedelta(hours=1), _scheduler())
    assert _schedules() == [] and api.message_ids(alice, "?snoozed=true") == []


def test_a_snooze_that_loses_to_its_twin_keeps_the_twin_s_schedule(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    read_before = inbox.find_message("alice", sent)
    until = api.change_message(alice, sent, {"snoozedUntil": _ahead(hours=1)})["snoozedUntil"]  # the twin, first
    with pytest.raises(BusyError):
        snooze.snooze("alice", read_before, datetime.fromisoformat(until), _scheduler())
    assert _names() == [_name_of("alice", sent)]


def test_a_snooze_whose_move_fails_cancels_its_schedule(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    with hooked(Throttle("TransactWriteItems"), "TransactWriteItems"):
        answer = api.call("PATCH", f"/me/messages/{sent}", token=alice, json_body={"snoozedUntil": _ahead(hours=1)})
    assert_error(answer, 429, "snoozedUntil: the message is being changed elsewhere; try again")
    assert _schedules() == [] and api.message_ids(alice) == [sent]


def test_the_local_stand_in_passes_over_a_schedule_cancelled_while_it_runs(
    api: Api, lambdas: LambdaClient, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    for sent in (send(["alice"])["id"], send(["alice"])["id"]):
        api.change_message(alice, sent, {"snoozedUntil": _ahead(minutes=5)})
    client = boto3.client("scheduler", region_name="us-east-1")

    def invoke_and_wake_the_others_by_hand(function: str, event: dict[str, Any]) -> Any:
        own = snooze.schedule_name(event["userId"], event["id"], event["snoozedUntil"], event.get("wakeId"))
        for other in set(_names()) - {own}:
            client.delete_schedule(Name=other)  # as a wake-up by hand cancels it, while the round goes on
        return lambdas.invoke(function.removeprefix("inapp-dev-"), event).payload

    assert fire_due(client, invoke_and_wake_the_others_by_hand, now=datetime.now(UTC) + timedelta(minutes=10)) == 1
    assert _schedules() == []


def test_without_a_scheduler_a_snoozed_message_still_wakes_by_hand_and_is_deleted(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    woken, deleted = send(["alice"])["id"], send(["alice"])["id"]
    for sent in (woken, deleted):
        api.change_message(alice, sent, {"snoozedUntil": _ahead(hours=1)})
    change = inbox.MessageChange(status=None, archived=None, wake=True)
    assert inbox.change_message("alice", woken, change, None)["status"] == "unread"
    inbox.delete_message("alice", deleted, None)
    assert len(_schedules()) == 2  # nothing to cancel them with: they run and find nothing
    assert api.message_ids(alice) == [woken] and api.message_ids(alice, "?snoozed=true") == []


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"snoozedUntil": "tomorrow"}, "snoozedUntil", "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z"),
        (
            {"snoozedUntil": "2030-01-01T09:00:00"},
            "snoozedUntil",
            "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z",
        ),
        ({"snoozedUntil": 5}, "snoozedUntil", "must be an ISO 8601 time with a time zone, e.g. 2030-01-01T09:00:00Z"),
        ({"snoozedUntil": "2001-01-01T00:00:00Z"}, "snoozedUntil", "must be from 1 minute to 90 days ahead"),
        ({"snoozedUntil": "2999-01-01T00:00:00Z"}, "snoozedUntil", "must be from 1 minute to 90 days ahead"),
        ({"snoozedUntil": None, "status": "read"}, "snoozedUntil", "must be changed on its own"),
    ],
)
def test_a_bad_snooze_is_refused_naming_the_field_and_changes_nothing(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, body: dict[str, Any], field: str, problem: str
) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    before = api.call("GET", f"/me/messages/{sent}", token=alice).json_body
    answer = api.call("PATCH", f"/me/messages/{sent}", token=alice, json_body=body)
    assert_error(answer, 400, f"{field}: {problem}")
    assert api.call("GET", f"/me/messages/{sent}", token=alice).json_body == before and _schedules() == []


def test_an_archived_message_cannot_be_snoozed(api: Api, channel: str, send: SendFactory, token: TokenFactory) -> None:
    alice = token("alice")
    sent = send(["alice"])["id"]
    api.change_message(alice, sent, {"archived": True})
    answer = api.call("PATCH", f"/me/messages/{sent}", token=alice, json_body={"snoozedUntil": _ahead(hours=1)})
    assert_error(answer, 409, "snoozedUntil: an archived message cannot be snoozed; restore it first")


def test_every_device_sees_the_snooze_and_the_wake_up_as_a_new_message_with_its_counts(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
    fire: Any,
) -> None:
    alice = token("alice")
    connect("alice", "a1=", "a2=")
    sent = send(["alice"])["id"]
    deliver_and_replay(lambdas, stream.batch())
    until = _ahead(minutes=30)
    api.change_message(alice, sent, {"snoozedUntil": until})
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    fire(datetime.now(UTC) + timedelta(hours=1))
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    for device in ("a1=", "a2="):
        frames = standin.frames(device)
        assert [(f["type"], f["message"]["id"]) for f in frames] == [
            ("message.created", sent),
            ("message.updated", sent),  # snoozed: out of the lists
            ("message.created", sent),  # woken: a new message again
        ]
        assert frames[1]["message"]["snoozedUntil"] == until
        assert frames[2]["unsnoozed"] is True and "unsnoozed" not in frames[0]
        one = {"total": 1, "unseen": 1, "channels": {"news": 1}}
        assert standin.counts(device) == [one, {"total": 0, "unseen": 0, "channels": {}}, one]
    assert_counts_exact("alice")


def test_a_woken_message_is_found_by_a_catch_up_after_newer_ones(
    api: Api, channel: str, send: SendFactory, token: TokenFactory, fire: Any
) -> None:
    """Its id is old: a client that saw newer messages catches up by ``storedId`` (set when it wakes)."""
    alice = token("alice")
    sent = send(["alice"])["id"]
    api.change_message(alice, sent, {"snoozedUntil": _ahead(minutes=2)})
    newer = send(["alice"])["id"]
    fire(datetime.now(UTC) + timedelta(minutes=3))
    assert sent in api.message_ids(alice, f"?after={newer}")


def test_a_message_woken_while_the_client_was_away_comes_back_in_its_catch_up_even_as_the_newest_seen(
    api: Api, channel: str, send: SendFactory, token: TokenFactory
) -> None:
    """Found by the browser work: the catch-up left out ``after`` itself, and a woken message keeps its id."""
    alice = token("alice")
    sent = send(["alice"])["id"]
    api.change_message(alice, sent, {"snoozedUntil": _ahead(hours=1)})
    api.change_message(alice, sent, {"snoozedUntil": None})
    assert api.message_ids(alice, f"?after={sent}") == [sent]
    assert api.message_ids(alice, f"?after={sent}&status=unread") == [sent]
