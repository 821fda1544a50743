"""Fixtures: credentials, moto, tables, the Chalice test client, tokens, call counts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from chalice.test import Client, HTTPResponse
from chalice.test import TestLambdaClient as LambdaClient  # renamed: pytest would try to collect Test*
from moto import mock_aws

from chalicelib import service
from chalicelib.core.auth import issue_token
from chalicelib.core.config import load_settings
from chalicelib.realtime.poster import Outcome
from chalicelib.storage import dynamo as storage
from chalicelib.storage.inbox_tables import UNREAD, InboxMessage, UserCounts
from chalicelib.storage.tables import Connection, create_tables
from infra.local import moto as emulator
from infra.local.lambdas.queue_poller import QueuePoller, Queues, create_queues
from infra.local.running import RunningStack
from tests.e2e import CHROMIUM, FLAGS
from tests.events import CountsKeeper, StreamTap, ws_event
from tests.foreign_host import ForeignHost, vendored
from tests.openapi_check import OpenApiChecker
from tests.standin import ManagementStandIn

emulator.apply()  # the same patched moto as `make run`'s emulator

ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
DEV_ENV = CHALICE_CONFIG["stages"]["dev"]["environment_variables"]
SECRET = "tests-only-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, the dev stage's settings, and fresh lazy singletons."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "INAPP_JWT_SECRET": SECRET,
        # No shared post budget: the tests that pin DynamoDB calls per request count the route's own;
        # tests/service/realtime/test_budget.py has it on, and so do the local stack and the chaos run.
        "INAPP_POST_BUDGET": "0",
        # No per-user request limit either: the same tests pin the calls of each route, and many send
        # hundreds of requests a second; tests/service/limits/ and test_edge's limit tests turn it on.
        "INAPP_USER_RATE": "0",
        **DEV_ENV,
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "INAPP_JWKS_URL",
        "INAPP_DYNAMODB_ENDPOINT",
        "INAPP_CURSOR_SECRET",
        "INAPP_WS_ENDPOINT",
        "INAPP_FANOUT_QUEUE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    service.reset()
    yield
    service.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def queues(aws: None, monkeypatch: pytest.MonkeyPatch) -> Queues:
    """The fan-out queue and its dead-letter queue in moto, and the service pointed at them."""
    import boto3

    # Visibility 0: a step that failed comes back at the next receive, so tests need not wait.
    created = create_queues(boto3.client("sqs", region_name="us-east-1"), "inapp-dev-fanout", visibility_seconds=0)
    monkeypatch.setenv("INAPP_FANOUT_QUEUE_URL", created.url)
    service.reset()
    return created


@pytest.fixture
def tables(queues: Queues) -> None:
    create_tables(load_settings())


@pytest.fixture(scope="session")
def openapi() -> OpenApiChecker:
    return OpenApiChecker()


class Api:
    """Chalice's test client with auth headers, JSON bodies and OpenAPI checks."""

    COUNTED_PATHS = ("/me/unread-count", "/me/channels")

    def __init__(self, client: Client, checker: OpenApiChecker) -> None:
        self._client = client
        self._checker = checker
        self.counts = CountsKeeper()
        self.settle_counts = True  # off where the stream's own calls must not count as the route's

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        raw: str | None = None,
        headers: dict[str, str] | None = None,
        documented: bool = True,
    ) -> HTTPResponse:
        """One request; its answer checked against openapi.yaml unless ``documented`` is off (a broken deployment's)."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else ("" if json_body is None else json.dumps(json_body))
        if self.settle_counts and path.startswith(self.COUNTED_PATHS):
            self.counts.catch_up()  # counts follow the stream: let it catch up first
        response = self._client.http.request(method.upper(), path, headers=sent, body=body.encode("utf-8"))
        if documented and method.upper() != "OPTIONS":
            self._checker.check(method, path, response.status_code, response.json_body)
        return response

    def send_message(self, token: str, body: Any, key: str | None = None) -> HTTPResponse:
        """``POST /messages``, with an Idempotency-Key when given."""
        return self.call("POST", "/messages", token=token, json_body=body, headers={"Idempotency-Key": key} if key else None)

    def unread_count(self, token: str) -> Any:
        return self.call("GET", "/me/unread-count", token=token).json_body

    def message_ids(self, token: str, query: str = "") -> list[str]:
        """The ids of one page of ``GET /me/messages`` with ``query`` (``?status=unread``…), in order."""
        return [m["id"] for m in self.call("GET", f"/me/messages{query}", token=token).json_body["items"]]

    def change_message(self, token: str, message_id: str, body: dict[str, Any]) -> Any:
        """``PATCH /me/messages/{id}``, which must answer 200."""
        response = self.call("PATCH", f"/me/messages/{message_id}", token=token, json_body=body)
        assert response.status_code == 200, response.json_body
        return response.json_body


@pytest.fixture
def api(tables: None, openapi: OpenApiChecker) -> Iterator[Api]:
    from app import app

    with Client(app, stage_name="dev") as client:
        yield Api(client, openapi)


@pytest.fixture
def admin_token() -> str:
    return issue_token("admin-1", SECRET, admin=True)


def deliver_and_replay(lambdas: LambdaClient, batch: dict[str, Any]) -> dict[str, Any]:
    """Deliver a batch, then replay it as Lambda may — its tail, then all of it — and check nothing moved.

    Lambda retries from the first failed record and re-runs the ones after it, so every effect of
    the handler on storage must be safe to repeat. Replayed posts are answered "sent" without
    reaching the stand-in, so the frames a test counts are those of the first delivery.
    """
    result: dict[str, Any] = lambdas.invoke("deliver", batch).payload
    before = _stored_state()
    handler = service.get_delivery()
    real_post = handler._post
    handler._post = lambda connection_id, payload: Outcome.SENT
    try:
        for replay in ({**batch, "Records": batch["Records"][len(batch["Records"]) // 2 :]}, batch):  # the same shard
            lambdas.invoke("deliver", replay)
    finally:
        handler._post = real_post
    assert _stored_state() == before, "a replayed batch changed counters or connections"
    return result


def _stored_state() -> tuple[list[Any], list[Any]]:
    import boto3

    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=UserCounts.Meta.table_name)["Items"]
    counters = sorted(sorted((name, str(value)) for name, value in item.items()) for item in items)
    connections = sorted((c.pk, sorted(c.connections or [])) for c in Connection.scan())
    return counters, connections


def assert_counts_exact(*users: str) -> None:
    """Once the stream has caught up, every user's counts equal a recount of their items."""
    from chalicelib import counts
    from chalicelib.inbox.repair import tally

    CountsKeeper().catch_up()
    for user in users:
        stored, expected = counts.read(user, consistent=True), tally(user)
        assert (stored.numbers(), stored.muted) == (expected.numbers(), expected.muted), user


