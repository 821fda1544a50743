"""Fixtures of the inbox tests: a second channel."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def ops(api: Api, admin_token: str, channel: str) -> str:
    assert api.call("POST", "/channels", token=admin_token, json_body={"name": "ops", "title": "Ops"}).status_code == 201
    return "ops"
