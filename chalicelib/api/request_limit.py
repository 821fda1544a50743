"""The per-user request limit of the ``/me`` routes: ``user()`` is `principal` plus the limit.

Each verified user gets ``INAPP_USER_RATE`` requests a second with a burst of
``INAPP_USER_BURST`` (`chalicelib.limits`); past it, the answer is a 429 in
Chalice's error shape with ``Retry-After``. A token that fails verification
is refused (401) before anything is counted, so forged tokens fill nobody's
bucket. Admin routes call `admin` and keep the stage's throttling only.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.api.edge import Request, principal
from chalicelib.core.auth import Principal
from chalicelib.core.errors import RateLimitedError
from chalicelib.limits import RateLimiter


def _no_limit() -> RateLimiter | None:
    return None


# None: no limit. The composition root (app.py) points it at the container's limiter.
_limiter: Callable[[], RateLimiter | None] = _no_limit


def use_request_limit(provider: Callable[[], RateLimiter | None]) -> None:
    """Wire the ``/me`` routes to the container's per-user request limit (called once, by app.py)."""
    global _limiter
    _limiter = provider


def user(request: Request | None) -> Principal:
    """The verified caller of a ``/me`` route, within their request limit (a 429 with ``Retry-After`` beyond it)."""
    caller = principal(request)
    limiter = _limiter()
    wait = limiter.admit(f"user#{caller.user_id}") if limiter else 0
    if limiter and wait:
        limit = limiter.limit
        message = f"rate: at most {limit.rate} requests a second per user (a burst of {limit.burst}); retry after {wait} s"
        raise RateLimitedError(message, wait)
    return caller
