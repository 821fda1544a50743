"""The local stack's EventBridge Scheduler stand-in: a snooze's one-time schedule wakes it, frames and all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from chalicelib.core.auth import issue_token
from chalicelib.core.clock import iso
from infra.local.running import RunningStack
from tests.conftest import SECRET
from tests.e2e import frames


def _scheduler(stack: RunningStack) -> Any:
    return boto3.client(
        "scheduler", endpoint_url=stack.urls["dynamodb"], region_name="us-east-1", aws_access_key_id="local",
        aws_secret_access_key="local",
    )  # fmt: skip


def test_a_snooze_schedule_in_the_stack_wakes_the_message_and_every_socket_hears_it(stack: RunningStack) -> None:
    admin, user = issue_token("admin", SECRET, admin=True), issue_token("sleepy", SECRET)
    with stack.socket(user) as socket:
        status, sent = stack.http(
            "POST", "/messages", admin, {"channel": "general", "receivers": ["sleepy"], "title": "later", "tags": ["ops"]}
        )
        assert status == 202, sent
        frames(socket, 1)  # the message
        until = iso(datetime.now(UTC) + timedelta(hours=1))
        status, snoozed = stack.http("PATCH", f"/me/messages/{sent['id']}", user, {"snoozedUntil": until})
        assert (status, snoozed["snoozedUntil"]) == (200, until)
        (update,) = frames(socket, 1, kinds=("message.updated",))
        assert update["message"]["snoozedUntil"] == until
        scheduler = _scheduler(stack)
        (listed,) = [s for s in scheduler.list_schedules()["Schedules"] if s["Name"].startswith(f"wake-{sent['id']}")]
        schedule = scheduler.get_schedule(Name=listed["Name"])
        # As if the hour had passed: the same schedule, due now (the stand-in looks every second).
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        keep = ("Target", "FlexibleTimeWindow", "ActionAfterCompletion", "ScheduleExpressionTimezone")
        scheduler.update_schedule(Name=listed["Name"], ScheduleExpression=f"at({now})", **{k: schedule[k] for k in keep})
        (woken,) = frames(socket, 1, kinds=("message.created",))
        assert (woken["message"]["id"], woken["unsnoozed"], woken["counts"]["tags"]) == (sent["id"], True, {"ops": 1})
    status, page = stack.http("GET", "/me/messages?tag=ops", user)
    assert [m["id"] for m in page["items"]] == [sent["id"]] and page["items"][0]["status"] == "unread"
    # Deleted once it ran, as ActionAfterCompletion says (the session's stack holds other tests' snoozes too).
    assert [s for s in scheduler.list_schedules()["Schedules"] if s["Name"] == listed["Name"]] == []
