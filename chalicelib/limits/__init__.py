"""Limits per caller: a user's requests on the ``/me`` routes, a WebSocket connection's frames.

`rate` keeps one token bucket per key (``INAPP_USER_RATE`` a second, a burst of
``INAPP_USER_BURST``) in the connections table, exact across every function
container, for one conditional write per admitted request.
"""

from chalicelib.limits.rate import RateLimit, RateLimiter

__all__ = ["RateLimit", "RateLimiter"]
