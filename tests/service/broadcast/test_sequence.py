"""A channel's sequence: its subscriber count equals a recount, and a broadcast and a subscription change are ordered."""

from __future__ import annotations

from chalicelib.audience import subscribers as subscriptions
from chalicelib.broadcast import read_sequence
from chalicelib.core.ids import first_id_at
from chalicelib.storage import Channel, Subscription
from tests.conftest import Api, TokenFactory
from tests.service.broadcast.conftest import Broadcast, Subscribers


def _sequence() -> tuple[int, int]:
    found = read_sequence("news", first_id_at(Channel.get("news").created_at))
    return found.seq, found.subscribers


def test_the_subscriber_count_equals_a_recount(subscribed: list[str], subscribers: Subscribers, broadcast: Broadcast) -> None:
    subscribers(add=["x", "y"], remove=subscribed[:3])
    subscribers(add=["x"], remove=["nobody"])
    broadcast()
    assert _sequence() == (1, len(list(Subscription.query("news"))))


def test_a_change_read_before_a_broadcast_is_refused_and_written_again_after_it(
    api: Api, subscribed: list[str], broadcast: Broadcast, token: TokenFactory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The change reads the sequence, a broadcast lands, the change's transaction is refused: it reads again."""
    real = subscriptions._write_changes
    calls: list[int] = []

    def racing(sequence, since, ends, adds, kept):  # type: ignore[no-untyped-def]
        if not calls:
            sent.append(broadcast(title="between"))
        calls.append(sequence.seq)
        return real(sequence, since, ends, adds, kept)

    sent: list[str] = []
    monkeypatch.setattr(subscriptions, "_write_changes", racing)
    assert subscriptions.change_subscribers(
        "news", subscriptions.SubscriberChanges(add=["newcomer"], remove=[subscribed[0]])
    ) == {
        "added": 1,
        "removed": 1,
    }
    assert calls == [0, 1]  # refused at 0, written at 1
    assert api.message_ids(token("newcomer")) == []  # subscribed after the broadcast
    assert api.message_ids(token(subscribed[0])) == sent  # unsubscribed after it: keeps it
    assert _sequence() == (1, 12)
