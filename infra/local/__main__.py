"""python -m infra.local COMMAND: the local stack (serve) and small clients for it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from infra.local import commands, repairs
from infra.local.state import banner, remove_state

DESCRIPTION = "The local stack of the in-app message service, and small clients for it."
EPILOG = """examples:
  python -m infra.local serve                 start everything (what `make run` runs)
  python -m infra.local status                where the running stack is, and its demo tokens
  python -m infra.local send --channel deploys --to alice,bob --title "Deployed {{version}}" --data version=2.14.0
  python -m infra.local tail --user alice     print alice's frames as they arrive
  python -m infra.local token alice           a fresh token for the inbox page's sign-in
  python -m infra.local recount --user alice  rewrite alice's counters from her messages (a repair)
"""


def serve(args: argparse.Namespace) -> int:
    """Start the stack, print where it is, wait for Ctrl-C or SIGTERM, stop it (≤ 1 s, no traceback)."""
    from chalicelib.core.errors import ConfigurationError
    from infra.local.settings import PortInUseError, StackSettings
    from infra.local.stack import LocalStack

    if args.faults is not None:
        os.environ["INAPP_FAULTS"] = args.faults

    try:
        settings = StackSettings.from_env()
    except ValueError as error:  # e.g. INAPP_LOG_FORMAT=yaml
        raise commands.CommandError(str(error)) from None
    stack = LocalStack(settings)
    try:
        stack.start()
    except PortInUseError as error:
        print(f"error: a port is already in use ({error}); set INAPP_HTTP_PORT/INAPP_WS_PORT/INAPP_LAMBDA_PORT", file=sys.stderr)
        return 1
    except ConfigurationError as error:  # e.g. INAPP_JWKS_URL without INAPP_JWT_ISSUER
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: stop what already runs
        stack.stop()
        return 130
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    users = {} if stack.settings.jwks_url else {"admin": True, "alice": False, "bob": False}  # JWKS: none to mint
    state = stack.state({user: stack.settings.mint(user, admin=admin) for user, admin in users.items()})
    try:
        state.write()
        print(banner(state))
        print("ready", flush=True)
        stopping.wait()
        print("stopping", flush=True)
    finally:
        stack.stop()
        remove_state(os.getpid())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_cmd = subcommands.add_parser("serve", help="start the whole local stack")
    serve_cmd.add_argument("--faults", metavar="LIST", help="inject faults: gone=0.02,throttle=0.03,replay=5 …")
    serve_cmd.set_defaults(run=serve)
    subcommands.add_parser("status", help="say whether the stack runs, and where").set_defaults(run=commands.status)
    token_cmd = subcommands.add_parser("token", help="print a token (JWT) for a user")
    token_cmd.add_argument("user")
    token_cmd.add_argument("--admin", action="store_true", help="may manage channels and send")
    token_cmd.add_argument("--hours", type=float, default=24, help="lifetime (default: 24)")
    token_cmd.add_argument("--tenant", help="the tenant claim (default: the running stack's, when tenants are on)")
    token_cmd.set_defaults(run=commands.token)
    send_cmd = subcommands.add_parser("send", help="send a message through the running stack as admin")
    send_cmd.add_argument("--channel", required=True)
    send_cmd.add_argument("--to", required=True, metavar="USERS", help="comma-separated user ids")
    send_cmd.add_argument("--title", required=True)
    send_cmd.add_argument("--content")
    send_cmd.add_argument("--url", help="an http(s) URL or a /path of your app")
    send_cmd.add_argument("--duration", type=int, help="seconds the toast stays (0: until closed)")
    send_cmd.add_argument("--data", action="append", metavar="KEY=VALUE", help="fills {{KEY}} in title, content and url")
    send_cmd.add_argument("--create-channel", action="store_true", help="create the channel first if it is missing")
    send_cmd.set_defaults(run=commands.send)
    event_cmd = subcommands.add_parser("event", help="an EventBridge preset's sample AWS event into a channel, by `send`")
    event_cmd.add_argument("--preset", required=True, choices=["pipeline", "health"], help="CodePipeline failure, AWS Health")
    event_cmd.add_argument("--channel", default="ops", help="created if missing (default: ops)")
    event_cmd.add_argument("--subscribe", metavar="USERS", help="comma-separated user ids to subscribe first")
    event_cmd.set_defaults(run=commands.event)
    tail_cmd = subcommands.add_parser("tail", help="print the frames a user's socket receives")
    tail_cmd.add_argument("--user", required=True)
    tail_cmd.set_defaults(run=commands.tail)
    recount_cmd = subcommands.add_parser("recount", help="recompute a user's counters from their items (a repair)")
    recount_cmd.add_argument("--user", required=True)
    recount_cmd.set_defaults(run=repairs.recount)
    forget_cmd = subcommands.add_parser("forget-user", help="delete a user's messages, counters and connections")
    forget_cmd.add_argument("--user", required=True)
    forget_cmd.set_defaults(run=repairs.forget_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except commands.CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C ends `tail`, or stops anything else: not an error worth a traceback
        return 130


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Every part has been stopped and reaped by now; skipping the interpreter's
    # teardown of the stack's objects (~0.5 s here) keeps Ctrl-C within a second.
    os._exit(status)
