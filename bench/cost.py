"""DynamoDB cost per operation: calls (counted) and request units (estimated), beside the floor; then the all-in bill.

Calls are counted, and request units estimated by DynamoDB's on-demand
rules (`bench.meter`), on the app's own clients while real routes run
(Chalice's test client over moto). As deployed, every ``/me`` request also
takes from its user's request limit: one ``UpdateItem`` ("+ 1 limit").
Then `bench.allin` prices every service a delivered message uses, and an
idle socket (``all_in_usd_per_million``, ``idle``).

Usage: python -m bench.cost [--smoke] [--out DIR]
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
from chalice.test import Client
from moto import mock_aws

from bench.allin import Run, measure
from bench.common import SECRET, local_aws_environment, memory_sizes, results_dir, smoke, table, write
from bench.meter import Meter, item_size
from bench.usage import FrameCounter, LambdaMeter, measure_features

# On-demand prices, us-east-1, from AWS's DynamoDB pricing page after the
# 2024-11-01 price cut (not re-checked since: no network here).
PRICE_PER_MILLION_WRU = 0.625
PRICE_PER_MILLION_RRU = 0.125
PRICES_AS_OF = "2024-11-01"
DRAIN_LIMIT = 200_000  # stream records one drain may read: far more than any measure writes
# This bench's figures for the first layout (three ALL GSIs, counters in every transaction), at 9c6a724:
BEFORE = {"send to 1 receivers": 11.0, "send to 25 receivers": 227.0, "send to 1000 receivers": 9002.0,
          "mark all read of 1000": 8033.0, "per delivered message": 9.002}  # fmt: skip


def main(argv: list[str]) -> int:
    quick = smoke(argv)
    big = 50 if quick else 1000
    many_unread = 200 if quick else 10_000
    local_aws_environment()
    frames = FrameCounter()  # the management API: the operations below open no socket; the all-in cases do
    os.environ["INAPP_WS_ENDPOINT"] = frames.endpoint
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    logging.getLogger("chalicelib").setLevel(logging.WARNING)
    from infra.local import moto as emulator

    emulator.apply()  # the patched moto of the tests and the local stack
    rows: list[dict[str, Any]] = []
    with mock_aws():
        from app import app
        from chalicelib.core.auth import issue_token
        from chalicelib.core.config import load_settings
        from chalicelib.storage import dynamo as storage
        from chalicelib.storage.inbox_tables import UNREAD, InboxMessage
        from chalicelib.storage.tables import create_tables
        from infra.local.lambdas.queue_poller import create_queues
        from infra.local.lambdas.streams import ShardReader

        queues = create_queues(boto3.client("sqs", region_name="us-east-1"), "inapp-dev-fanout", visibility_seconds=0)
        os.environ["INAPP_FANOUT_QUEUE_URL"] = queues.url
        settings = load_settings()
        create_tables(settings)
        kinds = {name: kind for kind, name in settings.tables.items()}
        meter = Meter(kinds, {})
        for botocore_client in storage.botocore_clients():
            botocore_client.meta.events.register("provide-client-params.dynamodb", meter.before)
            botocore_client.meta.events.register("after-call.dynamodb", meter.after)
        admin = {
            "Authorization": f"Bearer {issue_token('admin', SECRET, admin=True)}",
            "Content-Type": "application/json",
        }
        arn = InboxMessage.describe_table()["LatestStreamArn"]
        stream = ShardReader(boto3.client("dynamodbstreams", region_name="us-east-1"), arn, "us-east-1")

        with Client(app, stage_name="dev") as client:

            def drain_stream() -> None:
                """What the stream handler then does (the counts; no socket is open, so nothing is posted).

                Bounded: one CI run (2026-12-07) never left this loop after the send to 50 receivers, and it
                did not happen again in 5 runs; a stream that keeps yielding records now stops the bench
                with the sequence numbers it saw, not a hang.
                """
                seen: list[str] = []
                while records := stream.read(1000):
                    seen += [str(r["dynamodb"]["SequenceNumber"]) for r in records]
                    if len(seen) > DRAIN_LIMIT:
                        repeated = len(seen) - len(set(seen))
                        raise RuntimeError(f"the stream kept yielding records: {len(seen)} read, {repeated} repeated")
                    stream.commit()
                    for start in range(0, len(records), 100):
                        client.lambda_.invoke("deliver", {"Records": records[start : start + 100]})

            client.http.post("/channels", headers=admin, body=json.dumps({"name": "news", "title": "News"}))

            def measure(operation: str, floor: str, action: Any, messages: int = 0) -> None:
                drain_stream()
                meter.reset()
                action()
                drain_stream()  # a write's cost includes the counts the stream keeps for it
                rows.append({"operation": operation, "calls": sum(meter.calls.values()), "by_call": dict(meter.calls),
                             "floor": floor, "wru": meter.wru, "rru": meter.rru, "messages": messages,
                             "before": BEFORE.get(operation)})  # fmt: skip

            def send(receivers: int, key: str) -> Any:
                body = {"channel": "news", "receivers": [f"u{i:04d}" for i in range(receivers)], "title": "Your order shipped",
                        "content": "Order 1042 left the warehouse and arrives Thursday.", "url": "/orders/1042"}  # fmt: skip
                response = client.http.post("/messages", headers={**admin, "Idempotency-Key": key}, body=json.dumps(body))
                assert response.status_code == 202, response.body
                return response.json_body

            send(1, "warm")
            meter.sizes = {"inbox": item_size(InboxMessage.query("u0000").next().serialize()), "counters": 150,
                           "idempotency": 250, "connections": 120, "channels": 150}  # fmt: skip
            for receivers in (1, 25, big):
                floor = f"⌈R/25⌉+4 = {math.ceil(receivers / 25) + 4}, + the stream's counts"
                measure(f"send to {receivers} receivers", floor, lambda r=receivers: send(r, f"k{r}"), receivers)

            user = {"Authorization": f"Bearer {issue_token('u0000', SECRET)}", "Content-Type": "application/json"}
            measure("one inbox page (20)", "1 + 1 limit", lambda: client.http.get("/me/messages", headers=user))
            one = send(1, "one")["id"]
            measure("read one", "2 + 1 limit", lambda: client.http.request("PATCH", f"/me/messages/{one}", headers=user,
                                                                 body=json.dumps({"status": "read"}).encode()))  # fmt: skip
            measure("archive one", "2 + 1 limit", lambda: client.http.request("PATCH", f"/me/messages/{one}", headers=user,
                                                                    body=json.dumps({"archived": True}).encode()))  # fmt: skip

            def delete(message_id: str) -> Any:
                return client.http.request("DELETE", f"/me/messages/{message_id}", headers=user)

            measure("delete one archived", "2 + 1 limit", lambda: delete(one))
            live = send(1, "live")["id"]
            measure("delete one unread", "2 + 1 limit", lambda: delete(live))
            measure_features(client, admin, user, measure)

            def bulk_unread(owner: str, count: int) -> None:
                with InboxMessage.batch_write() as batch:
                    for i in range(count):
                        message = InboxMessage(owner, f"01M8{i:022d}", channel="news", channel_title="News", title="t",
                                               created_at="2026-11-24T00:00:00.000Z", user_channel=f"{owner}#news",
                                               expires_at=timedelta(days=1))  # fmt: skip
                        message.set_status(UNREAD, None)
                        batch.save(message)
                drain_stream()

            for count in (10, many_unread):
                owner = f"reader{count}"
                bulk_unread(owner, count)
                headers = {"Authorization": f"Bearer {issue_token(owner, SECRET)}"}
                measure(f"unread count at {count} unread", "≤ 2 + 1 limit",
                        lambda h=headers: client.http.get("/me/unread-count", headers=h))  # fmt: skip
            for route, per_call in (("read", 99), ("seen", 99), ("archive", 49)):  # and the counts update in each
                owner = f"marker-{route}"
                bulk_unread(owner, big)
                headers = {"Authorization": f"Bearer {issue_token(owner, SECRET)}", "Content-Type": "application/json"}
                measure(f"mark all {route} of {big}", f"⌈N/{per_call}⌉ = {math.ceil(big / per_call)} writes + queries + 1 limit",
                        lambda h=headers, r=route: client.http.post(f"/me/messages/{r}", headers=h, body="{}"))  # fmt: skip

            from chalicelib.realtime.connections import ConnectionRegistry

            registry = ConnectionRegistry()
            users = [f"fan{i:04d}" for i in range(big)]
            expected = f"⌈U/100⌉ = {math.ceil(big / 100)}"
            measure(f"fan-out lookup for {big} users", expected, lambda: registry.lookup(users).connections)
            drain_stream()
            all_in = measure_in_process(client, meter, stream, frames, queues, quick)
    frames.stop()

    per_message = next(r for r in rows if r["operation"] == f"send to {big} receivers")
    wru_per_message = per_message["wru"] / big
    usd = wru_per_message * PRICE_PER_MILLION_WRU
    print(table(
        ["operation", "calls", "floor / budget", "est. WRU", "WRU before", "est. RRU"],
        [[r["operation"], r["calls"], r["floor"], f"{r['wru']:.0f}", "" if r["before"] is None else f"{r['before']:.0f}",
          f"{r['rru']:.1f}"] for r in rows],
    ))  # fmt: skip
    prices = f"${PRICE_PER_MILLION_WRU}/M WRU, ${PRICE_PER_MILLION_RRU}/M RRU, on-demand us-east-1 as of {PRICES_AS_OF}"
    before = BEFORE["per delivered message"]
    print(f"≈ {wru_per_message:.2f} WRU per delivered message (before: {before:.2f}) → ${usd:.2f} per million ({prices})")
    print_all_in(all_in)
    write(
        "cost",
        {"parameters": {"big": big, "many_unread": many_unread}, "repeats": 1, "operations": rows, **all_in,
         "per_message": {"wru": wru_per_message, "usd_per_million": usd, "wru_before": before},
         "prices": {"wru_per_million": PRICE_PER_MILLION_WRU, "rru_per_million": PRICE_PER_MILLION_RRU, "as_of": PRICES_AS_OF,
                    "region": "us-east-1"}},
        results_dir(argv),
    )  # fmt: skip
    return 0


def measure_in_process(
    client: Any, dynamodb: Meter, stream: Any, frames: FrameCounter, queues: Any, quick: bool
) -> dict[str, Any]:
    """`bench.allin.measure` with this app: its SQS calls counted, the fan-out queue polled as Lambda's mapping does."""
    import boto3

    from chalicelib.service import get_work_queue
    from chalicelib.storage import dynamo as storage
    from infra.local.lambdas.queue_poller import QueuePoller

    calls: Counter[str] = Counter()
    lambdas = LambdaMeter(lambda: frames.cpu)
    sqs = boto3.client("sqs", region_name="us-east-1")
    for queue_client in (sqs, get_work_queue().client):
        queue_client.meta.events.register("before-call.sqs", lambda model, **_: calls.update([model.name]))
    for watched in (sqs, get_work_queue().client, *storage.botocore_clients()):
        lambdas.watch(watched)

    def fan_out(event: dict[str, Any]) -> Any:
        return lambdas.run("FanOut", lambda: client.lambda_.invoke("fan_out", event).payload)

    memory, source = memory_sizes()
    worker = QueuePoller(sqs, queues, fan_out, "us-east-1")
    result = measure(Run(client, dynamodb, lambdas, frames, calls, stream, worker, memory), quick)
    result["all_in_parameters"]["memory_from"] = source
    return result


def print_all_in(all_in: dict[str, Any]) -> None:
    services = list(next(iter(all_in["all_in_breakdown"].values()))["rest"])
    print(table(
        ["all-in $ per million delivered", "REST + WAF", "HTTP API", *services],
        [[case, f"{all_in['all_in_usd_per_million'][case]:.2f}", f"{all_in['all_in_http_api_usd_per_million'][case]:.2f}",
          *(f"{v:.2f}" for v in b["rest"].values())] for case, b in all_in["all_in_breakdown"].items()],
    ))  # fmt: skip
    idle = all_in["idle"]["usd_per_million_connected_hours"]
    print(f"idle socket, $ per million connected hours: ping by a Lambda function {idle['ping_by_lambda']:.2f}, "
          f"by a MOCK route {idle['ping_by_mock_route']:.2f} (prices as of {all_in['price_table']['as_of']})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
