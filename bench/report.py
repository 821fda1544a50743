"""Regenerate docs/benchmarks.md's figures from bench/results/*.json (no figure typed by hand)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.coldstart import FLOOR_WITHOUT_PYC, LIBRARIES_NAME, WITHOUT_PYC, first_label
from bench.common import RESULTS, ROOT

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def _zip(megabytes: float | None) -> str:
    return "no zip built." if not megabytes else f"deployment.zip {megabytes:.2f} MB (target ≤ 5 MB)."


def _load(name: str, directory: Path) -> dict[str, Any] | None:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def render(directory: Path = RESULTS) -> str:
    lines: list[str] = []
    posts, cost, e2e, cold = (_load(n, directory) for n in ("posts", "cost", "e2e", "coldstart"))
    throughput = _load("throughput", directory)
    if posts and "cpu" in posts:
        c = posts["cpu"]
        lines += [
            f"**CPU per post** (`bench/posts.py`, {posts['written']}): one thread, {c['posts']} posts per way, "
            f"ways interleaved, median of {c['repeats']} (target ≤ 0.1 ms for ours).",
            "",
            "| way | CPU ms per post (median) | min | max |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {name} | **{v['median']:.3f}** | {v['min']:.3f} | {v['max']:.3f} |" for name, v in c["cpu_ms_per_post"].items()
        ]
        lines += ["", f"botocore's client costs **{c['ratio']:.1f}×** ours per post.", ""]
    if posts:
        r = posts["result"]
        lines += [
            f"**Posting frames** (`bench/posts.py`, {posts['written']}, {posts['machine']['cores']} cores): "
            f"{r['posts']} posts, stand-in answering in {r['delay_ms']:.0f} ms, median of {posts['repeats']}.",
            "",
            "| post delay | ours (median) | baseline | speed-up |",
            "|---|---|---|---|",
        ]
        lines += [f"| {d['delay']} | {d['ours']} | {d['baseline']} | **{d['ratio']}** |" for d in posts["delays"]]
        lines += ["", "| delay | workers | seconds |", "|---|---|---|"]
        lines += [f"| {s['delay_ms']:.0f} ms | {s['workers']} | {s['seconds']:.3f} |" for s in posts["sweep"]]
        lines.append("")
    if cost:
        lines += [
            f"**DynamoDB cost** (`bench/cost.py`, {cost['written']}): calls counted, request units estimated "
            f"(on-demand us-east-1 prices as of {cost['prices']['as_of']}: ${cost['prices']['wru_per_million']}/M WRU, "
            f"${cost['prices']['rru_per_million']}/M RRU).",
            "",
            "| operation | calls | floor / budget | est. WRU | WRU before | est. RRU |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {o['operation']} | {o['calls']} | {o['floor']} | {o['wru']:.0f} | {_before(o)} | {o['rru']:.1f} |"
            for o in cost["operations"]
        ]
        per = cost["per_message"]
        lines += [
            "",
            f"≈ **{per['wru']:.2f} WRU per delivered message** (the first layout: {per.get('wru_before', 0):.2f}) → "
            f"**${per['usd_per_million']:.2f} per million messages** written, the stream's counts included.",
            "",
            *_all_in(cost),
        ]
    if e2e:
        a, q, p = e2e["latency_ms_from_202"], e2e["latency_ms_from_request"], e2e["parameters"]
        lines += [
            f"**End to end** (`bench/e2e.py`, {e2e['written']}): local stack, {p['clients']} WebSocket clients, "
            f"{p['sends']} sends × {p['receivers_per_send']} receivers at {p['sends_per_second']:.0f}/s; "
            f"frames lost: **{e2e['lost']}** of {e2e['frames_expected']}; "
            f"peak RSS: stack {e2e['stack_memory_kib']['VmHWM'] / 1024:.0f} MiB, "
            f"Lambda runtime {e2e['stack_memory_kib'].get('runtime_VmHWM', 0) / 1024:.0f} MiB, "
            f"DynamoDB emulator {e2e['stack_memory_kib'].get('emulator_VmHWM', 0) / 1024:.0f} MiB.",
            "",
            "| latency | p50 | p95 | p99 | max |",
            "|---|---|---|---|---|",
            f"| from the 202 | {a['median']:.1f} ms | {a['p95']:.1f} ms | {a['p99']:.1f} ms | {a['max']:.1f} ms |",
            f"| from the request | {q['median']:.1f} ms | {q['p95']:.1f} ms | {q['p99']:.1f} ms | {q['max']:.1f} ms |",
            "",
        ]
    if throughput:
        lines += _throughput(throughput)
    lines += _broadcast(_load("broadcast", directory))
    lines += _broadcast_on_read(_load("broadcast_on_read", directory))
    if cold:
        lines += _cold_start(cold)
    return "\n".join(lines).rstrip() + "\n"


def _cold_start(cold: dict[str, Any]) -> list[str]:
    """``import app`` (the init phase) and, the target's measure, init plus the first request's imports."""
    s, first = cold["seconds"], cold.get("first_request_ratios", {})
    floor = s["import botocore.session"]["median"] * 1000
    routes = ", ".join(
        f"{route} {s[first_label(route)]['median'] * 1000:.0f} ms → {value:.2f}×" for route, value in first.items()
    )
    lines = [
        f"**Cold start** (`bench/coldstart.py`, {cold['written']}, {cold['repeats']} runs each, against "
        f"`import botocore.session` {floor:.0f} ms): `import app` {s['import app']['median'] * 1000:.0f} ms → "
        f"{cold['ratio']:.2f}× (the init phase: routes registered, each package loaded on first use); a new "
        f"container's first request adds what its route imports (PyJWT with cryptography, PynamoDB, Powertools, "
        f"our modules): {routes} — **{cold.get('cold_start_ratio', cold['ratio']):.2f}×** for the heaviest "
        f"(target ≤ 1.3×); " + _zip(cold["deployment_zip_mb"]),
        "",
    ]
    if "libraries_ratio" in cold:
        lines += [
            f"The libraries every first request imports before a module of ours (`botocore.session`, PyJWT with "
            f"cryptography, Powertools' EMF) are {s[LIBRARIES_NAME]['median'] * 1000:.0f} ms "
            f"alone → {cold['libraries_ratio']:.2f}×; the heaviest first request is "
            f"**{cold['first_request_over_libraries']:.2f}×** of them.",
            "",
        ]
    if cold.get("ratio_without_pyc"):
        lines += [
            f"These import with every `.pyc` written first: importing, not compiling. Without `.pyc` for the zip's "
            f"modules (Lambda's `/var/task` is read-only, so it compiles them at every cold start), the first "
            f"{cold['route_without_pyc']}: {s[WITHOUT_PYC]['median'] * 1000:.0f} ms vs "
            f"{s[FLOOR_WITHOUT_PYC]['median'] * 1000:.0f} ms → **{cold['ratio_without_pyc']:.2f}×**.",
            "",
        ]
    return lines


def _usd(value: float) -> str:
    return f"${value:.2f}" if value >= 0.005 or value == 0 else "<$0.01"


def _all_in(cost: dict[str, Any]) -> list[str]:
    if "all_in_usd_per_million" not in cost:
        return []
    p, prices, idle, floor = cost["all_in_parameters"], cost["price_table"], cost["idle"], cost["all_in_lambda_duration_own_cpu"]
    cases = {
        "one_receiver": f"one receiver ({p['one_receiver_sends']} sends)",
        "thousand_receivers": f"{p['thousand_receivers']:,} receivers",
        "broadcast": f"audience of {p['broadcast_subscribers']:,} ({p['broadcast_online']:,} online)",
    }
    lines = [
        f"**All-in cost per million delivered messages** (`bench/cost.py`, {cost['written']}): every receiver with one "
        f"open socket but in the audience send; an Idempotency-Key on every send; Lambda billed on the CPU measured in "
        f"process around each handler (moto's answers to its calls included; the functions' own CPU alone would make the "
        f"GB-s column {' / '.join(_usd(v) for v in floor.values())}) times the MemorySize in {p['memory_from']}; "
        f"us-east-1 prices as of {prices['as_of']}.",
        "",
        "| case | REST API + WAF (deployed) | HTTP API | API Gateway | Lambda requests | Lambda GB-s | DynamoDB "
        "| WebSocket messages | SQS | frames posted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case, bill in cost["all_in_breakdown"].items():
        usage = cost["all_in_usage"][case]
        frames = ", ".join(f"{kind} {n:,}" for kind, n in sorted(usage["frames"].items()))
        lines.append(
            f"| {cases.get(case, case)} | **{_usd(cost['all_in_usd_per_million'][case])}** "
            f"| {_usd(cost['all_in_http_api_usd_per_million'][case])} | "
            + " | ".join(_usd(v) for v in bill["rest"].values())
            + f" | {frames} |"
        )
    hours = idle["usd_per_million_connected_hours"]
    lines += [
        "",
        f"Idle socket, per million connected hours: connection minutes {_usd(idle['connection_minutes'])}, a ping every "
        f"{idle['ping_interval_minutes']:g} min answered by a Lambda function {_usd(sum(idle['pings_by_lambda'].values()))} "
        f"or by a MOCK route {_usd(sum(idle['pings_by_mock_route'].values()))}, a reconnect every 2 hours with a "
        f"catch-up {_usd(sum(idle['reconnects_every_2_hours'].values()))}: **{_usd(hours['ping_by_lambda'])}** with pings "
        f"by Lambda, **{_usd(hours['ping_by_mock_route'])}** by a MOCK route; the client's overlapping new socket instead "
        f"(no catch-up) {_usd(sum(idle.get('rotations_every_2_hours', {}).values()))}: "
        f"**{_usd(hours.get('ping_by_mock_route_rotating', float('nan')))}** as deployed"
        + "".join(f" (before — {name[len('before: ') :]}: {_usd(v)})" for name, v in hours.items() if name.startswith("before"))
        + ".",
        "",
    ]
    return lines


def _before(operation: dict[str, Any]) -> str:
    before = operation.get("before")
    return "" if before is None else f"{before:.0f}"


def _throughput(t: dict[str, Any]) -> list[str]:
    p, rate = t["parameters"], t["deliveries_per_second"]
    lines = [
        f"**Delivery throughput** (`bench/throughput.py`, {t['written']}): local stack, {p['clients']} sockets, "
        f"{p['sends']} sends one after another, each to all {p['receivers_per_send']} users; median of {t['repeats']}: "
        f"**{rate['median']:.0f} deliveries/s** (min {rate['min']:.0f}, max {rate['max']:.0f}; target ≥ 500), "
        f"frames lost: **{t['lost']}**.",
        "",
        "| run | deliveries/s | seconds | sends took | "
        + " | ".join(f"CPU {n}" for n in t["cpu_share_of_a_core"])
        + " | stack / runtime / emulator CPU ms per delivery | reference ms |",
        "|---|---|---|---|" + "---|" * len(t["cpu_share_of_a_core"]) + "---|---|",
    ]
    for i, r in enumerate(t["runs"]):
        shares = " | ".join(f"{r['cpu_share_of_a_core'][n]:.0%}" for n in t["cpu_share_of_a_core"])
        per = r["cpu_ms_per_delivery"]
        lines.append(
            f"| {i + 1} | {r['deliveries_per_second']:.0f} | {r['seconds']:.2f} s | {r['sends_seconds']:.2f} s | {shares} | "
            f"{per['stack']:.2f} / {per.get('runtime', 0):.2f} / {per.get('emulator', 0):.2f} | {r.get('reference_ms', 0):.0f} |"
        )
    return [*lines, ""]


def _broadcast(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    p, calls = result["parameters"], result["dynamodb_calls"]
    done, last = result["seconds_202_to_done"], result["seconds_202_to_last_frame"]
    return [
        f"**Broadcast** (`bench/broadcast.py`, {result['written']}): local stack, an audience send to "
        f"{p['subscribers']:,} subscribers of whom {p['online']:,} have an open socket; frames lost: "
        f"**{result['lost']}** of {result['frames_expected']}; peak RSS: stack {result['memory_kib']['VmHWM'] / 1024:.0f} MiB, "
        f"Lambda runtime {result['memory_kib'].get('runtime_VmHWM', 0) / 1024:.0f} MiB, "
        f"emulator {result['memory_kib']['emulator_VmHWM'] / 1024:.0f} MiB.",
        "",
        "| 202 → log done | 202 → last frame | DynamoDB calls / recipient | est. WRU / recipient |",
        "|---|---|---|---|",
        f"| {'—' if done is None else f'{done:.1f} s'} | {'—' if last is None else f'{last:.1f} s'} "
        f"| {result['dynamodb_calls_per_recipient']:.3f} | {result['estimated_wru_per_recipient']:.2f} |",
        "",
        "Calls by kind (worker and delivery): " + ", ".join(f"{k} {v:,}" for k, v in calls.items()) + ".",
        "",
    ]


def _broadcast_on_read(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    p = result["parameters"]
    done, last = result["seconds_202_to_done"], result["seconds_202_to_last_frame"]
    return [
        f"**Broadcast on read** (`python -m bench.broadcast --subscribers {p['subscribers']} --online {p['online']}`, "
        f"{result['written']}): the same, to a channel over `INAPP_BROADCAST_THRESHOLD`: stored once; frames lost: "
        f"**{result['lost']}** of {result['frames_expected']}; counts other than a recount of the unread list: "
        f"**{result['counts_off']}** of {result['counts_sampled']} sampled subscribers.",
        "",
        "| request → 202 | DynamoDB writes by the 202 (calls / est. WRU) | 202 → log done | 202 → last frame |",
        "|---|---|---|---|",
        f"| {result['request_to_202_seconds'] * 1000:.0f} ms | {result['dynamodb_write_calls_by_202']} / "
        f"{result['estimated_wru_by_202']:.0f} | {'—' if done is None else f'{done:.2f} s'} "
        f"| {'—' if last is None else f'{last:.1f} s'} |",
        "",
    ]


BENCHMARKS_DOC = ROOT / "docs" / "benchmarks.md"


def update_doc(directory: Path = RESULTS, doc: Path = BENCHMARKS_DOC) -> None:
    """Replace the figures between the markers; the prose around them stays as written."""
    text = doc.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{START}\n{render(directory)}{END}{tail}")


if __name__ == "__main__":
    update_doc()
    sys.exit(0)
