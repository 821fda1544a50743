"""The fan-out signer against botocore's own SigV4Auth: same request, credentials and time → same bytes."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials

from chalicelib.realtime.sigv4 import PostSigner, host_header

MOMENT = dt.datetime(2026, 11, 25, 23, 59, 58, tzinfo=dt.UTC)
CONTENT = "application/json"
BODY = b'{"type":"message.created","message":{"id":"01J","title":"h\\u00e9llo"}}'


def _botocore_headers(monkeypatch: pytest.MonkeyPatch, url: str, credentials: Credentials, moment: dt.datetime) -> dict[str, str]:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, data=BODY, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", "eu-west-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE  session/token+with=odd chars"])
@pytest.mark.parametrize(
    "endpoint",
    ["https://abc123.execute-api.eu-west-1.amazonaws.com/prod", "http://127.0.0.1:8001/api", "https://Example.COM:443/x"],
)
def test_headers_equal_botocores_byte_for_byte(monkeypatch: pytest.MonkeyPatch, token: str | None, endpoint: str) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    path = f"{urlsplit(endpoint).path}/@connections/{quote('Ab3+/x=', safe='')}"
    expected = _botocore_headers(monkeypatch, f"{endpoint}/@connections/{quote('Ab3+/x=', safe='')}", credentials, MOMENT)
    signer = PostSigner(endpoint, "eu-west-1", credentials, clock=MOMENT.timestamp)
    assert signer.headers(path, BODY) == expected


def test_a_new_day_and_refreshed_credentials_are_both_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The signing key is cached per day and secret: neither may outlive its change."""
    current = {"access_key": "AKID1", "secret_key": "secret-one", "token": "token-one", "expiry_time": "2999-01-01T00:00:00Z"}
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=current, refresh_using=lambda: dict(current), method="test"
    )
    now = [MOMENT.timestamp()]
    signer = PostSigner("https://api.example.com/prod", "eu-west-1", credentials, clock=lambda: now[0])
    url, path = "https://api.example.com/prod/@connections/a%3D", "/prod/@connections/a%3D"
    assert signer.headers(path, BODY) == _botocore_headers(monkeypatch, url, credentials, MOMENT)

    now[0] += 5  # past midnight UTC: a new day's key
    next_day = MOMENT + dt.timedelta(seconds=5)
    assert signer.headers(path, BODY) == _botocore_headers(monkeypatch, url, credentials, next_day)

    current.update(access_key="AKID2", secret_key="secret-two", token="token-two")
    credentials._refresh_using = lambda: dict(current)  # as an assumed role's next session
    credentials._protected_refresh(is_mandatory=True)
    headers = signer.headers(path, BODY)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID2/20261126/")
    assert headers["X-Amz-Security-Token"] == "token-two"
    assert headers == _botocore_headers(monkeypatch, url, credentials, next_day)


def test_a_delete_closing_a_connection_is_signed_as_botocore_signs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token")
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: MOMENT.replace(tzinfo=None))
    endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    request = AWSRequest(method="DELETE", url=f"{endpoint}/@connections/Ab3%3D", data=b"", headers={"Content-Type": CONTENT})
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", "eu-west-1").add_auth(request)
    signer = PostSigner(endpoint, "eu-west-1", credentials, clock=MOMENT.timestamp)
    assert signer.headers("/prod/@connections/Ab3%3D", b"", "DELETE") == dict(request.headers.items())


def test_host_header_drops_only_the_schemes_default_port() -> None:
    assert host_header("https://API.example.com:443/prod") == "api.example.com"
    assert host_header("http://127.0.0.1:8001/api") == "127.0.0.1:8001"
    assert host_header("http://[::1]:80/api") == "[::1]"