ERROR_CODES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    409: "ConflictError",
    429: "TooManyRequestsError",
}


def inbox_items(user: str) -> list[InboxMessage]:
    """Every item of the user's inbox partition, straight from the table."""
    return list(InboxMessage.query(user))


def write_unread(user: str, count: int, content: str = "") -> None:
    """Unread messages of ``news`` written straight to the table (the send path is tested elsewhere)."""
    with InboxMessage.batch_write() as batch:
        for i in range(count):
            message = InboxMessage(
                user,
                f"01M8{i:022d}",
                channel="news",
                channel_title="News",
                title="t",
                content=content,
                created_at="2026-11-24T00:00:00.000Z",
                user_channel=f"{user}#news",
                expires_at=timedelta(days=1),
            )
            message.set_status(UNREAD, None)
            batch.save(message)


def assert_error(response: HTTPResponse, status: int, message: str) -> None:
    """The whole error answer: its status, and Chalice's ``{Code, Message}`` body."""
    assert (response.status_code, response.json_body) == (status, {"Code": ERROR_CODES[status], "Message": message})


class TokenFactory(Protocol):
    def __call__(self, user: str, admin: bool = False) -> str: ...


class SendFactory(Protocol):
    def __call__(self, receivers: list[str], title: str = "Hello", channel: str = "news", **fields: Any) -> dict[str, Any]: ...


