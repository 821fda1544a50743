"""``make fuzz``: schemathesis against the local stack, from the app's own OpenAPI document.

Starts ``python -m infra.local serve`` on ephemeral ports, then runs every
schemathesis check (server errors, schema-valid requests refused,
schema-invalid requests accepted, response conformance, undeclared methods)
with an admin token, bounded in time. Exits with schemathesis' status.

    python -m infra.checks.fuzz [--max-time 120] [--max-examples 40]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from chalicelib.core.auth import issue_token
from infra.checks.target import local_stack

SECRET = "fuzz-secret-0123456789abcdef-0123456789"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.checks.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-time", type=int, default=120, help="seconds for the whole run")
    parser.add_argument("--max-examples", type=int, default=40, help="examples per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    admin = issue_token("admin", SECRET, admin=True)
    with local_stack({"INAPP_JWT_SECRET": SECRET}) as target:
        command = [
            os.path.join(os.path.dirname(sys.executable), "schemathesis"),
            "run",
            f"{target.http_url}/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {admin}",
            "--max-examples",
            str(args.max_examples),
            "--max-time",
            str(args.max_time),
            "--seed",
            str(args.seed),
            "--no-color",
        ]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "infra.checks.fuzz_hooks"}
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
