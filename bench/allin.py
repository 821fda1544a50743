"""The all-in AWS bill per million delivered messages, from what the app does here (`bench.cost` runs it).

Every receiver has one open socket (the broadcast: one in ten), and every
delivered message is priced with all it takes deployed: the API Gateway
request that sent it (REST, as deployed behind the web ACL, beside an HTTP
API), each Lambda invocation and its GB-s (CPU measured around each
handler in this process, `bench.usage.LambdaMeter`, times the template's
MemorySize), DynamoDB's request units (`bench.meter.Meter`), each frame
posted to a socket (one WebSocket message per 32 KB, counted by
`bench.usage.FrameCounter`) and SQS requests (per 64 KB; Lambda's polling of an
idle queue left out). Stream reads by Lambda are free. Deployed, the
stream's batches are as large as what is waiting (up to 3,000): here each
drain hands the delivery function what the stream holds, one invocation
per chunk of an audience send. Also: what an idle socket costs per million
connected hours — connection minutes, the client's pings, a reconnect
every 2 hours — with a ping answered by a Lambda function and by a MOCK route.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench.common import ROOT, SECRET, TEMPLATE_NAMES
from bench.meter import Meter
from bench.usage import FrameCounter, LambdaMeter

# us-east-1, USD per million units, first tier, no free tier: AWS's public pricing pages (not re-checked since).
PRICES = {
    "api_gateway_rest_requests": 3.50,
    "api_gateway_http_api_requests": 1.00,  # per 512 KB
    "waf_requests": 0.60,  # the REST stage's web ACL inspects every request (+ $5 a month, + $1 per rule)
    "websocket_messages": 1.00,  # per 32 KB, in or out
    "websocket_connection_minutes": 0.25,
    "lambda_requests": 0.20,
    "lambda_gb_seconds": 13.3334,  # arm64 ($0.0000133334 per GB-s), as deployed
    "dynamodb_wru": 0.625,  # on-demand, after the 2024-11-01 cut
    "dynamodb_rru": 0.125,
    "sqs_requests": 0.40,  # standard queue, per 64 KB
}
PRICES_AS_OF = "2025-01-01"
STREAM_BATCH = 3000  # the deployed mapping's batch size (chalicelib.realtime.STREAM_BATCH_SIZE)
RECONNECT_HOURS = 2  # API Gateway closes every socket after 2 hours
BEFORE_PING_MINUTES = 5.0  # the client's ping interval before 8 minutes (the idle figure's "before", in the same run)


def ping_interval_minutes() -> float:
    """The browser client's ``pingIntervalMs`` default, read from inbox-client.js."""
    text = (ROOT / "chalicelib" / "api" / "static" / "inbox-client.js").read_text()
    found = re.search(r"pingIntervalMs:\s*([\d\s*]+),", text)
    assert found, "inbox-client.js: no pingIntervalMs default"
    product = 1
    for factor in found.group(1).split("*"):
        product *= int(factor)
    return product / 60_000


