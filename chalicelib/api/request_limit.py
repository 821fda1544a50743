"""The per-user request limit of the ``/me`` routes: ``user()`` is `principal` plus the limit.

Each verified user gets ``INAPP_USER_RATE`` requests a second with a burst of
``INAPP_USER_BURST`` (`chalicelib.limits`); past it, the answer is a 429 in
Chalice's error shape with ``Retry-After``. A token that fails verification
is refused (401) before anything is counted, so forged tokens fill nobody's
bucket. Admin routes call `admin` and keep the stage's throttling only.

A bulk change runs inside `one_bulk_at_a_time`: the user's lease
(`chalicelib.limits.Leases`), so one user's bulk changes never run side by
side and never add their paces up; a second one meanwhile is a 429 with
``Retry-After`` (the page and the JS client wait it out and go on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chalicelib import limits
from chalicelib.api.edge import Request, principal
from chalicelib.core.auth import Principal
from chalicelib.core.errors import RateLimitedError

if TYPE_CHECKING:
    from chalicelib.limits import Leases, RateLimiter

# A bulk run takes seconds (10 s of writes at most), its lease up to 30 (a run that died keeps it): the next one
# is told to come back soon, not when the lease would end, so a second tab is not starved by the first's loop.
BULK_RETRY_SECONDS = 2


def _no_limit() -> RateLimiter | None:
    return None


def _no_leases() -> Leases | None:
    return None


# None: no limit, no lease. The composition root (app.py) points them at the container's.
_limiter: Callable[[], RateLimiter | None] = _no_limit
_leases: Callable[[], Leases | None] = _no_leases


def use_request_limit(provider: Callable[[], RateLimiter | None], leases: Callable[[], Leases | None] = _no_leases) -> None:
    """Wire the ``/me`` routes to the container's per-user request limit and bulk leases (called once, by app.py)."""
    global _limiter, _leases
    _limiter, _leases = provider, leases


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


@contextmanager
def one_bulk_at_a_time(caller: Principal) -> Iterator[None]:
    """The caller's bulk change, alone: a 429 with ``Retry-After`` while another of theirs runs."""
    leases = _leases()
    if leases is None:
        yield
        return
    try:
        with leases.hold(f"bulk#{caller.user_id}"):  # refused on entry only
            yield
    except limits.Refused as refused:
        wait = min(refused.retry_after, BULK_RETRY_SECONDS)
        message = f"bulk: one bulk change at a time per user; another is running; retry after {wait} s"
        raise RateLimitedError(message, wait) from None
