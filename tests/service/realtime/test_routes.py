"""WebSocket routes: handshake auth, ping/pong, error frames, disconnect."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from chalicelib.core.auth import issue_token
from chalicelib.core.logs import JsonFormatter
from chalicelib.storage.tables import Connection
from tests.conftest import SECRET, LambdaClient, TokenFactory
from tests.events import ws_event
from tests.faults import dynamodb_faults
from tests.standin import ManagementStandIn


@pytest.mark.parametrize(
    "bad",
    [None, "", "garbage", issue_token("u", "wrong-secret-0123456789abcdef-0123456"), issue_token("u", SECRET, now=0)],
    ids=["missing", "empty", "garbage", "wrong-key", "expired"],
)
def test_connect_without_a_valid_token_is_refused_and_stores_nothing(
    lambdas: LambdaClient, standin: ManagementStandIn, bad: Any
) -> None:
    response = lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=bad)).payload
    assert response["statusCode"] == 401
    assert list(Connection.scan()) == []


def test_a_refused_connect_logs_no_claim_of_its_token(lambdas: LambdaClient, standin: ManagementStandIn) -> None:
    """A refused token's ``sub`` is whatever its sender wrote: the line says why, and names no user."""
    logger, output = logging.getLogger("chalicelib.realtime.routes"), io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        forged = issue_token("x\nFAKE LOG LINE", "wrong-secret-0123456789abcdef-0123456")
        assert lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=forged)).payload["statusCode"] == 401
    finally:
        logger.removeHandler(handler)
    (line,) = output.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["message"], entry["reason"], entry["user_id"]) == ("connect refused", "token: the token is invalid", None)
    assert "FAKE" not in line


def test_ping_answers_pong_on_the_same_socket(lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory) -> None:
    lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=token("alice")))
    lambdas.invoke("ws_message", ws_event("$default", "c1=", body='{"action":"ping"}'))
    assert standin.frames("c1=") == [{"type": "pong"}]


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ("not json", "frame: is not valid JSON"),
        ("[" * 2000 + "]" * 2000, "frame: is not valid JSON"),  # RecursionError in Python's parser
        ('{"action":"\\ud800"}', "action: must be valid Unicode"),
        ("[1,2]", "frame: must be a JSON object"),
        ('{"action":"subscribe"}', "action: unknown action 'subscribe'"),
        ("{}", "action: unknown action 'None'"),
        ("x" * 5000, "frame: too large or empty"),
    ],
)
def test_bad_frames_get_an_error_frame(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory, body: str, start: str
) -> None:
    lambdas.invoke("ws_connect", ws_event("$connect", "c1=", token=token("alice")))
    response = lambdas.invoke("ws_message", ws_event("$default", "c1=", body=body)).payload
    assert response == {"statusCode": 200}
    (frame,) = standin.frames("c1=")
    assert frame["type"] == "error" and frame["message"].startswith(start)


def test_frames_are_compact_json(standin: ManagementStandIn) -> None:
    from chalicelib.realtime.routes import _frame

    assert json.loads(_frame({"type": "pong"})) == {"type": "pong"}


def test_connects_meeting_transaction_conflicts_are_retried_and_a_lasting_conflict_is_429(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory
) -> None:
    """Two tabs connecting at once conflict on the user's item; botocore does not retry that: never a 500."""
    with dynamodb_faults({"conflict": 0.5}, seed=3) as injected:
        for tab in range(6):
            answer = lambdas.invoke("ws_connect", ws_event("$connect", f"t{tab}=", token=token("u1"))).payload
            assert answer == {"statusCode": 200}
    assert injected["conflict"] >= 2
    (registry,) = Connection.query("user#u1")
    assert len(registry.connections) == 6
    with dynamodb_faults({"conflict": 1.0}):
        answer = lambdas.invoke("ws_connect", ws_event("$connect", "late=", token=token("u1"))).payload
    assert answer["statusCode"] == 429
    assert Connection.count("conn#late=") == 0


def test_frames_past_a_connections_limit_get_an_error_frame_and_other_connections_do_not(
    lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default limit (20 frames a second, a burst of 100) per connection; its clock frozen, then moved."""
    from chalicelib import service

    monkeypatch.delenv("INAPP_USER_RATE")
    service.reset()
    now = [1_800_000_000.0]
    limiter = service.get_request_limiter()
    assert limiter is not None
    limiter.clock = lambda: now[0]
    for connection_id in ("c1=", "c2="):
        lambdas.invoke("ws_connect", ws_event("$connect", connection_id, token=token("alice")))
    for _ in range(101):
        lambdas.invoke("ws_message", ws_event("$default", "c1=", body='{"action":"ping"}'))
    lambdas.invoke("ws_message", ws_event("$default", "c2=", body='{"action":"ping"}'))
    frames = standin.frames("c1=")
    assert frames[:100] == [{"type": "pong"}] * 100
    message = "rate: at most 20 frames a second per connection (a burst of 100); retry after 1 s"
    assert frames[100:] == [{"type": "error", "message": message, "retryAfter": 1}]
    assert standin.frames("c2=") == [{"type": "pong"}]
    now[0] += 1
    lambdas.invoke("ws_message", ws_event("$default", "c1=", body='{"action":"ping"}'))
    assert standin.frames("c1=")[101:] == [{"type": "pong"}]
