"""The fan-out queue (SQS): work that outlives a request, one JSON message per step.

Three kinds of step travel on it: ``chunk`` (store one chunk of an audience
send, then queue the next), ``unsubscribe`` (remove one page of a deleted
channel's subscriptions, then queue the next) and ``frames`` (post a
broadcast's frame to one page of the online users who hold it, then queue
the next: `chalicelib.broadcast.frames`) and ``count`` (count a channel's
subscriptions once, those written before broadcasts existed included:
`chalicelib.broadcast.sequence`). Every step is safe to run
twice: SQS delivers at least once, and Lambda runs a message again after a
crash or a timeout. ``MAX_RECEIVES`` matches the queue's redrive policy
(infra/deploy/template.yaml): after that many failed receives SQS moves the
message to the dead-letter queue.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

MAX_RECEIVES = 5
CHUNK, UNSUBSCRIBE, FRAMES, COUNT = "chunk", "unsubscribe", "frames", "count"


@dataclass(frozen=True)
class Step:
    """One message: ``kind``, the send or channel it works on, where to continue, and its number."""

    kind: str
    target: str  # a send id (chunk, frames) or a channel name (unsubscribe, count)
    cursor: str | None = None  # the last user id handled before this step (frames: the last connections key)
    number: int = 0  # the chunk's index within its send
    before: str | None = None  # unsubscribe: only subscriptions older than this id

    def body(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> Step:
        fields: dict[str, Any] = json.loads(body)
        return cls(**fields)


class WorkQueue:
    """Sends steps to the queue at ``url`` through ``client`` (a boto3 SQS client)."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def put(self, step: Step) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=step.body())
