"""DynamoDB calls and request units, metered from the app's own botocore clients (a ``before-call`` and ``after-call`` hook).

moto reports a fixed ConsumedCapacity, so request units are estimated from
the items each call writes or reads, with DynamoDB's on-demand rules: a
write costs 1 WRU per KB of item (2 in a transaction) plus 1 WRU per KB in
every GSI the item is projected into (2 when an index key changes: delete +
put); a read costs 1 RRU per 4 KB (0.5 eventually consistent, 2
transactional). `bench.cost` and `bench.broadcast` read it.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

# The key that puts an item in each GSI, per table: an item is written to an index only when it has it (sparse).
# stored-index (storedId: a late-stored message) projects keys and channel only, so updates never rewrite it.
INDEX_KEYS = {"inbox": ("userChannel", "userStatus", "userChannelStatus", "storedId"), "sends": ("log", "channel")}


LIVE_INBOX_INDEXES = 3  # a live message is in all three inbox indexes; an archived one only in channel-index


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

    def _put(self, table: str, item: dict[str, Any], transactional: bool) -> None:
        kind = self.kinds.get(table, "")
        kb = self._kb(kind, item_size(item))
        indexes = sum(1 for key in INDEX_KEYS.get(kind, ()) if key in item)
        self.wru += kb * (2 if transactional else 1) + kb * indexes

    def _change(self, table: str, body: dict[str, Any], transactional: bool, delete: bool) -> None:
        """An update or delete without the item at hand: its size estimated, each index key it moves costs 2."""
        kind = self.kinds.get(table, "")
        kb = self._kb(kind)
        self.wru += kb * (2 if transactional else 1)
        if kind != "inbox":
            return
        if delete:
            self.wru += kb * LIVE_INBOX_INDEXES
            return
        names = set(body.get("ExpressionAttributeNames", {}).values())
        moved = sum(1 for key in INDEX_KEYS["inbox"] if key in names)
        self.wru += kb * (2 * moved + (LIVE_INBOX_INDEXES - moved))  # moved keys: delete + put; the rest rewritten

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        self.calls[name] += 1
        if name == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((op, body),) = action.items()
                if op == "Put":
                    self._put(body["TableName"], body["Item"], True)
                elif op in ("Update", "Delete"):
                    self._change(body["TableName"], body, True, op == "Delete")
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        self._put(table, request["PutRequest"]["Item"], False)
                    else:
                        self._change(table, {}, False, True)
        elif name == "PutItem":
            self._put(params["TableName"], params["Item"], False)
        elif name == "DeleteItem":
            self._change(params["TableName"], params, False, True)
        elif name == "UpdateItem" and self.kinds.get(params["TableName"]) == "counters":
            context["counts_update"] = True  # sized by the item it answers (`after`)
        elif name == "UpdateItem":
            self._change(params["TableName"], params, False, False)

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        name = model.name
        if context.get("counts_update") and "Attributes" in parsed:  # the item after the update sets the size
            self.wru += max(1, math.ceil(item_size(parsed["Attributes"]) / 1024))
        elif name in ("Query", "Scan"):
            size = sum(item_size(i) for i in parsed.get("Items", []))
            self.rru += max(1, math.ceil(size / 4096)) * 0.5
        elif name == "GetItem":
            self.rru += (
                max(1, math.ceil(item_size(parsed.get("Item") or {}) / 4096)) * 1.0
            )  # consistent reads are rare; worst case
        elif name == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.rru += sum(max(1, math.ceil(item_size(i) / 4096)) * 0.5 for i in items)
