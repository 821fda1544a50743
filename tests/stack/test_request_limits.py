"""The local stack holds users to the same request limits as deployed: 20 a second, a burst of 100 (the defaults).

No clock can be frozen in the stack's process, so each test floods until the
limit answers and checks what a token bucket allows over the time it took:
at least the burst, at most the burst plus 20 a second of it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from chalicelib.core.auth import issue_token
from infra.local.running import RunningStack
from tests.conftest import SECRET

RATE, BURST = 20, 100
FLOOD = 1000  # far past what 20 a second refill while the stack answers them


def _get(stack: RunningStack, path: str, token: str) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(stack.urls["http"] + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_a_users_requests_past_the_burst_get_429_with_retry_after_and_others_do_not(stack: RunningStack) -> None:
    flooder = issue_token("limit-flooder", SECRET, admin=True)
    started, admitted = time.monotonic(), 0
    for _ in range(FLOOD):
        status, headers, body = _get(stack, "/me/preferences", flooder)
        if status != 200:
            break
        admitted += 1
    elapsed = time.monotonic() - started
    assert status == 429, f"{admitted} requests in {elapsed:.1f} s, none refused"
    assert headers["Retry-After"] == "1"
    message = f"rate: at most {RATE} requests a second per user (a burst of {BURST}); retry after 1 s"
    assert body == {"Code": "TooManyRequestsError", "Message": message}
    assert BURST <= admitted <= BURST + RATE * elapsed + 1
    assert _get(stack, "/me/preferences", issue_token("limit-bystander", SECRET))[0] == 200
    assert _get(stack, "/channels", flooder)[0] == 200  # an admin route: not counted


def test_a_connections_frames_past_the_burst_get_error_frames_and_another_connection_does_not(stack: RunningStack) -> None:
    """Frames that reach ``$default`` (pings are the gateway's own: they run no function and take nothing)."""
    token = issue_token("limit-pinger", SECRET)
    frame = '{"action":"hello"}'
    with stack.socket(token) as flooded, stack.socket(token) as quiet:
        started = time.monotonic()
        for _ in range(300):
            flooded.send(frame)
        answers = [json.loads(flooded.recv(timeout=30)) for _ in range(300)]
        elapsed = time.monotonic() - started
        answered = [a for a in answers if a.get("message", "").startswith("action: unknown action")]
        refused = [a for a in answers if a.get("message", "").startswith("rate:")]
        assert len(answered) + len(refused) == 300
        assert BURST <= len(answered) <= BURST + RATE * elapsed + 1
        message = f"rate: at most {RATE} frames a second per connection (a burst of {BURST}); retry after 1 s"
        assert refused and refused[0] == {"type": "error", "message": message, "retryAfter": 1}
        quiet.send(frame)
        assert json.loads(quiet.recv(timeout=10))["message"].startswith("action: unknown action")
