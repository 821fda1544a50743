"""Limits per caller: a user's requests on the ``/me`` routes, a WebSocket connection's frames, one bulk change at a time.

`rate` keeps one token bucket per key (``INAPP_USER_RATE`` a second, a burst of
``INAPP_USER_BURST``) in the connections table, exact across every function
container, for one conditional write per admitted request. `lease` lets one
run at a time hold a key (a user's bulk change), for a conditional write to
take it and one to give it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.limits.lease import Leases as Leases
    from chalicelib.limits.lease import Refused as Refused
    from chalicelib.limits.rate import RateLimit as RateLimit
    from chalicelib.limits.rate import RateLimiter as RateLimiter

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "lease": ("Leases", "Refused"),
            "rate": ("RateLimit", "RateLimiter"),
        },
    )
