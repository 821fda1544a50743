"""Placeholders: strict, plain text, percent-encoded in urls."""

from __future__ import annotations

import pytest

from chalicelib.errors import ValidationError
from chalicelib.templating import render


def test_render_is_strict_and_plain() -> None:
    assert render("{{a}}-{{ b }}", {"a": "<x>", "b": "y"}, "title") == "<x>-y"
    assert render("/p/{{a}}", {"a": "a b/c"}, "url", url=True) == "/p/a%20b%2Fc"
    assert render("{{#section}}x{{/section}}", {}, "title") == "{{#section}}x{{/section}}"
    with pytest.raises(ValidationError, match=r"data\.missing: is missing \(used in content\)"):
        render("{{missing}}", {}, "content")
