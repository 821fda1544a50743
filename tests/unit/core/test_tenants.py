"""Tenant scoping: one stored name per (tenant, name), and the plain name back, unambiguously."""

from __future__ import annotations

import doctest

import pytest

from chalicelib.core import tenants
from chalicelib.core.auth import verify_token
from chalicelib.core.config import load_auth_settings
from chalicelib.core.errors import UnauthorizedError
from tests.conftest import SECRET


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(tenants).failed == 0


def test_without_a_tenant_every_name_is_returned_as_it_is() -> None:
    names = ["alice", "a|b"]
    assert tenants.scoped(None, "alice") == "alice" and tenants.scoped_all(None, names) is names
    assert tenants.plain_user("a|b", None) == "a|b" and tenants.channel_tenant("news") is None


@pytest.mark.parametrize("sub", ["alice", "a|b", "|", "acme|alice"])
def test_a_sub_holding_the_separator_still_parses_back_to_itself(sub: str) -> None:
    stored = tenants.scoped("acme", sub)
    assert tenants.plain_user(stored, "acme") == sub
    assert stored != tenants.scoped("globex", sub)


@pytest.mark.parametrize("value", ["acme", "a", "0-team_x", "a" * 64])
def test_tenant_names_follow_the_channel_name_rule(value: str) -> None:
    assert tenants.TENANT.fullmatch(value)


@pytest.mark.parametrize("value", ["", "Acme", "a|b", "-a", "_a", "a" * 65, "a b", "acme\n"])
def test_other_tenant_names_are_refused(value: str) -> None:
    assert not tenants.TENANT.fullmatch(value)


def test_a_stored_channel_name_gives_back_its_tenant_and_plain_name() -> None:
    stored = tenants.scoped("acme", "news")
    assert (tenants.channel_tenant(stored), tenants.plain_channel(stored)) == ("acme", "news")


def test_the_principal_carries_the_tenant_and_the_scoped_user_id(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core.auth import issue_token

    monkeypatch.setenv("INAPP_TENANT_CLAIM", "custom:tenant")
    auth = load_auth_settings()
    caller = verify_token(issue_token("a|b", SECRET, tenant="acme", tenant_claim="custom:tenant"), auth)
    assert (caller.user_id, caller.tenant, caller.channel("news")) == ("acme|a|b", "acme", "acme|news")
    with pytest.raises(UnauthorizedError, match=r"^Authorization: the token's custom:tenant claim \(the tenant\) is required$"):
        verify_token(issue_token("a", SECRET, tenant="acme"), auth)  # in another claim than the configured one


def test_with_tenants_off_a_tenant_claim_changes_nothing() -> None:
    from chalicelib.core.auth import issue_token

    caller = verify_token(issue_token("a|b", SECRET, tenant="acme"), load_auth_settings())
    assert (caller.user_id, caller.tenant, caller.channel("news")) == ("a|b", None, "news")
