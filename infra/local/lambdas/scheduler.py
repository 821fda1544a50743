"""EventBridge Scheduler's one-time schedules, run locally: moto keeps them, this invokes them when due.

Deployed, a snooze's wake-up is a one-time schedule (``at(…)``) that
EventBridge Scheduler invokes once at its time and then deletes
(``ActionAfterCompletion: DELETE``); moto stores schedules but never runs
them. `fire_due` does what the service does for every due schedule: invoke
its target with its ``Input``, then delete it; a target that fails is tried
again on the next round (the service retries too, and the wake-up is safe
to run twice). A schedule the app deletes meanwhile (a snooze moved or
ended: `chalicelib.inbox.snooze`) is passed over. `SchedulerStandIn` runs
it every second in the local stack: the polling loop is the stand-in's,
never the app's.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.local.lambdas.loops import WakeableLoop

logger = logging.getLogger("inapp.local")

ROUND_SECONDS = 1.0
Invoke = Callable[[str, dict[str, Any]], Any]  # (function name, event)


def due_at(expression: str) -> datetime | None:
    """The moment of a one-time ``at(yyyy-mm-ddThh:mm:ss)`` expression (UTC), None for any other."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    return datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)


def fire_due(client: Any, invoke: Invoke, now: datetime | None = None, group: str = "default") -> int:
    """Invoke every schedule of ``group`` due by ``now`` and delete those that ran; how many ran."""
    now = now or datetime.now(UTC)
    ran = 0
    for page in client.get_paginator("list_schedules").paginate(GroupName=group):
        for summary in page["Schedules"]:
            try:
                schedule = client.get_schedule(GroupName=group, Name=summary["Name"])
            except client.exceptions.ResourceNotFoundException:
                continue  # cancelled since it was listed
            moment = due_at(schedule["ScheduleExpression"])
            if moment is None or moment > now:
                continue
            target = schedule["Target"]
            function = target["Arn"].rsplit(":", 1)[-1]
            try:
                invoke(function, json.loads(target.get("Input") or "{}"))
            except Exception:  # the target failed: EventBridge Scheduler retries it, and so does this
                logger.exception("schedule %s: its target failed; tried again next round", summary["Name"])
                continue
            if schedule.get("ActionAfterCompletion") == "DELETE":
                with contextlib.suppress(client.exceptions.ResourceNotFoundException):  # cancelled while it ran
                    client.delete_schedule(GroupName=group, Name=summary["Name"])
            ran += 1
    return ran


class SchedulerStandIn(WakeableLoop):
    """`fire_due` every second, in a thread of the local stack."""

    def __init__(self, client: Any, invoke: Invoke, group: str = "default") -> None:
        super().__init__("scheduler")
        self._client, self._invoke, self._group = client, invoke, group

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fire_due(self._client, self._invoke, group=self._group)
            except Exception:  # moto's server going away at stop, or a hiccup: the next round tries again
                logger.debug("scheduler round failed", exc_info=True)
            self._sleep(ROUND_SECONDS)
