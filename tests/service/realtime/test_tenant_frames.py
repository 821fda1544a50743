"""Frames with tenants on: a message of one tenant reaches only that tenant's user's connections."""

from __future__ import annotations

import pytest

from chalicelib.core.auth import issue_token
from chalicelib.storage.tables import Connection
from tests.conftest import SECRET, Api, LambdaClient, TenantTokenFactory, deliver_and_replay
from tests.events import StreamTap, ws_event
from tests.standin import ManagementStandIn

A, B = "acme", "globex"


@pytest.fixture
def connected(lambdas: LambdaClient, standin: ManagementStandIn, tenant_token: TenantTokenFactory, api: Api) -> None:
    """alice of each tenant online (``a1=`` in acme, ``g1=`` in globex), and ``news`` in both tenants."""
    for tenant, connection_id in ((A, "a1="), (B, "g1=")):
        event = ws_event("$connect", connection_id, token=tenant_token("alice", tenant))
        assert lambdas.invoke("ws_connect", event).payload == {"statusCode": 200}
        admin = tenant_token("admin-1", tenant, admin=True)
        assert api.call("POST", "/channels", token=admin, json_body={"name": "news", "title": "News"}).status_code == 201


def test_a_message_reaches_only_its_tenants_alice_and_shows_the_plain_channel(
    api: Api, lambdas: LambdaClient, standin: ManagementStandIn, tenant_token: TenantTokenFactory, connected: None,
    stream: StreamTap,
) -> None:  # fmt: skip
    sent = api.send_message(tenant_token("admin-1", A, admin=True), {"channel": "news", "receivers": ["alice"], "title": "Hi"})
    assert deliver_and_replay(lambdas, stream.batch()) == {"batchItemFailures": []}
    (frame,) = standin.frames("a1=")
    shown = (frame["type"], frame["message"]["id"], frame["message"]["channel"])
    assert shown == ("message.created", sent.json_body["id"], "news")
    assert frame["counts"] == {"total": 1, "unseen": 1, "channels": {"news": 1}}
    assert standin.all_frames("g1=") == []


def test_a_change_in_one_tenant_syncs_only_its_own_connections(
    api: Api, lambdas: LambdaClient, standin: ManagementStandIn, tenant_token: TenantTokenFactory, connected: None,
    stream: StreamTap,
) -> None:  # fmt: skip
    sent = api.send_message(tenant_token("admin-1", B, admin=True), {"channel": "news", "receivers": ["alice"], "title": "Hi"})
    api.change_message(tenant_token("alice", B), sent.json_body["id"], {"status": "read"})
    deliver_and_replay(lambdas, stream.batch())
    assert [f["type"] for f in standin.frames("g1=")] == ["message.created", "message.updated"]
    assert standin.all_frames("a1=") == []


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({}, "token: the token's tenant claim (the tenant) is required"),
        ({"tenant": "Acme"}, "token: the token's tenant claim (the tenant) must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
        ({"tenant": "a|b"}, "token: the token's tenant claim (the tenant) must match ^[a-z0-9][a-z0-9_-]{0,63}$"),
    ],
)
def test_connect_without_a_valid_tenant_claim_is_refused_naming_it_and_stores_nothing(
    lambdas: LambdaClient, standin: ManagementStandIn, tenant_token: TenantTokenFactory, claims: dict[str, str], message: str
) -> None:
    token = issue_token("alice", SECRET, tenant=claims.get("tenant"))
    answer = lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=token)).payload
    assert answer == {"statusCode": 401, "body": message}
    assert list(Connection.scan()) == []