@pytest.fixture
def token() -> TokenFactory:
    """Factory: a user's token."""
    return lambda user, admin=False: issue_token(user, SECRET, admin=admin)


class TenantTokenFactory(Protocol):
    def __call__(self, user: str, tenant: str, admin: bool = False) -> str: ...


TENANT_CLAIM = "tenant"


@pytest.fixture
def tenant_token(api: Api, monkeypatch: pytest.MonkeyPatch) -> TenantTokenFactory:
    """Tenants on (``INAPP_TENANT_CLAIM``), and a factory of tokens carrying the tenant claim."""
    monkeypatch.setenv("INAPP_TENANT_CLAIM", TENANT_CLAIM)
    service.reset()
    return lambda user, tenant, admin=False: issue_token(user, SECRET, admin=admin, tenant=tenant, tenant_claim=TENANT_CLAIM)


@pytest.fixture
def channel(api: Api, admin_token: str) -> str:
    response = api.call("POST", "/channels", token=admin_token, json_body={"name": "news", "title": "News"})
    assert response.status_code == 201
    return "news"


@pytest.fixture
def send(api: Api, admin_token: str) -> SendFactory:
    """Factory: send a message and return the response body (asserting 202)."""

    def _send(receivers: list[str], title: str = "Hello", channel: str = "news", **fields: Any) -> dict[str, Any]:
        body = {"channel": channel, "receivers": receivers, "title": title, **fields}
        response = api.call("POST", "/messages", token=admin_token, json_body=body)
        assert response.status_code == 202, response.json_body
        answer: dict[str, Any] = response.json_body
        return answer

    return _send


class CallCounter:
    """Counts DynamoDB API calls made through the models' botocore clients."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()


@pytest.fixture
def dynamodb_calls(api: Api) -> CallCounter:
    """Registers a ``before-call`` hook on every model's client."""
    counter = CallCounter()
    for client in storage.botocore_clients():
        client.meta.events.register("before-call.dynamodb", counter)
    return counter


class Worker:
    """Lambda's SQS mapping for the fan-out worker, in the test's process: receive, invoke, delete on success."""

    def __init__(self, poller: QueuePoller, client: Any, queues: Queues) -> None:
        self.poller = poller
        self.client = client
        self.queues = queues

    def drain(self, max_steps: int = 10_000) -> int:
        """Run steps until the queue is empty (or a failing step has been tried ``max_steps`` times); how many ran."""
        steps = 0
        while steps < max_steps and self.poller.poll_once():
            steps += 1
        return steps

    def dead_letters(self) -> list[str]:
        answer = self.client.receive_message(QueueUrl=self.queues.dead_letter_url, MaxNumberOfMessages=10)
        return [m["Body"] for m in answer.get("Messages", [])]


@pytest.fixture
def worker(lambdas: LambdaClient, queues: Queues) -> Worker:
    import boto3

    client = boto3.client("sqs", region_name="us-east-1")
    poller = QueuePoller(client, queues, lambda event: lambdas.invoke("fan_out", event).payload, "us-east-1")
    return Worker(poller, client, queues)


# --- real-time delivery ----------------------------------------------------


@pytest.fixture
def standin(tables: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementStandIn]:
    """The management-API stand-in, and the service's endpoint pointed at it."""
    server = ManagementStandIn().start()
    monkeypatch.setenv("INAPP_WS_ENDPOINT", server.endpoint)
    service.reset()
    yield server
    server.stop()


class ConnectFactory(Protocol):
    def __call__(self, user: str, *connection_ids: str) -> None: ...


