"""Placeholders: strict, plain text, percent-encoded in urls."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import ValidationError
from chalicelib.core.templating import render


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
