"""What the docs tell an operator agrees with the code and with the deploy command.

Each of these drifted once: a command that names another stack than the one
docs/deploy.md creates, a tombstone lifetime the code had changed, a retry
path described with a read the code no longer makes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.inbox.states import TOMBSTONE_LIFETIME
from chalicelib.sending.group_write import MESSAGES_PER_TRANSACTION
from tests import packaging

DOCS = sorted((packaging.ROOT / "docs").glob("*.md"))


def _text(path: Path) -> str:
    return " ".join(path.read_text().split())  # line breaks as spaces: sentences wrap anywhere


def deployed_stack() -> str:
    deploy = (packaging.ROOT / "docs" / "deploy.md").read_text()
    (stack,) = set(re.findall(r"aws cloudformation deploy [^`]*?--stack-name ([\w-]+)", deploy))
    return stack


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_names_the_stack_the_deploy_command_creates(doc: Path) -> None:
    text = doc.read_text()
    for stack in re.findall(r"--stack-name ([\w-]+)", text) + re.findall(r"/aws/(?:lambda|apigateway)/([\w-]+)/", text):
        assert stack in (deployed_stack(), "STACK"), stack  # STACK: a placeholder, spelled as one


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_tombstones_live_as_long_as_the_code_keeps_them(doc: Path) -> None:
    for lifetime in re.findall(r"tombstone[^|.]{0,40}?\b(\d+|a|one) days?\b", _text(doc)):
        assert lifetime == str(TOMBSTONE_LIFETIME.days), doc.name
    for lifetime in re.findall(r"`deleted#<id>` \(expiring after (\d+|a|one) days?", _text(doc)):
        assert lifetime == str(TOMBSTONE_LIFETIME.days), doc.name


def test_the_send_retry_is_described_as_the_conditional_writes_it_is() -> None:
    """group_write's retry reads nothing: a conditional put and three condition checks per receiver."""
    design = _text(packaging.ROOT / "docs" / "design.md")
    (row,) = re.findall(r"\| send to R receivers \|[^|]*\|", design)
    assert f"a retry: ⌈R/{MESSAGES_PER_TRANSACTION}⌉ `TransactWriteItems` instead" in row
    assert "BatchGetItem" not in row
    retry = design[design.index("A retry, unlike a first attempt") : design.index("Without an Idempotency-Key")]
    assert "BatchGetItem" not in retry and "condition checks" in retry and f"{MESSAGES_PER_TRANSACTION} receivers" in retry


def test_the_deploy_docs_count_the_tables_the_template_creates() -> None:
    template = packaging.merge_template()
    tables = [name for name, r in template["Resources"].items() if r.get("Type") == "AWS::DynamoDB::Table"]
    words = {5: "five", 6: "six", 7: "seven", 8: "eight"}
    assert f"- the {words[len(tables)]} tables (" in (packaging.ROOT / "docs" / "deploy.md").read_text()
