"""chalicelib.inbox.preferences: muted channels, over HTTP, in the badge and on the socket."""

from __future__ import annotations

from tests.conftest import (
    Api,
    ConnectFactory,
    LambdaClient,
    SendFactory,
    TokenFactory,
    assert_counts_exact,
    assert_error,
    deliver_and_replay,
)
from tests.events import StreamTap
from tests.standin import ManagementStandIn


def test_a_muted_channel_leaves_the_badge_but_not_its_own_count_and_critical_ignores_mutes(
    api: Api, ops: str, send: SendFactory, token: TokenFactory
) -> None:
    alice = token("alice")
    send(["alice"]), send(["alice"], channel="ops"), send(["alice"], channel="ops", severity="critical")
    put = api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": True})
    assert put.json_body == {"name": "ops", "muted": True}
    assert api.call("GET", "/me/preferences", token=alice).json_body == {"channels": {"ops": {"muted": True}}}
    assert api.unread_count(alice) == {"total": 2, "unseen": 2, "channels": {"news": 1, "ops": 2}}  # news + ops' critical
    api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": True})  # again: no change
    api.call("PUT", "/me/preferences/channels/ops", token=alice, json_body={"muted": False})
    assert api.call("GET", "/me/preferences", token=alice).json_body == {"channels": {}}
    assert api.unread_count(alice) == {"total": 3, "unseen": 3, "channels": {"news": 1, "ops": 2}}
    assert_counts_exact("alice")


def test_at_most_100_channels_can_be_muted_and_muting_one_again_is_no_new_one(api: Api, token: TokenFactory) -> None:
    alice = token("alice")
    for number in range(100):
        assert api.call("PUT", f"/me/preferences/channels/c{number}", token=alice, json_body={"muted": True}).status_code == 200
    response = api.call("PUT", "/me/preferences/channels/one-more", token=alice, json_body={"muted": True})
    assert_error(response, 409, "name: at most 100 channels can be muted; unmute one first")
    assert api.call("PUT", "/me/preferences/channels/c7", token=alice, json_body={"muted": True}).status_code == 200
    api.call("PUT", "/me/preferences/channels/c7", token=alice, json_body={"muted": False})
    assert api.call("PUT", "/me/preferences/channels/one-more", token=alice, json_body={"muted": True}).status_code == 200
    assert len(api.call("GET", "/me/preferences", token=alice).json_body["channels"]) == 100


def test_a_muted_channels_frames_are_silent_unless_critical(
    api: Api,
    lambdas: LambdaClient,
    standin: ManagementStandIn,
    connect: ConnectFactory,
    channel: str,
    send: SendFactory,
    stream: StreamTap,
    token: TokenFactory,
) -> None:
    connect("alice", "a1=")
    api.call("PUT", "/me/preferences/channels/news", token=token("alice"), json_body={"muted": True})
    send(["alice"], title="quiet")
    send(["alice"], title="loud", severity="critical")
    deliver_and_replay(lambdas, stream.batch())
    created = [(f["message"]["title"], f["silent"]) for f in standin.frames("a1=") if f["type"] == "message.created"]
    assert created == [("quiet", True), ("loud", False)]
    assert standin.counts("a1=")[-1] == {"total": 1, "unseen": 1, "channels": {"news": 2}}
