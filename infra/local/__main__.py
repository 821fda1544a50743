"""``python -m infra.local <command>``: serve, token, send, tail."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

from chalicelib.auth import issue_token
from infra.local.stack import DEV_SECRET, LocalStack, PortInUseError, StackSettings


def _secret() -> str:
    return os.environ.get("INAPP_JWT_SECRET") or DEV_SECRET


def serve(_: argparse.Namespace) -> int:
    stack = LocalStack(StackSettings.from_env())
    try:
        stack.start()
    except PortInUseError as error:
        print(
            f"error: a port is already in use ({error}); set INAPP_HTTP_PORT/INAPP_WS_PORT/INAPP_LAMBDA_PORT",
            file=sys.stderr,
        )
        return 1
    secret = stack.settings.jwt_secret
    tokens = {
        "admin": issue_token("admin", secret, admin=True),
        "alice": issue_token("alice", secret),
        "bob": issue_token("bob", secret),
    }
    print(stack.banner(tokens))
    print("ready", flush=True)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    print("stopping", flush=True)
    stack.stop()
    return 0


def token(args: argparse.Namespace) -> int:
    print(issue_token(args.user, _secret(), admin=args.admin, lifetime_seconds=int(args.hours * 3600)))
    return 0


def _http_url() -> str:
    return os.environ.get("INAPP_HTTP_URL") or f"http://127.0.0.1:{os.environ.get('INAPP_HTTP_PORT', '8000')}"


def _call(method: str, path: str, body: Any, admin_token: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        _http_url() + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def send(args: argparse.Namespace) -> int:
    admin = issue_token("admin", _secret(), admin=True)
    if args.create_channel:
        status, answer = _call("POST", "/channels", {"name": args.channel, "title": args.channel.title()}, admin)
        if status not in (201, 409):
            print(json.dumps(answer), file=sys.stderr)
            return 1
    body: dict[str, Any] = {"channel": args.channel, "receivers": args.to.split(","), "title": args.title}
    for field in ("content", "url", "duration"):
        if getattr(args, field) is not None:
            body[field] = getattr(args, field)
    status, answer = _call("POST", "/messages", body, admin)
    print(json.dumps(answer))
    return 0 if status == 202 else 1


def tail(args: argparse.Namespace) -> int:
    from websockets.sync.client import connect

    ws_url = os.environ.get("INAPP_WS_URL") or f"ws://127.0.0.1:{os.environ.get('INAPP_WS_PORT', '8001')}/"
    user_token = issue_token(args.user, _secret())
    with connect(f"{ws_url}?token={user_token}") as socket:
        print(f"connected as {args.user}; waiting for frames (Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            while True:
                try:
                    frame = socket.recv(timeout=240)
                except TimeoutError:
                    socket.send(json.dumps({"action": "ping"}))  # API Gateway closes sockets idle for 10 min
                    continue
                print(frame, flush=True)
        except KeyboardInterrupt:
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start the whole local stack").set_defaults(run=serve)
    token_cmd = commands.add_parser("token", help="print a JWT for a user")
    token_cmd.add_argument("user")
    token_cmd.add_argument("--admin", action="store_true")
    token_cmd.add_argument("--hours", type=float, default=24)
    token_cmd.set_defaults(run=token)
    send_cmd = commands.add_parser("send", help="send a message through the running stack's HTTP API")
    send_cmd.add_argument("--channel", required=True)
    send_cmd.add_argument("--to", required=True, help="comma-separated user ids")
    send_cmd.add_argument("--title", required=True)
    send_cmd.add_argument("--content")
    send_cmd.add_argument("--url")
    send_cmd.add_argument("--duration", type=int)
    send_cmd.add_argument("--create-channel", action="store_true", help="create the channel first if it is missing")
    send_cmd.set_defaults(run=send)
    tail_cmd = commands.add_parser("tail", help="print the frames a user's socket receives")
    tail_cmd.add_argument("--user", required=True)
    tail_cmd.set_defaults(run=tail)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
