"""Settings: read once, required ones fail loudly with their name."""

from __future__ import annotations

import pytest

from chalicelib.core.config import load_auth_settings, load_settings
from chalicelib.core.errors import ConfigurationError


def test_missing_table_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INAPP_INBOX_TABLE")
    with pytest.raises(ConfigurationError, match="INAPP_INBOX_TABLE is required"):
        load_settings()


def test_missing_secret_and_jwks_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INAPP_JWT_SECRET")
    with pytest.raises(ConfigurationError, match="INAPP_JWT_SECRET or INAPP_JWKS_URL"):
        load_auth_settings()


def test_the_auth_settings_are_not_the_stream_and_queue_functions_concern(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong auth setting fails the first token check, never `deliver`, `fan_out` or `send` (which check none)."""
    monkeypatch.delenv("INAPP_JWT_SECRET")
    monkeypatch.setenv("INAPP_JWKS_URL", "https://issuer.example/.well-known/jwks.json")
    assert load_settings().tables["inbox"]


def test_bad_retention_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_RETENTION_DAYS", "a year")
    with pytest.raises(ConfigurationError, match="INAPP_RETENTION_DAYS must be an integer"):
        load_settings()


def test_the_bulk_limit_is_1000_messages_unless_set_and_never_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().bulk_limit == 1000
    monkeypatch.setenv("INAPP_BULK_LIMIT", "0")
    with pytest.raises(ConfigurationError, match="INAPP_BULK_LIMIT must be positive, got 0"):
        load_settings()


def test_connections_per_user_are_10_unless_set_and_never_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().max_connections_per_user == 10
    monkeypatch.setenv("INAPP_MAX_CONNECTIONS_PER_USER", "3")
    assert load_settings().max_connections_per_user == 3
    monkeypatch.setenv("INAPP_MAX_CONNECTIONS_PER_USER", "0")
    with pytest.raises(ConfigurationError, match="INAPP_MAX_CONNECTIONS_PER_USER must be positive, got 0"):
        load_settings()


def test_no_websocket_address_is_guessed_from_an_api_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guess would end in amazonaws.com, wrong in China: the template passes both addresses, built with the URL suffix."""
    monkeypatch.setenv("INAPP_WS_API_ID", "abc123")
    monkeypatch.setenv("INAPP_WS_STAGE", "api")
    settings = load_settings()
    assert settings.ws_management_endpoint is None and settings.ws_client_url is None


def test_secret_can_come_from_an_ssm_secure_string(monkeypatch: pytest.MonkeyPatch, aws: None) -> None:
    import boto3

    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/inapp/test/secret", Value="from-ssm-0123456789abcdef", Type="SecureString"
    )
    monkeypatch.delenv("INAPP_JWT_SECRET")
    monkeypatch.setenv("INAPP_SECRET_PARAMETER", "/inapp/test/secret")
    settings = load_auth_settings()
    assert settings.jwt_secret == settings.cursor_secret == "from-ssm-0123456789abcdef"
    monkeypatch.setenv("INAPP_JWKS_URL", "https://issuer.example/.well-known/jwks.json")
    monkeypatch.setenv("INAPP_JWT_ISSUER", "https://issuer.example")
    monkeypatch.setenv("INAPP_JWT_AUDIENCE", "inbox")
    with_jwks = load_auth_settings()
    assert with_jwks.jwt_secret is None and with_jwks.cursor_secret == "from-ssm-0123456789abcdef"


def test_jwks_without_an_issuer_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without it, any token signed by any key of a shared JWKS would be accepted — admins included."""
    monkeypatch.setenv("INAPP_JWKS_URL", "https://issuer.example/.well-known/jwks.json")
    with pytest.raises(ConfigurationError, match="setting INAPP_JWT_ISSUER is required with INAPP_JWKS_URL"):
        load_auth_settings()


def test_jwks_without_an_audience_is_a_working_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audience is checked when configured (Cognito access tokens have none to check)."""
    monkeypatch.setenv("INAPP_JWKS_URL", "https://issuer.example/.well-known/jwks.json")
    monkeypatch.setenv("INAPP_JWT_ISSUER", "https://issuer.example")
    assert load_auth_settings().jwt_audience is None


@pytest.mark.parametrize("endpoint", ["http://abc.execute-api.us-east-1.amazonaws.com/api", "ftp://127.0.0.1/api"])
def test_a_management_endpoint_without_tls_is_refused_off_loopback(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Posts are signed and carry the session token: never in clear text across a network."""
    monkeypatch.setenv("INAPP_WS_ENDPOINT", endpoint)
    with pytest.raises(ConfigurationError, match="INAPP_WS_ENDPOINT must be an https:// URL"):
        load_settings()


def test_loopback_management_endpoints_may_be_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_WS_ENDPOINT", "http://127.0.0.1:8001/api/")
    assert load_settings().ws_management_endpoint == "http://127.0.0.1:8001/api"
