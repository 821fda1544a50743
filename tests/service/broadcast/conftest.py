"""Broadcast fixtures: a channel with subscribers over a threshold of 10, and helpers to send and subscribe."""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from chalicelib import service
from tests.conftest import Api

USERS = [f"user-{i:02d}" for i in range(12)]


class Broadcast(Protocol):
    def __call__(self, **fields: Any) -> str: ...


class Subscribers(Protocol):
    def __call__(self, **change: list[str]) -> Any: ...


@pytest.fixture
def subscribers(api: Api, admin_token: str) -> Subscribers:
    def _change(**change: list[str]) -> Any:
        response = api.call("POST", "/channels/news/subscribers", token=admin_token, json_body=change)
        assert response.status_code == 200, response.json_body
        return response.json_body

    return _change


@pytest.fixture
def subscribed(channel: str, subscribers: Subscribers, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Twelve subscribers to ``news``, and a threshold of 10: an audience send to it is a broadcast."""
    monkeypatch.setenv("INAPP_BROADCAST_THRESHOLD", "10")
    service.reset()
    subscribers(add=USERS)
    return USERS


@pytest.fixture
def broadcast(api: Api, admin_token: str) -> Broadcast:
    def _send(**fields: Any) -> str:
        body = {"channel": "news", "audience": "subscribers", "title": "To everyone", **fields}
        response = api.call("POST", "/messages", token=admin_token, json_body=body)
        assert response.status_code == 202, response.json_body
        return str(response.json_body["id"])

    return _send
