"""Scenarios 1-3: bulk-invitation throughput (plain and with speedups) and memory vs job size.

Throughput: one server for the whole scenario; each round starts one client process per
configuration and runs, for every concurrency level, the SDK and the raw baseline back to
back, alternating which goes first (A/B, then B/A). Medians over rounds are reported.
Memory: every job size runs alone in a fresh client process (ru_maxrss is a high-water mark).
"""

from __future__ import annotations

import importlib.util
import statistics
from collections.abc import Callable
from typing import Any

from _procs import run_worker

SATURATED = 0.90  # server CPU share of one core above which it may be the bottleneck
LATENCY_MS = 20  # the "realistic" rows: the server answers after this long
WORKER_TIMEOUT = 600.0  # seconds for one throughput client process, all of its jobs
Progress = Callable[[str], None]


def speedups_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("uvloop", "orjson"))


def configs() -> dict[str, dict[str, str]]:
    found = {"plain": {"loop": "asyncio", "json": "std"}}
    if speedups_available():
        found["speedups"] = {"loop": "uvloop", "json": "orjson"}
    return found


def _jobs(config: str, levels: list[int], n: int, round_: int) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    for index, c in enumerate(levels):
        count = max(200, n // 3) if c == 1 else n  # c=1 is latency-bound: fewer, same time
        pair = ["raw", "sdk"] if (round_ + index) % 2 == 0 else ["sdk", "raw"]
        jobs += [{"kind": kind, "n": count, "c": c} for kind in pair]
    if config == "plain" and 50 in levels:  # what the ledger choices cost, and real latency
        jobs += [{"kind": kind, "n": n, "c": 50} for kind in ("sdk_null", "sdk_ledger")]
        pair = ["raw", "sdk"] if round_ % 2 == 0 else ["sdk", "raw"]
        jobs += [{"kind": k, "n": n // 2, "c": 50, "latency_ms": LATENCY_MS} for k in pair]
    if round_ == 0:
        jobs[0]["samples"] = jobs[1]["samples"] = True  # keep bodies to prove they match
    return jobs


def throughput(
    url: str, levels: list[int], n: int, rounds: int, progress: Progress
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    warmups = [{"kind": kind, "n": 200, "c": 10} for kind in ("raw", "sdk")]
    names = list(configs())
    for round_ in range(rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            spec = {
                "base_url": url,
                **configs()[name],
                "warmups": warmups,
                "jobs": _jobs(name, levels, n, round_),
            }
            _, results = run_worker(spec, WORKER_TIMEOUT)
            for result in results:
                result.update(config=name, round=round_)
                _check(result)
            rows += results
            progress(f"round {round_ + 1}/{rounds} {name}: " + _brief(results))
    return rows


def _check(result: dict[str, Any]) -> None:
    expected = 2 * result["n"]
    if result["requests"] != expected or result["sent"] != result["n"]:
        raise RuntimeError(f"expected {expected} requests and {result['n']} sent: {result}")


def _brief(results: list[dict[str, Any]]) -> str:
    runs = ", ".join(f"{r['kind']}@{r['c']} {r['n'] / r['wall']:.0f}/s" for r in results)
    busiest = max(r["server_cpu"] / r["wall"] for r in results)
    warning = " SERVER SATURATED" if busiest >= SATURATED else ""
    return f"{runs} (invitations/s; server CPU at most {busiest:.0%} of a core{warning})"


def summarize(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, float]]:
    """Medians per (config, kind, concurrency) over rounds."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for row in rows:
        kind = row["kind"] + ("@latency" if row.get("latency_ms") else "")
        groups.setdefault((row["config"], kind, row["c"]), []).append(row)
    summary = {}
    for key, runs in groups.items():

        def med(fn: Callable[[dict[str, Any]], float], runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(fn(r) for r in runs)

        summary[key] = {
            "inv_s": med(lambda r: r["n"] / r["wall"]),
            "req_s": med(lambda r: r["requests"] / r["wall"]),
            "cpu_us": med(lambda r: r["cpu"] / r["requests"] * 1e6),
            "client_share": med(lambda r: r["cpu"] / r["wall"]),
            "server_share": med(lambda r: r["server_cpu"] / r["wall"]),
            "rounds": len(runs),
        }
    return summary


def memory(url: str, sizes: list[int], naive_max: int, progress: Progress) -> list[dict[str, Any]]:
    config = configs().get("speedups", configs()["plain"])
    rows = []
    kinds = [(kind, size) for size in sizes for kind in ("sdk", "naive")]
    for kind, size in kinds:
        if kind == "naive" and size > naive_max:
            continue
        timeout = 120 + size / 250  # generous: 250 invitations/s would be very slow
        job = {"kind": kind, "n": size, "c": 200, "timeout": timeout}
        spec = {"base_url": url, **config, "jobs": [job]}
        ready, (result,) = run_worker(spec, timeout + 30)
        _check(result)
        result["start_maxrss_mb"] = ready["start_maxrss_mb"]
        rows.append(result)
        progress(
            f"memory {kind} {size:,}: peak RSS {result['maxrss_mb']:.1f} MB "
            f"in {result['wall']:.0f} s"
        )
    return rows
