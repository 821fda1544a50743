"""The fan-out queue locally: moto's SQS, and Lambda's SQS event source mapping as a poller.

`create_queues` makes the queue and its dead-letter queue as the template
declares them (redrive after ``MAX_RECEIVES`` receives). `QueuePoller`
does what the deployed mapping does: receive up to ``batch_size`` messages
(the message becomes invisible for the queue's visibility timeout), invoke
the app's SQS handler with a Lambda-shaped event, delete the messages that
succeeded, and leave the others (a raised error: all of them; a
``batchItemFailures`` answer: those named) to come back when their
visibility timeout ends. SQS itself moves a message to the dead-letter
queue on the receive after its ``MAX_RECEIVES``-th.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.storage.queue import MAX_RECEIVES
from infra.local.lambdas.loops import WakeableLoop

logger = logging.getLogger("inapp.local.queues")

Handler = Callable[[dict[str, Any]], Any]
LOCAL_VISIBILITY_SECONDS = 10  # deployed: 6 × the worker's timeout; short here, so a failed step retries soon


@dataclass(frozen=True)
class Queues:
    url: str
    arn: str
    dead_letter_url: str


def create_queues(client: Any, name: str, visibility_seconds: int = LOCAL_VISIBILITY_SECONDS) -> Queues:
    """The fan-out queue and its dead-letter queue (idempotent: CreateQueue returns an existing queue)."""
    dead = client.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVES})
    attributes = {"VisibilityTimeout": str(visibility_seconds), "RedrivePolicy": redrive}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queues(url, arn, dead)


def to_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ReceiveMessage message in the shape Lambda's SQS event carries it."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller(WakeableLoop):
    """Receives, invokes, deletes on success; ``poll_once`` for tests, ``start`` for the stack's thread."""

    def __init__(
        self, client: Any, queues: Queues, handler: Handler, region: str, *, batch_size: int = 1, max_idle: float = 0.5
    ) -> None:
        self._client = client
        self._queues = queues
        self._handler = handler
        self._region = region
        self._batch_size = batch_size
        self._max_idle = max_idle
        super().__init__("queue-poller")
        self.invocations = 0

    def poll_once(self) -> int:
        """One ReceiveMessage and, if it got any, one invocation; how many messages it received."""
        received = self._client.receive_message(
            QueueUrl=self._queues.url, MaxNumberOfMessages=self._batch_size, AttributeNames=["All"]
        ).get("Messages", [])
        if received:
            self._invoke(received)
        return len(received)

    def _invoke(self, received: list[dict[str, Any]]) -> None:
        records = [to_lambda_record(m, self._queues.arn, self._region) for m in received]
        self.invocations += 1
        try:
            response = self._handler({"Records": records})
        except Exception:
            logger.exception("queue handler failed; its messages come back after the visibility timeout")
            return
        failed = {str(f.get("itemIdentifier")) for f in (response or {}).get("batchItemFailures") or []}
        done = [
            {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records) if r["messageId"] not in failed
        ]
        if done:
            self._client.delete_message_batch(QueueUrl=self._queues.url, Entries=done)

    def _run(self) -> None:
        idle = 0.01
        while not self._stop.is_set():
            try:
                got = self.poll_once()
            except Exception:  # the emulator stopping, a connection reset: try again shortly
                logger.exception("queue poll failed")
                got = 0
            if got:
                idle = 0.01
                continue
            self._sleep(idle)
            idle = min(self._max_idle, idle * 2)


def wake_on_sends(client: Any, poller: QueuePoller) -> None:
    """Wake the poller right after the app queues a step."""

    def after_call(**_: Any) -> None:
        poller.wake()

    client.meta.events.register("after-call.sqs.SendMessage", after_call)
