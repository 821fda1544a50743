"""``{{name}}`` placeholders filled from a send's ``data``.

A small strict renderer rather than chevron: chevron HTML-escapes ``{{x}}``
(our clients render text, never HTML, so escaping would show ``&amp;``),
renders a missing key as a blank (we must answer 400) and has sections and
partials we do not want senders to use. Here a placeholder is only
``{{ name }}``; values go in as plain text, percent-encoded inside URLs.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from chalicelib.errors import ValidationError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def render(template: str, values: dict[str, str], field: str, *, url: bool = False) -> str:
    """Replace every placeholder of ``template``; a missing key is a 400 on ``data.<key>``."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ValidationError(f"data.{key}", f"is missing (used in {field})")
        return quote(values[key], safe="") if url else values[key]

    return PLACEHOLDER.sub(substitute, template)
