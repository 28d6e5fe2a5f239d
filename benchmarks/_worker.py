"""One client process: runs a list of jobs on one event loop, prints one JSON line per job.

    python benchmarks/_worker.py '{"base_url": ..., "loop": "uvloop", "json": "orjson",
                                   "warmup": 200, "jobs": [{"kind": "sdk", "n": 3000, "c": 50}]}'

``json: "std"`` hides orjson from the SDK (its ``_json`` module falls back to the stdlib), so
one machine measures both the plain and the speedups configuration. CPU is this process's
``getrusage`` user+system time around each job; the server's CPU comes from its ``/_stats``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


async def _control(base_url: str, path: str, method: str = "POST") -> dict[str, Any]:
    """The benchmark server's own endpoints (/_stats, /_reset, /_latency); never timed."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url + path) as response,
    ):
        stats: dict[str, Any] = await response.json()
        return stats


def _job(spec: dict[str, Any], job: dict[str, Any]) -> Callable[[], Awaitable[dict[str, Any]]]:
    import _workloads as w

    url, n, c, kind = spec["base_url"], job["n"], job["c"], job["kind"]
    t = job.get("client_timeout", 30.0)  # per request; callgrind runs need more
    if kind == "sdk":
        return lambda: w.sdk_invitations(url, n, c, request_timeout=t)
    if kind == "sdk_rate":  # the rate-limit scenario: told the limit or learning it
        from _ratelimit_bench import sdk_rate_limited

        return lambda: sdk_rate_limited(url, n, job["limit"] if job["told"] else None)
    if kind == "sdk_ledger":
        return lambda: _with_ledger(url, n, c, t)
    if kind == "sdk_null":  # no ledger at all, not even the default in-run de-duplication
        from hero_async.bulk import NullLedger

        return lambda: w.sdk_invitations(url, n, c, ledger=NullLedger(), request_timeout=t)
    if kind == "naive":
        return lambda: w.naive_invitations(url, n, c)
    if kind == "raw" and spec["json"] == "orjson":  # raw + speedups: hand-written with orjson
        import orjson

        return lambda: w.raw_invitations(
            url, n, c, dumps=orjson.dumps, loads=orjson.loads, request_timeout=t
        )
    return lambda: w.raw_invitations(url, n, c, request_timeout=t)


async def _with_ledger(url: str, n: int, c: int, request_timeout: float) -> dict[str, int]:
    import _workloads as w

    with tempfile.TemporaryDirectory(prefix="hero-bench-") as folder:
        path = Path(folder) / "ledger.db"
        return await w.sdk_invitations(url, n, c, ledger=path, request_timeout=request_timeout)


async def _measure(spec: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    url = spec["base_url"]
    await _control(url, "/_reset")
    await _control(url, f"/_latency?ms={job.get('latency_ms', 0)}")
    await _control(url, f"/_ratelimit?rps={job.get('limit', 0)}")
    before_server = (await _control(url, "/_stats", "GET"))["cpu"]
    run = _job(spec, job)
    cpu0, t0 = _cpu(), time.perf_counter()
    try:
        counts = await asyncio.wait_for(run(), timeout=job.get("timeout", 600))
    finally:
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        await _control(url, "/_latency?ms=0")
        await _control(url, "/_ratelimit?rps=0")
    stats = await _control(url, "/_stats", "GET")
    served = stats["counts"]
    requests = served.get("POST /v1/booking_links", 0) + served.get("POST /v1/messages/send", 0)
    return {
        **job,
        "loop": spec["loop"],
        "json": spec["json"],
        "wall": wall,
        "cpu": cpu,
        "requests": requests,
        "token_posts": served.get("POST /v1/access_token", 0),
        "server_cpu": stats["cpu"] - before_server,
        "sent": counts.get("sent", 0),
        "maxrss_mb": _maxrss_mb(),
        "samples": stats["samples"] if job.get("samples") else None,
        "throttled": served.get("429", 0),
        "learned": counts.get("rate"),
    }


async def main(spec: dict[str, Any]) -> None:
    for job in spec.get("warmups", []):
        await _measure(spec, job)
    for job in spec["jobs"]:
        print(json.dumps(await _measure(spec, job)), flush=True)


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    if config["json"] == "std":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # the SDK falls back to json
    import hero_async._json

    assert hero_async._json.FAST is (config["json"] == "orjson"), "json backend not as asked"
    print(json.dumps({"ready": True, "start_maxrss_mb": _maxrss_mb()}), flush=True)
    with asyncio.Runner(loop_factory=_loop_factory(config["loop"])) as runner:
        runner.run(main(config))
