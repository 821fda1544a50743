"""Posting frames: the project's stream handler vs the obvious baseline (`bench.baselines`), same batch, same stand-in.

500 users × 2 connections = 1,000 posts to a management-API stand-in on
loopback that answers each post after a delay (default 20 ms, roughly API
Gateway's). Ours: ``Delivery.handle`` on the real stream records moto
produced for one send, in batches of the deployed batch size. Baseline (the
aws-samples pattern done the obvious way): per record, one Query for that
user's connections, then one ``post_to_connection`` at a time.

Usage: python -m bench.posts [--smoke] [--out DIR]
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import boto3

from bench.baselines import BASELINE_TABLE, http_client_post, sigv4auth_post, time_baseline
from bench.common import local_aws_environment, log, results_dir, smoke, summary, table, write
from chalicelib.channels.registry import NewChannel
from chalicelib.realtime import STREAM_BATCH_SIZE
from chalicelib.realtime.connections import ConnectionRegistry, LiveConnection
from chalicelib.realtime.delivery import POST_WORKERS, Delivery
from chalicelib.realtime.poster import SocketPoster
from chalicelib.sending.commands import SendCommand, SendRequest
from chalicelib.sending.sender import Sender
from chalicelib.storage.inbox_tables import InboxMessage
from infra.local.lambdas.streams import ShardReader
from infra.local.moto.server import EmbeddedDynamoDB


@contextmanager
def world(users: int, per_user: int) -> Iterator[list[dict[str, Any]]]:
    """Tables, registered connections (ours and the baseline's), and one send's stream records.

    DynamoDB is moto's server on loopback (not ``mock_aws``, whose request
    hook would also intercept, and slow down, every management-API post).
    """
    local_aws_environment()
    dynamodb_server = EmbeddedDynamoDB()
    dynamodb_server.start()
    os.environ["INAPP_DYNAMODB_ENDPOINT"] = dynamodb_server.endpoint
    try:
        from chalicelib.channels.registry import create_channel
        from chalicelib.core.config import load_settings
        from chalicelib.storage.tables import create_tables

        create_tables(load_settings())
        dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_server.endpoint)
        dynamodb.create_table(
            TableName=BASELINE_TABLE,
            KeySchema=[
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "connectionId", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "userId", "AttributeType": "S"},
                {"AttributeName": "connectionId", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        registry = ConnectionRegistry()
        names = [f"user{i:04d}" for i in range(users)]
        connected = int((time.time() - 60) * 1000)
        for name in names:
            for n in range(per_user):
                registry.connect(LiveConnection(f"{name}-{n}=", name, connected))
                dynamodb.put_item(TableName=BASELINE_TABLE, Item={"userId": {"S": name}, "connectionId": {"S": f"{name}-{n}="}})
        streams = boto3.client("dynamodbstreams", endpoint_url=dynamodb_server.endpoint)
        reader = ShardReader(streams, InboxMessage.describe_table()["LatestStreamArn"], "us-east-1", start="LATEST")
        create_channel(NewChannel("bench", "Bench", ""))
        Sender(timedelta(days=1)).send(
            SendCommand(SendRequest("bench", names, "Benchmark", "fan-out", None, 0), None, ""), scope="bench"
        )
        records: list[dict[str, Any]] = []
        while batch := reader.read(1000):
            records += batch
            reader.commit()
        yield records
    finally:
        dynamodb_server.stop()


class RemoteStandIn:
    """The management-API stand-in in its own process, as API Gateway would be."""

    def __init__(self, delay: float) -> None:
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.standin", "--delay", str(delay)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.endpoint = self.process.stdout.readline().strip()

    def received(self) -> int:
        import urllib.request

        with urllib.request.urlopen(self.endpoint.rsplit("/", 1)[0] + "/stats", timeout=10) as response:
            return int(json.load(response)["received"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def time_ours(records: list[dict[str, Any]], endpoint: str, workers: int, batch_size: int) -> float:
    import botocore.session

    api = SocketPoster(endpoint, "us-east-1", botocore.session.get_session().get_credentials(), pool_size=workers + 4)
    with ThreadPoolExecutor(max_workers=workers) as executor:
        delivery = Delivery(ConnectionRegistry(), api.post, executor)
        started = time.perf_counter()
        for start in range(0, len(records), batch_size):
            report = delivery.handle(records[start : start + batch_size])
            assert not report.failures
        return time.perf_counter() - started


def cpu_per_post(posts: int, repeats: int) -> dict[str, Any]:
    """CPU ms per post on one thread (this process only: the stand-in answers at once, in its own process)."""
    import botocore.session

    local_aws_environment()
    credentials = botocore.session.get_session().get_credentials()
    standin = RemoteStandIn(delay=0)
    payload = json.dumps({"type": "message.created", "message": {"id": "x" * 26, "title": "t" * 60}}).encode()
    try:
        before = sigv4auth_post(standin.endpoint, credentials)
        two_writes = http_client_post(standin.endpoint, credentials)
        ours = SocketPoster(standin.endpoint, "us-east-1", credentials, pool_size=4)
        client = boto3.client("apigatewaymanagementapi", endpoint_url=standin.endpoint)
        ways: dict[str, Callable[[int], Any]] = {
            "ours": lambda i: ours.post(f"c{i}=", payload),
            "botocore client": lambda i: client.post_to_connection(ConnectionId=f"c{i}=", Data=payload),
            "SigV4Auth + PoolManager (before)": lambda i: before(f"c{i}=", payload),
            "ours on HTTPConnection.request (before)": lambda i: two_writes(f"c{i}=", payload),
        }
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for way in ways.values():
            way(0)  # warm: models, pools
        for _ in range(repeats):
            for name, way in ways.items():  # interleaved, so a noisy neighbour hits all alike
                started = time.process_time()
                for i in range(posts):
                    way(i)
                samples[name].append((time.process_time() - started) * 1000 / posts)
    finally:
        standin.stop()
    result = {name: summary(values) for name, values in samples.items()}
    return {
        "posts": posts,
        "repeats": repeats,
        "cpu_ms_per_post": result,
        "ratio": result["botocore client"]["median"] / result["ours"]["median"],
    }


def main(argv: list[str]) -> int:
    quick = smoke(argv)
    users, per_user, repeats = (25, 2, 1) if quick else (500, 2, 3)
    delays = [0.02] if quick else [0.005, 0.02, 0.05]
    worker_sweep = [8] if quick else [4, 8, 16, 32, 64]
    rows: list[list[Any]] = []
    sweep: list[dict[str, Any]] = []
    cpu = cpu_per_post(200 if quick else 2000, 1 if quick else 5)
    print(table(
        ["CPU per post, one thread", "median ms", "min", "max"],
        [[name, f"{s['median']:.3f}", f"{s['min']:.3f}", f"{s['max']:.3f}"] for name, s in cpu["cpu_ms_per_post"].items()],
    ))  # fmt: skip
    print(f"botocore client / ours: {cpu['ratio']:.1f}x")
    with world(users, per_user) as records:
        log(f"{len(records)} stream records, {users * per_user} connections")
        warm = RemoteStandIn(delay=0)
        time_ours(records[:10], warm.endpoint, 4, STREAM_BATCH_SIZE)  # load botocore models once
        warm.stop()
        main_result: dict[str, Any] = {}
        for delay in delays:
            standin = RemoteStandIn(delay=delay)
            try:
                ours = [time_ours(records, standin.endpoint, POST_WORKERS, STREAM_BATCH_SIZE) for _ in range(repeats)]
                runs = [time_baseline(records, standin.endpoint)] if abs(delay - 0.02) < 1e-9 else []
                baseline = [seconds for seconds, _ in runs]
                # Ours: one frame per message, its counts riding on it; the baseline posts the counts apart.
                expected = repeats * users * per_user + sum(posts for _, posts in runs)
                assert standin.received() == expected, (standin.received(), expected)
                for workers in worker_sweep:
                    sample = [time_ours(records, standin.endpoint, workers, STREAM_BATCH_SIZE)]
                    sweep.append({"delay_ms": delay * 1000, "workers": workers, "seconds": summary(sample)["median"]})
            finally:
                standin.stop()
            if not baseline:
                rows.append([f"{delay * 1000:.0f} ms", f"{summary(ours)['median']:.3f} s", "(not run)", "—"])
                continue
            ratio = summary(baseline)["median"] / summary(ours)["median"]
            row = {
                "delay_ms": delay * 1000,
                "ours_seconds": summary(ours),
                "baseline_seconds": summary(baseline),
                "ratio": ratio,
                "posts": users * per_user,
            }
            if abs(delay - 0.02) < 1e-9:
                main_result = row
            rows.append(
                [
                    f"{delay * 1000:.0f} ms",
                    f"{summary(ours)['median']:.3f} s",
                    f"{summary(baseline)['median']:.2f} s",
                    f"{ratio:.1f}x",
                ]
            )
    print(table(["post delay", "ours (median)", "baseline", "speed-up"], rows))
    print(
        table(
            ["delay", "workers", "seconds"],
            [[f"{s['delay_ms']:.0f} ms", s["workers"], f"{s['seconds']:.3f}"] for s in sweep],
        )
    )
    write(
        "posts",
        {
            "parameters": {
                "users": users,
                "connections_per_user": per_user,
                "batch_size": STREAM_BATCH_SIZE,
                "workers": POST_WORKERS,
            },
            "repeats": repeats,
            "target_ratio": 25,
            "result": main_result,
            "delays": [dict(zip(["delay", "ours", "baseline", "ratio"], r, strict=True)) for r in rows],
            "sweep": sweep,
            "cpu": cpu,
        },
        results_dir(argv),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
