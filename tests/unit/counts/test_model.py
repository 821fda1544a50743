"""chalicelib.counts.model: what one item adds to its user's counts, and what the badge shows."""

from __future__ import annotations

from chalicelib.counts.model import Counts, add_contribution, contribution


def _item(id_: str, *, channel: str = "c", status: str = "unread", seen: bool = False, severity: str = "normal") -> dict:
    item = {"id": {"S": id_}, "channel": {"S": channel}, "status": {"S": status}, "severity": {"S": severity}}
    if seen:
        item["seenAt"] = {"S": "2026-12-06T00:00:00.000Z"}
    return item


def test_a_live_item_counts_by_its_state_and_others_count_nothing() -> None:
    critical = {"u": 1, "t": 1, "s": 1, "cu": 1, "cs": 1, "x": 0}
    assert contribution(_item("01J", severity="critical")) == ("c", critical)
    assert contribution(_item("01J", status="read", seen=True)) == ("c", {"u": 0, "t": 1, "s": 0, "cu": 0, "cs": 0, "x": 0})
    for other in ("archived#01J", "deleted#01J", "snoozed#01J", "prefs", "tag#x#01J", "pin#2026#01J", "exp#2026#01J"):
        assert contribution(_item(other)) is None
    assert contribution(None) is None


def test_contributions_add_and_take_away() -> None:
    totals: dict[tuple[str, str], int] = {}
    add_contribution(totals, _item("01A"))
    add_contribution(totals, _item("01B", channel="d"))
    add_contribution(totals, _item("01A"), -1)
    assert {key: n for key, n in totals.items() if n} == {("u", "d"): 1, ("t", "d"): 1, ("s", "d"): 1}


def test_a_tagged_unread_item_counts_per_tag_and_an_own_expiry_per_channel() -> None:
    item = {**_item("01A"), "tags": {"SS": ["billing", "urgent"]}, "expiry": {"S": "2030-01-01T00:00:00.000Z"}}
    totals: dict[tuple[str, str], int] = {}
    add_contribution(totals, item)
    assert totals[("tg", "billing")] == totals[("tg", "urgent")] == totals[("x", "c")] == 1
    add_contribution(totals, {**item, "status": {"S": "read"}, "seenAt": {"S": "2026"}})  # read: counts no tag
    assert totals[("tg", "billing")] == 1
    counts = Counts.from_item("alice", {f"{k}:{n}": {"N": str(v)} for (k, n), v in totals.items()})
    assert counts.unread_by_tag() == {"billing": 1, "urgent": 1} and counts.with_own_expiry
    assert counts.summary()["tags"] == {"billing": 1, "urgent": 1}


def test_a_muted_channel_counts_only_its_critical_messages_in_the_badge() -> None:
    item = {
        "u:deploys": {"N": "3"}, "t:deploys": {"N": "4"}, "s:deploys": {"N": "2"},
        "cu:deploys": {"N": "1"}, "cs:deploys": {"N": "1"},
        "u:news": {"N": "5"}, "t:news": {"N": "5"}, "s:news": {"N": "5"}, "l:news": {"S": "01N"},
        "muted": {"SS": ["deploys"]}, "v": {"N": "7"},
        "g:shardId-1": {"S": "000123"}, "gt:shardId-1": {"N": "1796568645"}, "g:shardId-2": {"S": "000099"},
    }  # fmt: skip
    counts = Counts.from_item("alice", item)
    assert counts.summary() == {"total": 1 + 5, "unseen": 1 + 5, "channels": {"deploys": 3, "news": 5}}
    assert (counts.version, counts.latest) == (7, {"news": "01N"})
    assert counts.guards == {"shardId-1": ("000123", 1796568645), "shardId-2": ("000099", 0)}
    assert (counts.applied("shardId-1"), counts.applied("shardId-3")) == ("000123", "")
    assert Counts.from_item("bob", None).summary() == {"total": 0, "unseen": 0, "channels": {}}
