"""The CLI's client commands (token, send, tail, status), aimed at the running local stack.

They find the stack the way a newcomer would hope: ``INAPP_HTTP_URL`` /
``INAPP_WS_URL`` or the port variables when set, else the state file the
running stack wrote (`infra.local.state`), else the default ports. A failure
is one line on stderr and exit status 1, never a traceback: the usual cause
is a stack that is not running, and the line says so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from inapp_client import InappClient, InappError

from chalicelib.core.auth import USER_ID_RULE, is_user_id
from infra.local import DEV_SECRET
from infra.local.settings import mint
from infra.local.state import banner, read_state, state_file

NOT_RUNNING_HINT = "is `make run` running?"
SECRET_HINT = "start this command and the stack with the same INAPP_JWT_SECRET"


class CommandError(Exception):
    """A failure to report in one line (exit status 1)."""


def secret() -> str:
    """The stack's HS256 secret, to mint tokens with; in JWKS mode there is none to mint with."""
    state = read_state()
    if os.environ.get("INAPP_JWKS_URL") or (state is not None and state.answers() and not state.tokens):
        raise CommandError("the stack checks your identity provider's tokens (INAPP_JWKS_URL): this command mints none")
    return os.environ.get("INAPP_JWT_SECRET") or DEV_SECRET


def _url(variable: str, port_variable: str, scheme: str, default_port: str, from_state: str) -> str:
    if os.environ.get(variable):
        return os.environ[variable].rstrip("/")
    port = os.environ.get(port_variable)
    state = read_state()
    if not port and state is not None:
        return str(getattr(state, from_state)).rstrip("/")
    return f"{scheme}://127.0.0.1:{port or default_port}"


def http_url() -> str:
    return _url("INAPP_HTTP_URL", "INAPP_HTTP_PORT", "http", "8000", "http")


def ws_url() -> str:
    return _url("INAPP_WS_URL", "INAPP_WS_PORT", "ws", "8001", "ws") + "/"


def user_id(value: str, option: str, example: str) -> str:
    """The user a command acts as: an empty one (``make tail USER=``) is named as the problem, not the secret."""
    if not value:
        raise CommandError(f"{option}: the user is missing (empty); name one, e.g. `{example}`")
    if not is_user_id(value):
        raise CommandError(f"{option}: {USER_ID_RULE}")
    return value


def _token(user: str, *, admin: bool = False, hours: float = 24, tenant: str | None = None) -> str:
    """A token for the running stack: of its tenant (or ``tenant``) in its tenant claim when tenants are on."""
    state = read_state()
    claim = os.environ.get("INAPP_TENANT_CLAIM") or (state.tenant_claim if state else None)
    tenant = tenant or (state.tenant if state else None)
    return mint(user, secret(), admin=admin, tenant=tenant, tenant_claim=claim, lifetime_seconds=int(hours * 3600))


def token(args: argparse.Namespace) -> int:
    user = user_id(args.user, "user", "make token USER=carol")
    print(_token(user, admin=args.admin, hours=args.hours, tenant=args.tenant))
    return 0


def _client() -> InappClient:
    """The sender's client (`clients/python`) on the stack's HTTP API, as admin; two quick retries at most."""
    return InappClient(http_url(), _token("admin", admin=True), retries=2, backoff=0.2)


def _failure(error: InappError) -> CommandError:
    base = http_url()
    if error.status == 0:
        return CommandError(f"cannot reach {base} — {NOT_RUNNING_HINT}")
    if not error.from_api:
        return CommandError(f"{base} answered {error.status}, but not as the local stack does — another program?")
    hint = f" — {SECRET_HINT}" if error.status == 401 else ""
    return CommandError(f"{error.status} {error.code}: {error.message}{hint}")


def _data(pairs: list[str]) -> dict[str, str]:
    """``--data key=value`` (repeatable) → the send's ``data`` for ``{{key}}`` placeholders."""
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--data: expected key=value, got {pair!r}")
        data[key] = value
    return data