@dataclass
class Run:
    """What the cases share: the app in process, its meters, the inbox stream and the fan-out queue's poller."""

    client: Any  # chalice.test.Client
    dynamodb: Meter
    lambdas: LambdaMeter
    frames: FrameCounter
    sqs: Counter[str]
    stream: Any  # infra.local.lambdas.streams.ShardReader
    worker: Any  # infra.local.lambdas.queue_poller.QueuePoller
    memory: dict[str, int]

    def reset(self) -> None:
        self.dynamodb.reset()
        self.lambdas.reset()
        self.frames.reset()
        self.sqs.clear()

    def http(self, method: str, path: str, user: str, body: Any = None, key: str | None = None) -> Any:
        from chalicelib.core.auth import issue_token

        headers = {"Authorization": f"Bearer {issue_token(user, SECRET, admin=user == 'admin')}",
                   "Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}  # fmt: skip
        data = None if body is None else json.dumps(body).encode()
        answer = self.lambdas.run("APIHandler", lambda: self.client.http.request(method, path, headers=headers, body=data))
        assert answer.status_code < 300, answer.body
        return answer.json_body

    def ws(self, route: str, connection_id: str, **extra: Any) -> None:
        from infra.local.apigateway.events import route_event

        function = {"$connect": "connect", "$disconnect": "disconnect"}.get(route, "message")
        event = route_event("api", 443, route, connection_id, time.time() - 60, **extra)
        name = f"websocket_{function}"
        answer = self.lambdas.run(TEMPLATE_NAMES[name], lambda: self.client.lambda_.invoke(f"ws_{function}", event).payload)
        assert answer == {"statusCode": 200}, answer

    def connect(self, users: list[str]) -> None:
        from chalicelib.core.auth import issue_token

        for user in users:
            self.ws("$connect", f"{user}=", queryStringParameters={"token": issue_token(user, SECRET)})

    def drain(self) -> int:
        """Hand the delivery function what the stream holds, in batches as large as the deployed mapping's."""
        records: list[dict[str, Any]] = []
        while batch := self.stream.read(1000):
            records += batch
            self.stream.commit()
        for start in range(0, len(records), STREAM_BATCH):
            event = {"Records": records[start : start + STREAM_BATCH]}
            self.lambdas.run("Deliver", partial(self.client.lambda_.invoke, "deliver", event))
        return len(records)

    def usage(self, delivered: int, requests: int) -> dict[str, Any]:
        lambdas = self.lambdas.read()
        for name, measured in lambdas.items():
            measured["memory_mb"] = self.memory[name]
            measured["gb_seconds"] = measured["billed"] * self.memory[name] / 1024
            measured["gb_seconds_own_cpu"] = measured["billed_own_cpu"] * self.memory[name] / 1024
        return {"delivered": delivered, "api_requests": requests, "lambda": lambdas,
                "websocket_messages": self.frames.messages, "frames": dict(self.frames.types),
                "dynamodb_calls": sum(self.dynamodb.calls.values()), "wru": self.dynamodb.wru, "rru": self.dynamodb.rru,
                "sqs_requests": sum(self.sqs.values())}  # fmt: skip


def bill(usage: dict[str, Any], api: str = "rest", duration: str = "gb_seconds") -> dict[str, float]:
    """USD per million delivered messages, per service; ``api`` "rest" (with its web ACL) or "http_api"."""

    def usd(units: float, price: str) -> float:
        return units * PRICES[price] / int(usage["delivered"])

    lambdas = usage["lambda"].values()
    requests = usage["api_requests"]
    return {
        "api_gateway": usd(requests, f"api_gateway_{api}_requests") + (usd(requests, "waf_requests") if api == "rest" else 0),
        "lambda_requests": usd(sum(f["invocations"] for f in lambdas), "lambda_requests"),
        "lambda_duration": usd(sum(f[duration] for f in lambdas), "lambda_gb_seconds"),
        "dynamodb": usd(usage["wru"], "dynamodb_wru") + usd(usage["rru"], "dynamodb_rru"),
        "websocket_messages": usd(usage["websocket_messages"], "websocket_messages"),
        "sqs": usd(usage["sqs_requests"], "sqs_requests"),
    }


def send(run: Run, receivers: int, sends: int = 1) -> dict[str, Any]:
    """``sends`` sends with an Idempotency-Key to the same ``receivers`` users, each with one open socket."""
    users = [f"r{receivers}-{i:05d}" for i in range(receivers)]
    run.connect(users)
    run.drain()
    run.reset()
    for n in range(sends):
        body = {"channel": "costs", "receivers": users, "title": "Your order shipped",
                "content": "Order 1042 left the warehouse and arrives Thursday.", "url": "/orders/1042"}  # fmt: skip
        run.http("POST", "/messages", "admin", body, key=f"all-in-{receivers}-{n}")
        run.drain()
    return run.usage(receivers * sends, sends)


def broadcast(run: Run, subscribers: int, online: int) -> dict[str, Any]:
    """An audience send to a channel's subscribers, one in ``subscribers // online`` with an open socket."""
    users = [f"s{i:05d}" for i in range(subscribers)]
    run.http("POST", "/channels", "admin", {"name": "crowd", "title": "Crowd"})
    for start in range(0, subscribers, 1000):
        run.http("POST", "/channels/crowd/subscribers", "admin", {"add": users[start : start + 1000]})
    run.connect(users[:: subscribers // online][:online])
    run.drain()
    run.reset()
    body = {"channel": "crowd", "audience": "subscribers", "title": "Maintenance tonight", "content": "22:00–23:00 UTC"}
    run.http("POST", "/messages", "admin", body, key="all-in-broadcast")
    while run.worker.poll_once() + run.drain():  # a chunk of the audience, then the stream's records of it
        pass
    return run.usage(subscribers, 1)


def idle(run: Run, times: int) -> dict[str, Any]:
    """Per million connected hours: connection minutes, pings (a Lambda function or a MOCK route), reconnects."""
    run.connect(["idler"])
    run.reset()
    for _ in range(times):
        run.ws("$default", "idler=", body=json.dumps({"action": "ping"}))
    ping = run.usage(times, 0)
    ping["websocket_messages"] += times  # the pings themselves, billed in
    run.reset()
    for _ in range(times):  # the client's new socket before the 2-hour limit, overlapping the old: no catch-up
        run.ws("$disconnect", "idler=")
        run.connect(["idler"])
    rotation = run.usage(times, 0)
    run.reset()
    for _ in range(times):
        run.http("GET", f"/me/messages?after={'0' * 26}", "idler")  # what a reconnect after a gap adds: the catch-up
        run.http("GET", "/me/unread-count", "idler")  # and its counts
    catch_up = run.usage(times, 2 * times)
    hours = 1_000_000

    def mock_pings(minutes: float) -> dict[str, float]:
        return {"websocket_messages": hours * 60 / minutes * 2 * PRICES["websocket_messages"] / 1e6}

    per_hour = 60 / ping_interval_minutes()
    lambda_ping = {k: v * hours * per_hour / 1e6 for k, v in bill(ping).items() if v}
    mock_ping = mock_pings(ping_interval_minutes())
    rotations = {k: v * hours / RECONNECT_HOURS / 1e6 for k, v in bill(rotation).items() if v}
    catch_ups = {k: v * hours / RECONNECT_HOURS / 1e6 for k, v in bill(catch_up).items() if v}
    reconnects = {k: rotations.get(k, 0.0) + catch_ups.get(k, 0.0) for k in {*rotations, *catch_ups}}
    minutes = hours * 60 * PRICES["websocket_connection_minutes"] / 1e6
    before = minutes + sum(mock_pings(BEFORE_PING_MINUTES).values()) + sum(reconnects.values())
    return {
        "ping_interval_minutes": ping_interval_minutes(),
        "connection_minutes": minutes,
        "pings_by_lambda": lambda_ping,
        "pings_by_mock_route": mock_ping,
        "reconnects_every_2_hours": reconnects,
        "rotations_every_2_hours": rotations,
        "usd_per_million_connected_hours": {
            "ping_by_lambda": minutes + sum(lambda_ping.values()) + sum(reconnects.values()),
            "ping_by_mock_route": minutes + sum(mock_ping.values()) + sum(reconnects.values()),
            "ping_by_mock_route_rotating": minutes + sum(mock_ping.values()) + sum(rotations.values()),
            f"before: ping every {BEFORE_PING_MINUTES:g} min, reconnect with catch-up": before,
        },
        "pings": ping,
        "rotations": rotation,
        "catch_ups": catch_up,
    }


def measure(run: Run, quick: bool) -> dict[str, Any]:
    """The idle socket and the three cases, priced (the idle one first: moto's GSI queries slow as the table grows)."""
    run.http("POST", "/channels", "admin", {"name": "costs", "title": "Costs"})
    idle_socket = idle(run, 3 if quick else 10)
    subscribers, online = (500, 50) if quick else (10_000, 1_000)
    cases = {"one_receiver": send(run, 1, 3 if quick else 10), "thousand_receivers": send(run, 50 if quick else 1000),
             "broadcast": broadcast(run, subscribers, online)}  # fmt: skip
    breakdown = {name: {"rest": bill(usage), "http_api": bill(usage, "http_api")} for name, usage in cases.items()}
    floor = {name: bill(usage, duration="gb_seconds_own_cpu")["lambda_duration"] for name, usage in cases.items()}
    return {
        "all_in_usd_per_million": {name: sum(b["rest"].values()) for name, b in breakdown.items()},
        "all_in_http_api_usd_per_million": {name: sum(b["http_api"].values()) for name, b in breakdown.items()},
        "all_in_breakdown": breakdown,
        "all_in_lambda_duration_own_cpu": floor,  # the floor of "lambda_duration": the functions' own CPU only
        "all_in_usage": cases,
        "all_in_parameters": {
            "one_receiver_sends": cases["one_receiver"]["api_requests"],
            "thousand_receivers": cases["thousand_receivers"]["delivered"],
            "broadcast_subscribers": subscribers,
            "broadcast_online": online,
            "lambda_time": "CPU measured in process around each handler (moto answering its calls included)",
        },
        "idle": idle_socket,
        "price_table": {"usd_per_million": PRICES, "as_of": PRICES_AS_OF, "region": "us-east-1"},
    }
