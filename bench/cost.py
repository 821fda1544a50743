"""DynamoDB cost per operation: calls (counted) and request units (estimated), beside the floor.

Calls are counted with a botocore ``before-call`` hook on the app's own
clients while real routes run (Chalice's test client over moto). moto
reports a fixed ConsumedCapacity, so request units are estimated from the
items each call writes or reads, with DynamoDB's on-demand rules: a write
costs 1 WRU per KB of item (2 in a transaction) plus 1 WRU per KB in every
GSI the item is projected into (2 when an index key changes: delete + put);
a read costs 1 RRU per 4 KB (0.5 eventually consistent, 2 transactional).

Usage: python -m bench.cost [--smoke] [--out DIR]
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

from chalice.test import Client
from moto import mock_aws

from bench.common import SECRET, local_aws_environment, results_dir, smoke, table, write

# On-demand prices, us-east-1, from AWS's DynamoDB pricing page after the
# 2024-11-01 price cut (not re-checked since: no network here).
PRICE_PER_MILLION_WRU = 0.625
PRICE_PER_MILLION_RRU = 0.125
PRICES_AS_OF = "2024-11-01"
INDEXES = {"inbox": 3, "counters": 1, "channels": 0, "idempotency": 0, "connections": 0, "subscribers": 0, "sends": 2}


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers ~ digits/2 + 1)."""

    def value_size(value: dict[str, Any]) -> int:
        ((kind, raw),) = value.items()
        if kind == "S":
            return len(raw.encode())
        if kind == "N":
            return len(raw) // 2 + 1
        if kind in ("SS", "NS"):
            return sum(len(v.encode()) for v in raw)
        if kind == "M":
            return 3 + sum(len(k) + value_size(v) for k, v in raw.items())
        if kind == "L":
            return 3 + sum(value_size(v) for v in raw)
        return 1

    return sum(len(name) + value_size(value) for name, value in item.items())


class Meter:
    """Counts calls and estimates request units for the app's DynamoDB traffic."""

    def __init__(self, table_kinds: dict[str, str], sizes: dict[str, int]) -> None:
        self.kinds = table_kinds
        self.sizes = sizes
        self.calls: Counter[str] = Counter()
        self.wru = 0.0
        self.rru = 0.0

    def reset(self) -> None:
        self.calls.clear()
        self.wru = self.rru = 0.0

    def _kb(self, kind: str, size: int | None = None) -> int:
        return max(1, math.ceil((size or self.sizes.get(kind, 200)) / 1024))

    def _write(self, table: str, transactional: bool, size: int | None, index_key_change: bool) -> None:
        kind = self.kinds.get(table, "")
        kb = self._kb(kind, size)
        self.wru += kb * (2 if transactional else 1)
        self.wru += INDEXES.get(kind, 0) * kb * (2 if index_key_change else 1)

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        self.calls[name] += 1
        if name == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((op, body),) = action.items()
                if op == "Put":
                    self._write(body["TableName"], True, item_size(body["Item"]), False)
                elif op in ("Update", "Delete"):
                    changes_key = "userStatus" in json.dumps(
                        body.get("ExpressionAttributeNames", {})
                    ) or "latestId" in json.dumps(body.get("ExpressionAttributeNames", {}))
                    self._write(body["TableName"], True, None, changes_key)
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    item = request.get("PutRequest", {}).get("Item")
                    self._write(table, False, item_size(item) if item else None, False)
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            item = params.get("Item")
            self._write(params["TableName"], False, item_size(item) if item else None, False)

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name in ("Query", "Scan"):
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.rru += max(1, math.ceil(size / 4096)) * 0.5
        elif name == "GetItem":
            self.rru += (
                max(1, math.ceil(item_size(parsed.get("Item") or {}) / 4096)) * 1.0
            )  # consistent reads are rare; worst case
        elif name == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.rru += sum(max(1, math.ceil(item_size(i) / 4096)) * 0.5 for i in items)


