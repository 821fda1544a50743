"""chalicelib.storage.queue: a work step survives the queue's round trip as it was."""

from __future__ import annotations

from typing import Any

from chalicelib.storage.queue import CHUNK, UNSUBSCRIBE, Step, WorkQueue


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **call: Any) -> None:
        self.sent.append(call)


def test_a_step_goes_to_its_queue_and_parses_back_the_same() -> None:
    client = Recorder()
    steps = [Step(CHUNK, "01SEND", cursor="bob", number=3), Step(UNSUBSCRIBE, "deploys", before="01X")]
    queue = WorkQueue(client, "https://queue.example/fanout")
    for step in steps:
        queue.put(step)
    assert [call["QueueUrl"] for call in client.sent] == ["https://queue.example/fanout"] * 2
    assert [Step.parse(call["MessageBody"]) for call in client.sent] == steps
