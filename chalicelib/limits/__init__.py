"""Limits per caller: a user's requests on the ``/me`` routes, a WebSocket connection's frames, one bulk change at a time.

`rate` keeps one token bucket per key (``INAPP_USER_RATE`` a second, a burst of
``INAPP_USER_BURST``) in the connections table, exact across every function
container, for one conditional write per admitted request. `lease` lets one
run at a time hold a key (a user's bulk change), for a conditional write to
take it and one to give it back.
"""

from chalicelib.limits.lease import Leases, Refused
from chalicelib.limits.rate import RateLimit, RateLimiter

__all__ = ["Leases", "RateLimit", "RateLimiter", "Refused"]
