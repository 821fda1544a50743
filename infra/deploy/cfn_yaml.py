"""CloudFormation YAML read and written the way ``aws cloudformation package`` does.

The AWS CLI reads a template with a safe loader that turns short-form tags
(``!Ref``, ``!GetAtt A.B``, ``!Sub``) into their long form and keeps key
order, and writes it back block-style, 4096 columns wide, with every YAML
alias expanded. So a template's size on the way to CloudFormation is the size
of that re-dump, not of the file on disk: anchors save nothing.
"""

from __future__ import annotations

from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags as long-form dicts."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if suffix == "GetAtt" and isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node).split(".", 1)}
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _intrinsic)


class _ExpandingDumper(yaml.SafeDumper):
    """Never writes an anchor or alias: every repeated value is written out again."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def load(text: str) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    return template


def dump_expanded(template: dict[str, Any]) -> str:
    return yaml.dump(template, Dumper=_ExpandingDumper, default_flow_style=False, sort_keys=False, width=4096)
