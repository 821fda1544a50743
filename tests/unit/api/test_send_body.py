"""Placeholders: strict, plain text, percent-encoded in urls."""

from __future__ import annotations

import pytest

from chalicelib.api.send_body import body_hash, render, send_command
from chalicelib.core.errors import ValidationError


def test_render_is_strict_and_plain() -> None:
    assert render("{{a}}-{{ b }}", {"a": "<x>", "b": "y"}, "title") == "<x>-y"
    assert render("/p/{{a}}", {"a": "a b/c"}, "url", url=True) == "/p/a%20b%2Fc"
    assert render("{{#section}}x{{/section}}", {}, "title") == "{{#section}}x{{/section}}"
    with pytest.raises(ValidationError, match=r"data\.missing: is missing \(used in content\)"):
        render("{{missing}}", {}, "content")


def test_filling_stops_as_soon_as_the_text_outgrows_its_limit() -> None:
    """200,000 placeholders and a 5 KB value would build a gigabyte before the length check."""
    template = "{{a}}" * 200_000
    with pytest.raises(ValidationError, match=r"^content: must be at most 16384 characters once placeholders are filled$"):
        render(template, {"a": "x" * 5000}, "content", limit=16_384)
    assert render("{{a}}-{{a}}", {"a": "xy"}, "title", limit=5) == "xy-xy"


def test_a_send_body_becomes_a_command_with_every_placeholder_filled() -> None:
    body = {
        "channel": "deploys",
        "receivers": ["bob", "alice", "bob"],
        "title": "Deployed {{v}}",
        "url": "/releases/{{v}}",
        "actions": [{"label": "Open {{v}}", "url": "/r/{{v}}"}],
        "data": {"v": "2.1 beta", "n": 3},
    }
    command = send_command(body, "key-1")
    request = command.request
    assert (request.channel, request.receivers, request.title) == ("deploys", ["bob", "alice"], "Deployed 2.1 beta")
    assert request.url == "/releases/2.1%20beta" and request.actions[0].label == "Open 2.1 beta"
    assert command.key == "key-1" and command.body_hash == body_hash(body)


def test_a_send_body_is_refused_naming_the_field_in_its_batch() -> None:
    with pytest.raises(ValidationError, match=r"^messages\[2\]\.audience: cannot be given together with receivers$"):
        send_command({"channel": "c", "title": "t", "receivers": ["a"], "audience": "subscribers"}, None, prefix="messages[2].")
    with pytest.raises(ValidationError, match=r"^Idempotency-Key: must be 1 to 255 printable ASCII characters$"):
        send_command({"channel": "c", "title": "t", "receivers": ["a"]}, "é")
    with pytest.raises(ValidationError, match=r"^actions\[0\]\.url: is required$"):
        send_command({"channel": "c", "title": "t", "receivers": ["a"], "actions": [{"label": "x"}]}, None)


def test_the_body_hash_ignores_key_order_only() -> None:
    assert body_hash({"a": 1, "b": [1, 2]}) == body_hash({"b": [1, 2], "a": 1})
    assert body_hash({"a": 1}) != body_hash({"a": "1"})
