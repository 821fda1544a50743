"""A client for senders: channels, subscribers and sends over the inbox's HTTP API (standard library only).

>>> client = InappClient("https://abc.execute-api.eu-west-1.amazonaws.com/api", token)
>>> client.create_channel("deployments", "Deployments")
>>> client.subscribe("deployments", add=["alice", "bob"])
>>> sent = client.send("deployments", receivers=["alice"], title="Build 42 is live")
>>> client.send_log(sent["id"])["status"]
'done'

Every send carries an ``Idempotency-Key`` (one is generated when you give
none), so retrying it — on a 429, a 5xx, a timeout or a dropped connection,
after ``Retry-After`` when the answer has one — never stores it twice.
Reads and subscriber changes are retried the same way (they change nothing
twice); creating a channel is retried only on a 429, which does nothing.
Every other answer outside 2xx raises `InappError`.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["InappClient", "InappError"]

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
STILL_RUNNING = "still running"  # a 409 for a key whose first request has not finished: retried like a 429


class InappError(Exception):
    """An answer outside 2xx (or no answer after the retries): ``status`` (0 without one), ``code``, ``message``.

    ``from_api``: the answer was the API's error shape (``{"Code": …, "Message": …}``); False for no answer,
    or one from something else at that address (a proxy's page: ``code`` is then its reason phrase).
    """

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None, *, from_api: bool = True) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, when the answer said (a 429's Retry-After)
        self.from_api = from_api


class InappClient:
    """The inbox's admin HTTP API as a sender uses it. ``token``: a JWT whose roles include ``admin``.

    ``retries`` extra attempts after the first (waits of ``backoff`` × 2ⁿ seconds with jitter, at most
    ``max_wait``, or the answer's ``Retry-After``); ``timeout`` seconds per attempt.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._max_wait = max_wait
        self._sleep = sleep

    # --- channels and subscribers ---------------------------------------------------------------

    def create_channel(self, name: str, title: str, description: str | None = None) -> dict[str, Any]:
        """201 → the channel; a name that exists raises `InappError` 409."""
        body: dict[str, Any] = {"name": name, "title": title}
        if description is not None:
            body["description"] = description
        # Only a 429 did nothing for sure: after a 5xx or a timeout the channel may exist (the retry would be a 409).
        return self._call("POST", "/channels", body, retried=frozenset({429}), retry_unanswered=False)

    def subscribe(self, channel: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> dict[str, Any]:
        """Add and remove subscribers → ``{added, removed}`` (real changes only: calling it again changes nothing)."""
        body = {"add": list(add), "remove": list(remove)}
        return self._call("POST", f"/channels/{_segment(channel)}/subscribers", body)

    # --- sends ----------------------------------------------------------------------------------

    def send(
        self,
        channel: str,
        *,
        receivers: Iterable[str] | None = None,
        audience: str | None = None,
        title: str,
        content: str | None = None,
        url: str | None = None,
        data: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Send to ``receivers`` (user ids) or an ``audience`` (``"subscribers"``) → the 202 body.

        ``fields``: the send body's other fields by their API names (``mobileUrl``, ``severity``,
        ``actions``, ``duration``…). The same ``idempotency_key`` with the same body returns the
        first answer however often it is sent; one is generated for each call that gives none.
        """
        body: dict[str, Any] = {"channel": channel, "title": title, **fields}
        if receivers is not None:
            body["receivers"] = list(receivers)
        if audience is not None:
            body["audience"] = audience
        if content is not None:
            body["content"] = content
        if url is not None:
            body["url"] = url
        if data is not None:
            body["data"] = dict(data)
        key = idempotency_key or f"inapp-client-{uuid.uuid4()}"
        return self._call("POST", "/messages", body, headers={"Idempotency-Key": key}, retry_conflicts=True)

    def send_log(self, send_id: str) -> dict[str, Any]:
        """A send's log entry: ``{id, channel, status, recipients, stored, …}``."""
        return self._call("GET", f"/messages/{_segment(send_id)}")

    # --- the one way every call goes ------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        retried: frozenset[int] = RETRIED_STATUSES,
        retry_unanswered: bool = True,
        retry_conflicts: bool = False,
    ) -> dict[str, Any]:
        """One call, retried on ``retried`` statuses, on no answer, and on a 409 "still running" for a send."""
        for attempt in range(self._retries + 1):
            try:
                return self._once(method, path, body, headers or {})
            except InappError as error:
                again = error.status in retried or (error.status == 0 and retry_unanswered)
                again = again or (retry_conflicts and error.status == 409 and STILL_RUNNING in error.message)
                if attempt == self._retries or not again:
                    raise
                self._sleep(self._wait(attempt, error.retry_after))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_wait)
        doubled = self._backoff * float(2**attempt)
        return min(doubled * (0.5 + random.random() / 2), self._max_wait)

    def _once(self, method: str, path: str, body: Mapping[str, Any] | None, headers: Mapping[str, str]) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as answer:
            raise _error_of(answer) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            raise InappError(0, "ConnectionError", str(getattr(error, "reason", error)), from_api=False) from None
        return json.loads(text) if text else {}


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _error_of(answer: urllib.error.HTTPError) -> InappError:
    """The API's error shape, ``{"Code": …, "Message": …}``; anything else keeps its text."""
    text = answer.read().decode("utf-8", "replace")
    try:
        shape = json.loads(text)
    except ValueError:
        shape = {}
    if not isinstance(shape, dict):
        shape = {}
    try:
        retry_after: float | None = max(0.0, float(answer.headers.get("Retry-After", "")))
    except ValueError:  # absent, or an HTTP date (the API sends seconds)
        retry_after = None
    code, message = str(shape.get("Code", answer.reason)), str(shape.get("Message", text[:500]))
    return InappError(answer.code, code, message, retry_after, from_api="Code" in shape)
