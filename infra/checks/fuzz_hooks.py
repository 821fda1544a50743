"""Schemathesis hooks for ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``).

A ``cursor`` is opaque and signed (bound to the caller and the query): no
value a generator can make from its pattern is valid, so a generated cursor
is refused with 400 ``cursor: …`` by design. Those cases are left out, and
that one answer to them is not counted as a failure (the coverage phase does
not apply ``filter_query``). Cursors are covered by the test suite
(tampered, another user's, other filters).

Likewise a time relative to now: ``expiresAt`` (1 minute to the retention
ahead) and ``snoozedUntil`` (1 minute to 90 days ahead) are ``date-time``
strings in the schema, which cannot say "ahead of now"; a generated time
outside the window is refused with 400 naming the field by design, and
that answer is not counted either (the test suite covers both bounds).
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    return not query or not query.get("cursor")


RELATIVE_TIMES = ("expiresAt: must be from 1 minute to", "snoozedUntil: must be from 1 minute to", "expiresAt: must be at most")


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except a generated cursor refused as a cursor, or a generated time outside its window."""
    if response.status_code != 400:
        return True
    try:
        message = str(response.json().get("Message", ""))
    except ValueError:
        return True
    if (case.query or {}).get("cursor") and message.startswith("cursor: "):
        return False
    return not message.startswith(RELATIVE_TIMES)