def main(argv: list[str]) -> int:
    quick = smoke(argv)
    big = 50 if quick else 1000
    many_unread = 200 if quick else 10_000
    local_aws_environment()
    from infra.local import moto_patches

    moto_patches.apply()
    rows: list[dict[str, Any]] = []
    with mock_aws():
        from app import app
        from chalicelib.auth import issue_token
        from chalicelib.config import load_settings
        from chalicelib.models import MODELS, UNREAD, ChannelCounter, InboxMessage, create_tables

        settings = load_settings()
        create_tables(settings)
        kinds = {name: kind for kind, name in settings.tables.items()}
        meter = Meter(kinds, {})
        for model in MODELS.values():
            botocore_client = model._get_connection().connection.client
            botocore_client.meta.events.register("provide-client-params.dynamodb", meter.before)
            botocore_client.meta.events.register("after-call.dynamodb", meter.after)
        admin = {
            "Authorization": f"Bearer {issue_token('admin', SECRET, admin=True)}",
            "Content-Type": "application/json",
        }

        with Client(app, stage_name="dev") as client:
            client.http.post("/channels", headers=admin, body=json.dumps({"name": "news", "title": "News"}))

            def measure(operation: str, floor: str, action: Any, messages: int = 0) -> None:
                meter.reset()
                action()
                rows.append({"operation": operation, "calls": sum(meter.calls.values()), "by_call": dict(meter.calls),
                             "floor": floor, "wru": meter.wru, "rru": meter.rru, "messages": messages})  # fmt: skip

            def send(receivers: int, key: str) -> Any:
                body = {"channel": "news", "receivers": [f"u{i:04d}" for i in range(receivers)], "title": "Your order shipped",
                        "content": "Order 1042 left the warehouse and arrives Thursday.", "url": "/orders/1042"}  # fmt: skip
                response = client.http.post("/messages", headers={**admin, "Idempotency-Key": key}, body=json.dumps(body))
                assert response.status_code == 202, response.body

            send(1, "warm")
            meter.sizes = {
                "inbox": item_size(json.loads(json.dumps(InboxMessage.query("u0000").next().serialize()))),
                "counters": item_size(ChannelCounter.get("u0000", "news").serialize()),
                "idempotency": 250,
                "connections": 120,
                "channels": 150,
            }
            for receivers in (1, 25, big):
                floor = f"⌈R/25⌉+3 = {math.ceil(receivers / 25) + 3}"
                measure(f"send to {receivers} receivers", floor, lambda r=receivers: send(r, f"k{r}"), receivers)

            user = {"Authorization": f"Bearer {issue_token('u0000', SECRET)}"}
            measure("one inbox page (20)", "1", lambda: client.http.get("/me/messages", headers=user))

            def bulk_unread(owner: str, count: int) -> None:
                with InboxMessage.batch_write() as batch:
                    for i in range(count):
                        message = InboxMessage(owner, f"01M8{i:022d}", channel="news", channel_title="News", title="t",
                                               created_at="2026-11-24T00:00:00.000Z", user_channel=f"{owner}#news",
                                               expires_at=timedelta(days=1))  # fmt: skip
                        message.set_status(UNREAD, None)
                        batch.save(message)
                ChannelCounter(
                    owner, "news", channel_title="News", unread=count, total=count, latest_id=f"01M8{count:022d}"
                ).save()

            for count in (10, many_unread):
                owner = f"reader{count}"
                bulk_unread(owner, count)
                headers = {"Authorization": f"Bearer {issue_token(owner, SECRET)}"}
                measure(
                    f"unread count at {count} unread",
                    "≤ 2",
                    lambda h=headers: client.http.get("/me/unread-count", headers=h),
                )
            owner = "marker"
            bulk_unread(owner, big)
            headers = {"Authorization": f"Bearer {issue_token(owner, SECRET)}", "Content-Type": "application/json"}
            measure(f"mark all read of {big}", f"⌈N/25⌉ = {math.ceil(big / 25)} writes + queries",
                    lambda: client.http.post("/me/messages/read", headers=headers, body="{}"))  # fmt: skip

            from chalicelib.connections import ConnectionRegistry

            registry = ConnectionRegistry()
            users = [f"fan{i:04d}" for i in range(big)]
            measure(f"fan-out lookup for {big} users", f"⌈U/100⌉ = {math.ceil(big / 100)}", lambda: registry.lookup(users))

    per_message = next(r for r in rows if r["operation"] == f"send to {big} receivers")
    wru_per_message = per_message["wru"] / big
    usd = wru_per_message * PRICE_PER_MILLION_WRU
    print(table(
        ["operation", "calls", "floor / budget", "est. WRU", "est. RRU"],
        [[r["operation"], r["calls"], r["floor"], f"{r['wru']:.0f}", f"{r['rru']:.1f}"] for r in rows],
    ))  # fmt: skip
    prices = f"${PRICE_PER_MILLION_WRU}/M WRU, ${PRICE_PER_MILLION_RRU}/M RRU, on-demand us-east-1 as of {PRICES_AS_OF}"
    print(f"≈ {wru_per_message:.1f} WRU per delivered message → ${usd:.2f} per million messages written ({prices})")
    write(
        "cost",
        {"parameters": {"big": big, "many_unread": many_unread}, "repeats": 1, "operations": rows,
         "per_message": {"wru": wru_per_message, "usd_per_million": usd},
         "prices": {"wru_per_million": PRICE_PER_MILLION_WRU, "rru_per_million": PRICE_PER_MILLION_RRU, "as_of": PRICES_AS_OF,
                    "region": "us-east-1"}},
        results_dir(argv),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
