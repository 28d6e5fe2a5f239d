"""Scenario "instructions": client instructions per request under callgrind, the stable figure.

CPU time swings with whatever else the machine runs; the number of instructions the client
executes does not (much). Each client runs ``_worker.py`` (one job, no warm-up) under
``valgrind --tool=callgrind`` against a ``_server.py`` of its own, in its own process (not
under valgrind).
Every configuration runs at ``n`` and ``2n`` invitations; the difference, over the ``2n``
requests it adds, is the per-request figure with start-up, imports and the token pre-flight
excluded. Callgrind counts user-space instructions of all threads (the SQLite ledger's writer
thread included); time spent in the kernel (socket calls, fsync) is not in it.

    python benchmarks/run.py --scenarios instructions [--icount-n 400]
    python benchmarks/_instructions.py [n] [raw,sdk,...] [parallel runs]  # printed only
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _procs

HERE = Path(__file__).resolve().parent
CONCURRENCY = 50
CLIENT_TIMEOUT = 600.0  # seconds per request: under callgrind on a busy machine 30 s can pass
# name -> (loop, json, worker job kind); the SDK rows all use ``ledger=None`` but "ledger"
CONFIGS: dict[str, tuple[str, str, str]] = {
    "raw": ("asyncio", "std", "raw"),
    "sdk": ("asyncio", "std", "sdk"),
    "sdk+speedups": ("uvloop", "orjson", "sdk"),
    "raw+speedups": ("uvloop", "orjson", "raw"),
    "sdk+ledger": ("asyncio", "std", "sdk_ledger"),
    "sdk+null": ("asyncio", "std", "sdk_null"),  # NullLedger: what the in-run ledger costs
}
DEFAULT = ("raw", "sdk", "sdk+speedups", "raw+speedups", "sdk+ledger")
# Jobs of n and 2n invitations. Up to 8,192 keys the in-run ledger keeps every row in memory
# (``_KEEP`` in hero_async/bulk/_spill.py); what its spill costs a larger job per request is
# measured with ``_overhead.py 8192`` (benchmarks/README.md, round 3).
DEFAULT_N = 400
Progress = Callable[[str], None]


def available() -> str | None:
    """Why the scenario cannot run here, or None."""
    return None if shutil.which("valgrind") else "valgrind is not installed"


def _speedups() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) for name in ("uvloop", "orjson"))


def count(config: str, n: int, timeout: float) -> int:
    """Instructions the client process executed for one job of ``n`` invitations, against
    a server of its own (runs go in parallel: each one resets its server's counters)."""
    with _procs.own_server() as (url, _):
        return _count(url, config, n, timeout)


def _count(url: str, config: str, n: int, timeout: float) -> int:
    with tempfile.TemporaryDirectory(prefix="hero-icount-") as folder:
        out = Path(folder) / "callgrind.out"
        under_valgrind(url, ["--tool=callgrind", f"--callgrind-out-file={out}"], config, n, timeout)
        return _total(out.read_text())


def valgrind_timeout(n: int) -> float:
    """Seconds a job of ``n`` invitations may take under valgrind, which runs Python about
    50x slower (a busy machine more)."""
    return 1800 + n * 5.0


def under_valgrind(url: str, tool: list[str], config: str, n: int, timeout: float) -> None:
    """One ``config`` job of ``n`` invitations in ``_worker.py`` under valgrind ``tool``
    (its options: the tool and where it writes), checked to have sent all of them."""
    loop, json_, kind = CONFIGS[config]
    job = {
        "kind": kind,
        "n": n,
        "c": CONCURRENCY,
        "client_timeout": CLIENT_TIMEOUT,
        "timeout": timeout,
    }
    spec = {"base_url": url, "loop": loop, "json": json_, "jobs": [job]}
    cmd = ["valgrind", *tool, sys.executable, str(HERE / "_worker.py"), json.dumps(spec)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(  # noqa: S603 - our own script under valgrind, no shell
        cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{config} n={n} failed: {done.stderr[-2000:]}")
    _check(done.stdout, n, config)


def _check(stdout: str, n: int, config: str) -> None:
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    result = lines[-1]
    if result.get("requests") != 2 * n or result.get("sent") != n:
        raise RuntimeError(f"{config} n={n}: expected {2 * n} requests, {n} sent: {result}")


def _total(text: str) -> int:
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError("no instruction total in the callgrind output")
    return int(found.group(1))


def run(
    n: int, progress: Progress, configs: list[str] | None = None, jobs: int = 2
) -> dict[str, Any]:
    names = configs or [c for c in DEFAULT if "speedups" not in c or _speedups()]
    timeout = valgrind_timeout(n)
    runs = [(name, size) for name in names for size in (n, 2 * n)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        totals = list(pool.map(lambda job: count(job[0], job[1], timeout), runs))
    found = dict(zip(runs, totals, strict=True))
    per_request = {name: (found[name, 2 * n] - found[name, n]) / (2 * n) for name in names}
    for name in names:
        progress(f"instructions {name}: {per_request[name] / 1000:.0f}k per request")
    return {
        "n": n,
        "concurrency": CONCURRENCY,
        "totals": {f"{name}@{size}": total for (name, size), total in found.items()},
        "per_request": per_request,
    }


def table(data: dict[str, Any] | None) -> list[str]:
    if not data or not data.get("per_request"):
        return []
    per = data["per_request"]
    raw = per.get("raw")

    def vs(name: str, base: float | None) -> str:
        return "n/a" if name not in per or not base else f"{per[name] / base:.2f}"

    lines = [
        f"**Instructions per request** (callgrind, concurrency {data['concurrency']}, "
        f"runs of {data['n']:,} and {2 * data['n']:,} invitations, the difference over the "
        f"{2 * data['n']:,} requests it adds; user space only)",
        "",
        "| client | instructions/request | vs plain raw |",
        "|---|---:|---:|",
    ]
    for name in per:
        lines.append(f"| {name} | {per[name] / 1000:.0f}k | {vs(name, raw)} |")
    if "sdk+ledger" in per and "sdk" in per:
        delta = (per["sdk+ledger"] - per["sdk"]) / 1000
        lines += ["", f"Durable ledger over `ledger=None`: {delta:+.0f}k instructions/request."]
    return [*lines, ""]


if __name__ == "__main__":  # one-off: python benchmarks/_instructions.py [n] [raw,sdk,...]
    size = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_N
    chosen = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    parallel = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    print("\n".join(table(run(size, print, chosen, parallel))))
