"""The SAM transform, run offline: what CloudFormation will expand build/sam.yaml into.

cfn-lint checks ``AWS::Serverless::*`` resources by their own schema but does
not run the transform, so it cannot see what SAM adds or leaves out (an
extra ``Stage`` stage, an ``ApiGateway::Deployment`` per API, the mapping's
``AWS::Lambda::EventSourceMapping``, the gateway responses in the OpenAPI
body). ``aws-sam-translator`` is the library CloudFormation's transform runs;
this writes its output (of the template as ``aws cloudformation package``
leaves it) so cfn-lint and the tests can read it. No AWS call:
managed-policy names are never looked up (every role here is written by hand).

Usage: ``python -m infra.deploy.transform [build/sam.yaml] [--out build/transformed.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from infra.deploy.package import as_cli_packages

ROOT = Path(__file__).resolve().parents[2]


class _NoManagedPolicies:
    """Stands in for samtranslator's IAM-backed loader; nothing here names a managed policy."""

    def load(self) -> dict[str, str]:
        return {}


def transform(template: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """``template`` (SAM) → plain CloudFormation, as the ``AWS::Serverless-2016-10-31`` transform writes it."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    from samtranslator.translator.transform import transform as sam_transform

    result: dict[str, Any] = sam_transform(template, {}, _NoManagedPolicies())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("template", nargs="?", default=str(ROOT / "build" / "sam.yaml"))
    parser.add_argument("--out", default=str(ROOT / "build" / "transformed.json"))
    args = parser.parse_args(argv)
    transformed = transform(as_cli_packages(Path(args.template).read_text()))
    Path(args.out).write_text(json.dumps(transformed, indent=1, sort_keys=True))
    kinds = sorted({r["Type"] for r in transformed["Resources"].values()})
    print(f"{args.out}: {len(transformed['Resources'])} resources ({', '.join(kinds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