def _create_channel(client: InappClient, name: str) -> None:
    """The channel, titled after its name, unless it exists already (a 409)."""
    try:
        client.create_channel(name, name.title())
    except InappError as error:
        if error.status != 409 or not error.from_api:
            raise


def send(args: argparse.Namespace) -> int:
    client = _client()
    fields = {name: getattr(args, name) for name in ("content", "url", "duration") if getattr(args, name) is not None}
    try:
        if args.create_channel:
            _create_channel(client, args.channel)
        answer = client.send(
            args.channel, receivers=args.to.split(","), title=args.title, data=_data(args.data or []) or None, **fields
        )
    except InappError as error:
        raise _failure(error) from None
    print(json.dumps(answer))
    return 0


def lambda_url() -> str:
    return _url("INAPP_LAMBDA_URL", "INAPP_LAMBDA_PORT", "http", "8002", "lambda_invoke")


def event(args: argparse.Namespace) -> int:
    """A preset's sample AWS event, as its EventBridge rule hands it to the `send` function (`infra.deploy.presets`)."""
    import boto3  # only here: the other commands start faster without it
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.deploy.presets import sample_send

    client = _client()
    try:
        _create_channel(client, args.channel)
        if args.subscribe:
            client.subscribe(args.channel, add=args.subscribe.split(","))
    except InappError as error:
        raise _failure(error) from None
    payload = sample_send(args.preset, args.channel)
    state = read_state()
    if state is not None and state.tenant:  # tenants on: the event names the stack's tenant, as a caller's must
        payload = {**payload, "tenant": state.tenant}
    functions = boto3.client(
        "lambda", endpoint_url=lambda_url(), region_name="us-east-1", aws_access_key_id="local",
        aws_secret_access_key="local", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip
    try:
        answer = functions.invoke(FunctionName="send", Payload=json.dumps(payload).encode())
    except (BotoCoreError, ClientError):
        raise CommandError(f"cannot reach {lambda_url()} — {NOT_RUNNING_HINT}") from None
    print(answer["Payload"].read().decode())
    return 0


def tail(args: argparse.Namespace) -> int:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
    from websockets.sync.client import connect

    user = user_id(args.user, "--user", "make tail USER=bob")
    url = ws_url()
    try:
        socket = connect(f"{url}?token={_token(user)}", open_timeout=10)
    except InvalidStatus as error:
        status = error.response.status_code
        hint = SECRET_HINT if status == 401 else "another program on that port?"
        raise CommandError(f"{url} refused {user}'s connection ({status}) — {hint}") from None
    except (InvalidHandshake, ConnectionClosed):  # a server that hangs up mid-handshake: either, by timing
        raise CommandError(f"{url} did not answer as the local stack does — another program?") from None
    except (OSError, TimeoutError):
        raise CommandError(f"cannot reach {url} — {NOT_RUNNING_HINT}") from None
    with socket:
        print(f"connected as {user}; waiting for frames (Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            _print_frames(socket)
        except ConnectionClosed as closed:
            code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (1006, "no close frame")
            print(f"the stack closed the connection ({code} {reason})", file=sys.stderr)
    return 0


def _print_frames(socket: Any) -> None:
    while True:
        try:
            frame = socket.recv(timeout=240)
        except TimeoutError:
            socket.send(json.dumps({"action": "ping"}))  # API Gateway closes sockets idle for 10 min
            continue
        print(frame, flush=True)


def status(_: argparse.Namespace) -> int:
    state = read_state()
    if state is None:
        print(f"The local stack is not running (no {state_file()}). Start it with `make run`.")
        return 1
    if not state.answers():
        print(
            f"The local stack is not running: {state.http} does not answer "
            f"({state_file()} is left over from process {state.pid}). Start it with `make run`."
        )
        return 1
    print(f"The local stack is running (process {state.pid}).")
    print(banner(state))
    return 0
