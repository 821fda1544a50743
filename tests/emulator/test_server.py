"""The emulator's server answers the SDKs on loopback and refuses every request a web page makes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from infra.local.moto.server import EmbeddedDynamoDB

EVIL = "http://evil.example"
# moto picks the service from the credential scope (without it, the request goes to S3); the signature is not checked.
SIGNED = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmbeddedDynamoDB]:
    running = EmbeddedDynamoDB()
    running.start()
    yield running
    running.stop()


def _call(
    emulator: EmbeddedDynamoDB, action: str, body: Mapping[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """A DynamoDB call as a bare HTTP request (what a page's ``fetch`` could send): status, headers, JSON body."""
    request = urllib.request.Request(
        emulator.endpoint,
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{action}",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": SIGNED,
            **(headers or {}),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read())


def _tables(emulator: EmbeddedDynamoDB) -> list[str]:
    status, _, body = _call(emulator, "ListTables", {})
    assert status == 200
    return list(body["TableNames"])


def test_a_request_without_origin_is_served_and_grants_no_origin(emulator: EmbeddedDynamoDB) -> None:
    """What botocore sends: served as ever, with none of the ``Access-Control-Allow-Origin: *`` moto adds to every answer."""
    status, headers, body = _call(emulator, "ListTables", {})
    assert status == 200 and "TableNames" in body
    assert not [name for name in headers if name.lower().startswith("access-control-")]


@pytest.mark.parametrize("header", [{"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}])
def test_a_request_from_a_web_page_is_refused_without_cors_headers(emulator: EmbeddedDynamoDB, header: dict[str, str]) -> None:
    """moto's Flask app would answer any ``Origin`` with CORS grants: any page could read or write the local tables."""
    status, headers, body = _call(emulator, "ListTables", {}, header)
    assert status == 403
    assert body["__type"] == "com.amazonaws.dynamodb.v20120810#AccessDeniedException"
    assert str(body["message"]).startswith("Requests from web pages are refused")
    assert not [name for name in headers if name.lower().startswith("access-control-")]


def test_a_refused_request_changes_nothing(emulator: EmbeddedDynamoDB) -> None:
    table = {
        "TableName": "from-a-web-page",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    status, _, _ = _call(emulator, "CreateTable", table, {"Origin": EVIL})
    assert status == 403
    assert "from-a-web-page" not in _tables(emulator)


def test_a_preflight_gets_no_grant(emulator: EmbeddedDynamoDB) -> None:
    preflight = urllib.request.Request(
        emulator.endpoint,
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-amz-target"},
        method="OPTIONS",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(preflight, timeout=10)
    assert refused.value.code == 403
    assert not [name for name in refused.value.headers if name.lower().startswith("access-control-")]
