"""The chaos run's sends through the ``send`` Lambda, invoked asynchronously as EventBridge invokes it.

An EventBridge rule invokes its target with ``InvocationType=Event``: Lambda
queues the event, answers 202 and runs the function later, runs a failed one
twice more with the same request id, and may run one twice (the stack's
``duplicate=`` share). The event's ``id`` is the send's default
Idempotency-Key, so each event must store one message per receiver however
often it runs. Nothing answers with the message's id: the channel's send log
(``GET /messages?channel=…``) is read by title once the events have run, and
each event send must show there exactly once, ``done``, stored for every
receiver.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.core.auth import issue_token
from infra.checks.chaos_traffic import CHANNEL, SECRET, Sent, Tally, call
from infra.checks.target import Target

SOURCE = "chaos.events"
SENDER = f"events:{SOURCE}"


def lambda_client(target: Target) -> Any:
    """boto3's Lambda client on the local stack's Invoke endpoint (its keys sign nothing anyone checks)."""
    if target.lambda_url is None:
        raise ValueError("the event sends need the stack's Lambda Invoke endpoint")
    return boto3.client(
        "lambda",
        endpoint_url=target.lambda_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard"}),
    )


def eventbridge_event(detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as a rule hands it to its Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Chaos send",
        "source": SOURCE,
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def invoke(client: Any, tally: Tally, detail: dict[str, Any]) -> bool:
    """Invoke ``send`` asynchronously with ``detail`` in an EventBridge envelope; whether Lambda took it (202)."""
    response = client.invoke(FunctionName="send", InvocationType="Event", Payload=json.dumps(eventbridge_event(detail)))
    status = int(response["StatusCode"])
    tally.count("http", status)
    return status == 202


@dataclass(frozen=True)
class Logged:
    """An event send as the send log shows it."""

    id: str
    status: str
    sender: str
    recipients: int
    stored: int

    def complete(self, receivers: int) -> bool:
        """``done``, by this run's EventBridge source, stored once for each of its receivers."""
        return self.status == "done" and self.sender == SENDER and self.stored == self.recipients == receivers


def read_log(target: Target, tally: Tally, titles: set[str]) -> dict[str, list[Logged]]:
    """The channel's send log entries of these titles (all of them, newest first), by title."""
    admin = issue_token("admin", SECRET, admin=True)
    found: dict[str, list[Logged]] = {title: [] for title in titles}
    cursor = None
    while True:
        query = f"channel={CHANNEL}&limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(target, tally, "GET", f"/messages?{query}", admin)
        if status != 200:
            return found
        for entry in page["items"]:
            if entry["title"] in found:
                logged = Logged(entry["id"], entry["status"], entry["sender"], entry["recipients"], entry["stored"])
                found[entry["title"]].append(logged)
        cursor = page["nextCursor"]
        if not cursor:
            return found


def await_events(target: Target, tally: Tally, events: dict[str, list[str]], settle: float) -> dict[str, list[Logged]]:
    """The log entries of the event sends (title → receivers), once each is logged ``done`` or after ``settle`` s."""
    deadline = time.monotonic() + settle
    while True:
        found = read_log(target, tally, set(events))
        if time.monotonic() >= deadline or all(any(e.status == "done" for e in found[t]) for t in events):
            return found
        time.sleep(0.5)


@dataclass(frozen=True)
class Events:
    """The sends made as asynchronous EventBridge invocations, by title: their receivers, and their send log entries."""

    receivers: dict[str, list[str]]
    logged: dict[str, list[Logged]]

    def not_stored(self) -> list[str]:
        return sorted(title for title in self.receivers if not self.logged.get(title))

    def stored_twice(self) -> list[str]:
        return sorted(title for title in self.receivers if len(self.logged.get(title, [])) > 1)

    def incomplete(self) -> list[str]:
        return sorted(t for t, r in self.receivers.items() if [e for e in self.logged.get(t, []) if not e.complete(len(r))])

    def lost(self) -> int:
        """Deliveries of the event sends never stored: no client can hold them."""
        return sum(len(self.receivers[title]) for title in self.not_stored())


def expect_events(sent: Sent, logged: dict[str, list[Logged]]) -> None:
    """Each event send's receivers must hold its first logged id (a second one would be a duplicate)."""
    for title, entries in logged.items():
        if entries:
            sent.add(min(entry.id for entry in entries), sent.events[title])
