"""Scenarios 4 and 5, run against FakeHero in its own process: the token cache and fan-out.

Both are about waiting, not CPU: the server injects latency (the fake's Fault API) and we
check that the SDK overlaps the waits instead of serializing them.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from _procs import FakeProcess
from _workloads import API_KEY, GROUP

from hero_async import HeroClient

TOKEN_PATH = "/v1/access_token"
TYPES_PATH = "/v1/appointment_types"
BOUND = 120.0  # seconds: no single wave may take longer


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _token_wave(hero: HeroClient, groups: list[str], calls: int) -> dict[str, Any]:
    views = [hero.practice_group(g) for g in groups]
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        await views[i % len(views)].access_token()
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(calls))), BOUND)
    return {
        "calls": calls,
        "wall_s": time.perf_counter() - started,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": _pct(latencies, 0.99) * 1000,
    }


def _posts(fake: FakeProcess, groups: list[str]) -> dict[str, int]:
    counts: dict[str, int] = fake.command(
        cmd="count", method="POST", path=TOKEN_PATH, groups=groups
    )["counts"]
    return counts


async def token_cache(fake: FakeProcess, groups: list[str], calls: int, latency: float) -> Any:
    """``calls`` concurrent access_token() calls spread over ``groups`` on a fresh client,
    then the same again (all cached); plus one caller per group on another fresh client."""
    fake.command(cmd="clear")
    if latency:
        fake.command(cmd="latency", method="POST", path=TOKEN_PATH, seconds=latency)
    try:
        before = _posts(fake, groups)
        async with HeroClient(API_KEY, GROUP, base_url=fake.url) as hero:
            cold = await _token_wave(hero, groups, calls)  # every group cold
            warm = await _token_wave(hero, groups, calls)  # every group cached
        middle = _posts(fake, groups)
        async with HeroClient(API_KEY, GROUP, base_url=fake.url) as hero:
            first = await _token_wave(hero, groups, len(groups))  # one caller per group
    finally:
        fake.command(cmd="clear")
    per_group = [middle[g] - before[g] for g in groups]
    return {
        "groups": len(groups),
        "latency_ms": latency * 1000,
        "token_posts": sum(per_group),
        "posts_per_group": sorted(set(per_group)),
        "cold": cold,
        "warm": warm,
        "one_per_group": first,
        "serialized_s": latency * len(groups),
    }


async def fan_out(fake: FakeProcess, groups: list[str], latency: float) -> dict[str, Any]:
    """One appointment_types.list() per group: fan_out at its default and at len(groups)
    concurrency, against a plain sequential loop; the fake adds ``latency`` to each call."""
    async with HeroClient(API_KEY, GROUP, base_url=fake.url, max_connections=100) as hero:
        await hero.fan_out(groups, lambda view: view.appointment_types.list(), concurrency=50)
        fake.command(cmd="latency", method="GET", path=TYPES_PATH, seconds=latency)
        try:
            timings: dict[str, float] = {}
            for label, width in (("fan_out_default", None), ("fan_out_all", len(groups))):
                kwargs = {} if width is None else {"concurrency": width}
                started = time.perf_counter()
                outcomes = await asyncio.wait_for(
                    hero.fan_out(groups, lambda view: view.appointment_types.list(), **kwargs),
                    BOUND,
                )
                timings[label] = time.perf_counter() - started
                if not all(outcome.ok for outcome in outcomes.values()):
                    raise RuntimeError(f"fan-out failed: {outcomes}")
            started = time.perf_counter()
            for group in groups:
                await asyncio.wait_for(hero.practice_group(group).appointment_types.list(), BOUND)
            timings["sequential"] = time.perf_counter() - started
        finally:
            fake.command(cmd="clear")
    return {"groups": len(groups), "latency_ms": latency * 1000, **timings}


async def run(fake: FakeProcess, groups: list[str], calls: int, latency: float) -> dict[str, Any]:
    return {
        "token_cache": await token_cache(fake, groups, calls, 0.0),
        "token_cache_latency": await token_cache(fake, groups, calls, latency),
        "fan_out": await fan_out(fake, groups[:20], latency),
    }
