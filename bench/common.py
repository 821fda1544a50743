"""What every benchmark shares: environment, the deployed functions' memory, statistics, and the JSON it writes."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-secret-0123456789abcdef-0123456789"
PACKAGES = ("chalice", "pynamodb", "botocore", "moto", "websockets", "PyJWT")
# The deployed functions: their resource in the template, by their name in Chalice.
TEMPLATE_NAMES = {"api_handler": "APIHandler", "deliver": "Deliver", "fan_out": "FanOut",
                  "websocket_connect": "WebsocketConnect", "websocket_message": "WebsocketMessage",
                  "websocket_disconnect": "WebsocketDisconnect"}  # fmt: skip


def local_aws_environment(tables_from_stage: bool = True) -> None:
    """Fake credentials and the dev stage's table names, as the tests use."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "INAPP_JWT_SECRET": SECRET,
        }
    )
    if tables_from_stage:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())
        os.environ.update(config["stages"]["dev"]["environment_variables"])


def memory_sizes() -> tuple[dict[str, int], str]:
    """Each function's MemorySize: the packaged template's (`make package`), else the prod stage it is built from."""
    template = ROOT / "build" / "sam.yaml"
    if template.exists():
        from infra.deploy.cfn_yaml import load

        document = load(template.read_text())
        default = int(document["Globals"]["Function"]["MemorySize"])
        resources = document["Resources"]
        sizes = {n: int(resources[n]["Properties"].get("MemorySize", default)) for n in TEMPLATE_NAMES.values()}
        return sizes, "build/sam.yaml"
    stage = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]
    functions = stage.get("lambda_functions", {})
    default = int(stage["lambda_memory_size"])
    sizes = {t: int(functions.get(c, {}).get("lambda_memory_size", default)) for c, t in TEMPLATE_NAMES.items()}
    return sizes, ".chalice/config.json (prod)"


def machine() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p95": pct(95),
        "p99": pct(99),
        "stdev": statistics.pstdev(ordered) if len(ordered) > 1 else 0.0,
    }


def write(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    directory = out or RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    document = {
        "benchmark": name,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    log(f"wrote {path}")
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def results_dir(argv: list[str]) -> Path | None:
    """``--out DIR`` (smoke runs write elsewhere so real figures are kept)."""
    return Path(argv[argv.index("--out") + 1]) if "--out" in argv else None


def smoke(argv: list[str]) -> bool:
    return "--smoke" in argv or os.environ.get("BENCH_SMOKE") == "1"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
