"""chalicelib.realtime.connections: the registry of each user's live connections."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.storage.tables import Connection
from tests.conftest import LambdaClient, TokenFactory
from tests.events import ws_event
from tests.standin import ManagementStandIn


def _items() -> dict[str, Any]:
    """Every item of the connections table, by key."""
    return {item.pk: item for item in Connection.scan()}


def test_connect_with_a_valid_token_registers_both_items(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory
) -> None:
    response = lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=token("alice"))).payload
    assert response == {"statusCode": 200}
    items = _items()
    assert items["conn#c1="].user_id == "alice"
    (element,) = items["user#alice"].connections
    assert element.startswith("c1=|")
    assert items["user#alice"].expires_at.timestamp() > time.time() + 2 * 3600


def test_disconnect_forgets_only_that_connection(lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory) -> None:
    for connection_id in ("c1=", "c2="):
        lambdas.invoke("ws_connect", ws_event("$connect", connection_id, token=token("alice")))
    lambdas.invoke("ws_disconnect", ws_event("$disconnect", "c1="))
    items = _items()
    assert "conn#c1=" not in items and "conn#c2=" in items
    assert [e.split("|")[0] for e in items["user#alice"].connections] == ["c2="]
    assert lambdas.invoke("ws_disconnect", ws_event("$disconnect", "unknown=")).payload == {"statusCode": 200}
