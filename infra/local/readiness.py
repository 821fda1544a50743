"""What `make run` checks before it says "ready", and the demo channel it seeds: all through the stack's own endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from infra.local.state import DEMO_CHANNEL, DEMO_CHANNEL_TITLE


def check_ready(http_url: str, management_endpoint: str, lambda_url: str) -> None:
    """Each endpoint answers as it should: the HTTP API's health, the management API's 410, the Invoke endpoint's dry run."""
    with urllib.request.urlopen(f"{http_url}/health", timeout=5) as response:
        assert json.load(response) == {"status": "ok"}
    probe = urllib.request.Request(f"{management_endpoint}/@connections/probe", method="GET")
    try:
        urllib.request.urlopen(probe, timeout=5)
    except urllib.error.HTTPError as error:
        assert error.code == 410
    dry_run = urllib.request.Request(
        f"{lambda_url}/2015-03-31/functions/send/invocations",
        data=b"{}",
        method="POST",
        headers={"X-Amz-Invocation-Type": "DryRun"},
    )
    with urllib.request.urlopen(dry_run, timeout=5) as response:
        assert response.status == 204


def seed_demo_channel(http_url: str, admin: str) -> None:
    """The channel the quick start sends to, created through the API as any admin would (kept if it exists)."""
    body = json.dumps({"name": DEMO_CHANNEL, "title": DEMO_CHANNEL_TITLE}).encode()
    headers = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{http_url}/channels", data=body, method="POST", headers=headers)
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except urllib.error.HTTPError as error:
        if error.code != 409:  # 409: a persistent INAPP_DYNAMODB_ENDPOINT kept it from an earlier run
            raise
