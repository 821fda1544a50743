"""Where the running local stack is: a small JSON file the stack writes and the CLI reads.

``make run`` picks its ports at start (8000–8002 unless told otherwise, any
free port with ``0``). A second terminal should not have to repeat them, so
the stack writes its URLs and demo tokens to ``.inapp-local.json`` in the
repository root (git-ignored, readable by its owner only) and removes it on
a clean stop; ``status``, ``send`` and ``tail`` read it. ``INAPP_STATE_FILE``
moves it (the tests run several stacks at once).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_FILE = ROOT / ".inapp-local.json"
DEMO_CHANNEL = "deploys"
DEMO_CHANNEL_TITLE = "Deployments"
JWKS_NOTE = (
    "JWKS mode (INAPP_JWKS_URL): tokens come from your identity provider, so this stack minted none\n"
    "and did not seed the demo channel; sign in on the pages with a token of yours (#token=…)."
)


def state_file() -> Path:
    return Path(os.environ.get("INAPP_STATE_FILE") or DEFAULT_STATE_FILE)


@dataclass(frozen=True)
class StackState:
    """What a second terminal needs: the stack's process, URLs and demo tokens."""

    pid: int
    http: str
    ws: str
    management: str
    lambda_invoke: str
    dynamodb: str
    in_memory: bool
    tokens: dict[str, str]
    tenant_claim: str | None = None  # tenants on: the CLI's tokens carry `tenant` in this claim
    tenant: str | None = None

    def write(self) -> Path:
        """Write atomically, readable by the owner only (it holds tokens)."""
        path = state_file()
        temporary = path.with_name(path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)
        temporary.replace(path)
        return path

    def answers(self) -> bool:
        """Whether the HTTP API at ``http`` answers ``/health`` now (the file may outlive a killed stack)."""
        try:
            with urllib.request.urlopen(f"{self.http}/health", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def read_state() -> StackState | None:
    """The state file's contents, or None when there is none (or it is not ours to read)."""
    try:
        return StackState(**json.loads(state_file().read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def remove_state(pid: int) -> None:
    """Remove the file if this process wrote it (another stack may have written it since)."""
    state = read_state()
    if state is not None and state.pid == pid:
        state_file().unlink(missing_ok=True)


def banner(state: StackState) -> str:
    """What ``serve`` prints once ready, and ``status`` prints again."""
    if not state.tokens:  # JWKS mode
        return "\n".join([*_endpoints(state, f"{state.http}/admin"), JWKS_NOTE, _status_hint()])
    users = [name for name in state.tokens if name != "admin"]
    lines = [
        *_endpoints(state, f"{state.http}/admin#token={state.tokens['admin']}"),
        *([f"Tenants on ({state.tenant_claim} claim): these tokens are tenant '{state.tenant}'."] if state.tenant else []),
        f"Demo channel '{DEMO_CHANNEL}' ({DEMO_CHANNEL_TITLE}) is ready: `make send` sends to it.",
        f"Inbox links (open {users[0]}'s, then `make send` in a second terminal):",
        *[f"  {name:<6} {state.http}/#token={state.tokens[name]}" for name in users],
        "For curl, paste into a second terminal (tokens valid 24 h):",
        f"  export API={state.http}",
        *[f"  export {name.upper()}={token}" for name, token in state.tokens.items()],
        _status_hint(),
    ]
    return "\n".join(lines)


def _endpoints(state: StackState, admin_console: str) -> list[str]:
    dynamodb = f"{state.dynamodb} (embedded moto: in memory, gone when the stack stops)" if state.in_memory else state.dynamodb
    return [
        "In-app messages — local stack",
        f"  HTTP API        {state.http}",
        f"  Inbox page      {state.http}/",
        f"  Admin console   {admin_console}",
        f"  WebSocket       {state.ws}?token=<JWT>",
        f"  Management API  {state.management}",
        f"  Lambda Invoke   {state.lambda_invoke}  (FunctionName 'send' or 'inapp-dev-send')",
        f"  DynamoDB        {dynamodb}",
    ]


def _status_hint() -> str:
    return f"`make status` prints this again (from {_shown(state_file())})."


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
