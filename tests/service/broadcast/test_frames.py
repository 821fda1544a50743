"""A broadcast's frames: one per live connection of every holder online, none to anyone else, a page per step."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import service
from tests.conftest import Api, ConnectFactory, TokenFactory, Worker
from tests.events import CountsKeeper
from tests.service.broadcast.conftest import Broadcast, Subscribers
from tests.standin import ManagementStandIn


def test_every_online_holder_gets_one_frame_per_connection_and_no_one_else(
    standin: ManagementStandIn,
    connect: ConnectFactory,
    subscribed: list[str],
    subscribers: Subscribers,
    broadcast: Broadcast,
    worker: Worker,
) -> None:
    connect(subscribed[0], "a1=", "a2=")
    connect(subscribed[1], "b1=")
    connect("outsider", "o1=")
    connect(subscribed[2], "c1=")
    subscribers(remove=[subscribed[2]])  # unsubscribed before the send: not a holder
    send_id = broadcast(title="Now", severity="critical")
    worker.drain()
    for connection_id in ("a1=", "a2=", "b1="):
        (frame,) = standin.frames(connection_id)
        assert (frame["type"], frame["broadcast"], frame["message"]["id"]) == ("message.created", True, send_id)
        assert (frame["message"]["title"], frame["message"]["status"], frame["message"]["severity"]) == (
            "Now",
            "unread",
            "critical",
        )
        assert "counts" not in frame  # the client adds the message to its counts itself
    assert standin.frames("o1=") == standin.frames("c1=") == []


def test_the_online_users_are_paged_a_step_at_a_time(
    standin: ManagementStandIn, connect: ConnectFactory, subscribed: list[str], broadcast: Broadcast, worker: Worker, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from chalicelib.broadcast import frames

    monkeypatch.setattr(frames, "PAGE_ITEMS", 3)
    service.reset()
    for n, user in enumerate(subscribed):
        connect(user, f"s{n}=")
    broadcast()
    steps = worker.drain()
    assert steps >= 8  # 12 users and their 12 connections, three items a page
    assert all(len(standin.frames(f"s{n}=")) == 1 for n in range(len(subscribed)))


def test_a_post_failing_after_its_retries_fails_the_step_and_the_queue_runs_it_again(
    standin: ManagementStandIn, connect: ConnectFactory, subscribed: list[str], broadcast: Broadcast, worker: Worker
) -> None:
    connect(subscribed[0], "a1=")
    connect(subscribed[1], "b1=")
    standin.script("a1=", [500, 500, 500, 500])  # every attempt of the first run's post
    send_id = broadcast()
    worker.drain()
    assert [f["message"]["id"] for f in standin.frames("a1=")] == [send_id]  # by the step's second run
    assert [f["message"]["id"] for f in standin.frames("b1=")] == [send_id, send_id]  # posted again: clients keep one


def test_the_counts_every_frame_carries_include_the_broadcasts_the_user_holds(
    standin: ManagementStandIn,
    connect: ConnectFactory,
    subscribed: list[str],
    broadcast: Broadcast,
    lambdas,
    stream,
    send,  # type: ignore[no-untyped-def]
) -> None:
    from tests.conftest import deliver_and_replay

    connect(subscribed[0], "a1=")
    broadcast(severity="critical")
    stream.batch()  # nothing of the broadcast is on the stream
    send([subscribed[0]], title="own")
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    (created,) = [f for f in standin.frames("a1=") if f["message"]["title"] == "own"]
    assert (created["counts"]["total"], created["counts"]["channels"]) == (2, {"news": 2})  # as /me/unread-count says


def test_a_holder_who_muted_the_channel_gets_it_silent_unless_critical(
    api: Api,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    subscribed: list[str],
    broadcast: Broadcast,
    token: TokenFactory,
    worker: Worker,
) -> None:
    muted = api.call("PUT", "/me/preferences/channels/news", token=token(subscribed[0]), json_body={"muted": True})
    assert muted.status_code == 200
    CountsKeeper().catch_up()  # the mutes' copy on the counts item
    connect(subscribed[0], "m1=")
    connect(subscribed[1], "l1=")
    broadcast(title="Quiet")
    broadcast(title="Loud", severity="critical")
    worker.drain()
    assert [(f["message"]["title"], f["silent"]) for f in standin.frames("m1=")] == [("Quiet", True), ("Loud", False)]
    assert [(f["message"]["title"], f["silent"]) for f in standin.frames("l1=")] == [("Quiet", False), ("Loud", False)]


def test_frames_going_out_late_mark_the_broadcast_for_the_catch_up_after_newer_messages(
    api: Api,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    subscribed: list[str],
    broadcast: Broadcast,
    token: TokenFactory,
    worker: Worker,
    send: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its frames step retried minutes later: a holder saw a newer message meanwhile, then dropped before the
    broadcast's frame; the reconnect's catch-up after the newer id must still return it."""
    from chalicelib.core import ids

    past = ids.id_time_ms(ids.new_id()) - 10_000
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator(clock=lambda: past))
    held_back = broadcast(title="Frames late")  # stored at once (10 s ago, as the clock says)
    monkeypatch.setattr(ids, "_generator", ids.IdGenerator())
    newer = send([subscribed[0]], title="Seen first")["id"]
    worker.drain()  # the frames step, 10 s after the broadcast's id
    assert held_back in api.message_ids(token(subscribed[0]), f"?after={newer}")
