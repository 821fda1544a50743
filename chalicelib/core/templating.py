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

from chalicelib.core.errors import ValidationError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")


def render(template: str, values: dict[str, str], field: str, *, url: bool = False, limit: int | None = None) -> str:
    """Replace every placeholder of ``template``; a missing key is a 400 on ``data.<key>``.

    ``limit`` stops the filling as soon as the text outgrows it: a body of many
    placeholders and one long value would otherwise build gigabytes before any
    length check could refuse it.
    """
    parts: list[str] = []
    size = 0
    position = 0
    for match in PLACEHOLDER.finditer(template):
        key = match.group(1)
        if key not in values:
            raise ValidationError(f"data.{key}", f"is missing (used in {field})")
        value = quote(values[key], safe="") if url else values[key]
        parts += [template[position : match.start()], value]
        size += match.start() - position + len(value)
        position = match.end()
        if limit is not None and size > limit:
            raise ValidationError(field, f"must be at most {limit} characters once placeholders are filled")
    parts.append(template[position:])
    return "".join(parts)