@pytest.fixture
def connect(lambdas: LambdaClient, standin: ManagementStandIn, token: TokenFactory) -> ConnectFactory:
    """Factory: open WebSocket connections for a user through ``$connect`` (asserting each is accepted)."""

    def _connect(user: str, *connection_ids: str) -> None:
        for connection_id in connection_ids:
            answer = lambdas.invoke("ws_connect", ws_event("$connect", connection_id, token=token(user))).payload
            assert answer == {"statusCode": 200}

    return _connect


@pytest.fixture
def lambdas(api: Api) -> Iterator[LambdaClient]:
    """Chalice's test client for non-HTTP handlers: ``lambdas.invoke(name, event)``."""
    from app import app

    with Client(app, stage_name="dev") as client:
        yield client.lambda_


@pytest.fixture
def stream(tables: None) -> StreamTap:
    return StreamTap()


# --- the local stack, once per test session ------------------------------------------


@pytest.fixture(scope="session")
def foreign_host() -> Iterator[ForeignHost]:
    """A web app of another origin embedding the element (tests/browser/hosts/), on a second loopback port."""
    host = ForeignHost(SECRET)
    yield host
    host.stop()


@pytest.fixture(scope="session")
def stack(foreign_host: ForeignHost) -> Iterator[RunningStack]:
    """``python -m infra.local serve`` in a subprocess, with a ``general`` channel; the foreign host's origin
    is allowed (CORS) besides the dev stage's, and its pages load the element from this stack."""
    origins = f"{DEV_ENV['INAPP_CORS_ORIGINS']},{foreign_host.origin}"
    running = RunningStack(SECRET, {"INAPP_CORS_ORIGINS": origins})
    foreign_host.api = running.urls["http"]
    status, _ = running.http(
        "POST", "/channels", issue_token("admin", SECRET, admin=True), {"name": "general", "title": "General"}
    )
    assert status == 201
    yield running
    running.stop()


# --- the inbox page in headless Chromium -----------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Factory: a page in a context of its own (``browser.new_context``'s options); every context closed after the test."""
    contexts = []

    def _new(**options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def open_inbox(new_page: Any, stack: RunningStack) -> Any:
    """Factory: a signed-in, connected inbox page for a user (each call a new context: another device).

    ``page.requested`` lists the page's API calls as ``"GET /me/unread-count"``, from the first;
    ``page.frame_types`` the ``type`` of every frame its sockets received.
    """

    def _open(user: str, width: int = 1280, height: int = 800) -> Any:
        page = new_page(viewport={"width": width, "height": height})
        page.requested, page.frame_types = [], []
        page.on("request", lambda r: page.requested.append(f"{r.method} {urlsplit(r.url).path}"))
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: page.frame_types.append(json.loads(data)["type"])))
        page.goto(f"{stack.urls['http']}/#token={issue_token(user, SECRET)}")
        page.locator("#connection[data-state='open']").wait_for(timeout=10_000)
        return page

    return _open


def recording(page: Any) -> Any:
    """``page``, recording its uncaught errors (``page.errors``) and failed responses (``page.failures``)."""
    page.errors, page.failures = [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("response", lambda r: page.failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return page


@pytest.fixture
def page(new_page: Any) -> Any:
    """A fresh page that records its uncaught errors and failed responses (``recording``)."""
    return recording(new_page(viewport={"width": 1280, "height": 800}))


@pytest.fixture
def host_page(new_page: Any, stack: RunningStack, foreign_host: ForeignHost) -> Any:
    """Factory: a host page (``plain``, ``react``, ``vue``) signed in as ``user``, its errors and failures recorded."""

    def _open(name: str, user: str, **options: Any) -> Any:
        if not vendored(name):
            pytest.skip(f"{name}'s framework is not installed (make install runs npm ci in tests/browser/hosts)")
        foreign_host.user = user
        page = recording(new_page(viewport={"width": 1100, "height": 700}, **options))
        page.goto(f"{foreign_host.origin}/{name}.html")
        page.locator("#connection[data-state='open']").wait_for(state="attached", timeout=10_000)
        return page

    return _open
