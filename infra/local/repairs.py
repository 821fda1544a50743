"""``recount`` and ``forget-user``: `chalicelib.inbox.repair` run against a stack's tables.

Which tables: when ``INAPP_INBOX_TABLE`` (and the other table variables) are
set, the environment decides — a deployed stack's tables with AWS
credentials, or any endpoint through ``INAPP_DYNAMODB_ENDPOINT``. Otherwise
the running local stack: its DynamoDB endpoint from the state file, and the
dev stage's table names.
"""

from __future__ import annotations

import argparse
import json
import os

from infra.local.commands import NOT_RUNNING_HINT, CommandError
from infra.local.state import read_state

ROOT_CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", ".chalice", "config.json")


def _bind() -> None:
    """Point the models at the chosen tables (see the module's docstring)."""
    from chalicelib.core.config import TABLE_VARIABLES, load_settings
    from chalicelib.storage.tables import bind_models

    if not os.environ.get(TABLE_VARIABLES["inbox"]):
        state = read_state()
        if state is None or not state.answers():
            raise CommandError(f"no tables named (INAPP_INBOX_TABLE…) and no local stack answers — {NOT_RUNNING_HINT}")
        with open(ROOT_CONFIG, encoding="utf-8") as handle:
            dev = json.load(handle)["stages"]["dev"]["environment_variables"]
        for name in TABLE_VARIABLES.values():
            os.environ[name] = dev[name]
        os.environ["INAPP_DYNAMODB_ENDPOINT"] = state.dynamodb
        os.environ.setdefault("INAPP_JWT_SECRET", "unused-by-repairs")  # settings want one; repairs verify no token
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ):
            os.environ.setdefault(name, value)
    bind_models(load_settings())


def recount(args: argparse.Namespace) -> int:
    """Print each counter that changed, before → after; nothing when all were right."""
    from chalicelib.inbox.repair import recount_user

    _bind()
    changes = recount_user(args.user)
    for channel, change in changes.items():
        print(f"{channel}: {json.dumps(change['before'])} -> {json.dumps(change['after'])}")
    print(f"recounted {args.user}: {len(changes)} counter(s) corrected")
    return 0


def forget_user(args: argparse.Namespace) -> int:
    from chalicelib.inbox.repair import forget_user as forget

    _bind()
    deleted = forget(args.user)
    print(f"forgot {args.user}: " + ", ".join(f"{count} {kind}" for kind, count in deleted.items()))
    return 0
