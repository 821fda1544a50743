"""Schemathesis hooks for ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS``).

A ``cursor`` is opaque and signed (bound to the caller and the query): no
value a generator can make from its pattern is valid, so a generated cursor
is refused with 400 ``cursor: …`` by design. Those cases are left out, and
that one answer to them is not counted as a failure (the coverage phase does
not apply ``filter_query``). Cursors are covered by the test suite
(tampered, another user's, other filters).
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_query(context: Any, query: dict[str, Any] | None) -> bool:
    return not query or not query.get("cursor")


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except "a generated cursor was refused as a cursor"."""
    if not (case.query or {}).get("cursor") or response.status_code != 400:
        return True
    try:
        message = response.json().get("Message", "")
    except ValueError:
        return True
    return not str(message).startswith("cursor: ")
