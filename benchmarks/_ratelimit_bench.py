"""Scenario 6: the rate limit. A server-side token bucket on the key (40 and 200 requests/s,
one second of burst, whole-second Retry-After), 30 ms latency, and a bulk job that is either
told the limit (``rate_limit=``) or not (the client learns it from the 429s).

Figures per run: the fraction of the limit used (requests Hero accepted per second of the run,
over the limit), 429s per 100 requests sent, invitations not sent, and the rate the client had
learned at the end (``hero.rate``).
"""

from __future__ import annotations

from typing import Any

from _procs import own_server, run_worker
from _scenarios import Progress, configs

LATENCY_MS = 30
LIMITS = (40, 200)
CONCURRENCY = 20  # send_invitations' default: what a user gets
TARGETS = {False: (0.85, 5.0), True: (0.95, 1.0)}  # told -> (fraction >= x, 429s/100 <= y)


async def sdk_rate_limited(base_url: str, n: int, rate_limit: float | None) -> dict[str, Any]:
    import _workloads as w

    from hero_async import HeroClient

    async with HeroClient(w.API_KEY, w.GROUP, base_url=base_url) as hero:
        with await hero.send_invitations(w.invitations(n), rate_limit=rate_limit) as report:
            return {**report.counts, "rate": hero.rate}


def invitations_for(limit: int, quick: bool) -> int:
    """About 60 s of traffic at the limit (30 s at 200/s), 2 requests per invitation."""
    seconds = (15 if limit < 100 else 6) if quick else (60 if limit < 100 else 30)
    return limit * seconds // 2


def run(quick: bool, progress: Progress) -> list[dict[str, Any]]:
    rows = []
    with own_server(latency_ms=LATENCY_MS) as (url, _):
        for limit in LIMITS:
            for told in (False, True):
                n = invitations_for(limit, quick)
                job = {"kind": "sdk_rate", "n": n, "c": CONCURRENCY, "limit": limit}
                job |= {"told": told, "latency_ms": LATENCY_MS, "timeout": 20 * n / limit + 60}
                spec = {"base_url": url, **configs()["plain"], "jobs": [job]}
                _, (row,) = run_worker(spec, job["timeout"] + 30)
                row.update(_figures(row))
                rows.append(row)
                progress(
                    f"rate limit {limit}/s {'told' if told else 'learned'}: "
                    f"{row['fraction']:.2f} of the limit, {row['per_100']:.1f} 429s per 100, "
                    f"{row['unsent']} not sent, learned {_learned(row['learned'])}"
                )
    return rows


def _learned(rate: float | None) -> str:
    return "none (no 429 seen)" if rate is None else f"{rate:.1f}/s"


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    sent = row["requests"] + row["throttled"]
    return {
        "fraction": row["requests"] / row["wall"] / row["limit"],
        "per_100": 100 * row["throttled"] / sent if sent else 0.0,
        "unsent": row["n"] - row["sent"],
    }


def table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(not run)"]
    lines = [
        "| limit | told? | invitations | fraction of the limit | 429s per 100 requests "
        "| not sent | learned rate |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['limit']}/s | {'told' if r['told'] else 'learned'} | {r['n']:,} | "
            f"{r['fraction']:.2f} | {r['per_100']:.1f} | {r['unsent']} | "
            f"{_learned(r['learned'])} |"
        )
    return lines


def targets(rows: list[dict[str, Any]], add: Any) -> None:
    """Adds the issue's two rate-limit targets (worst over both limits) through ``add``."""
    for told, (fraction, per_100) in TARGETS.items():
        mine = [r for r in rows if r["told"] is told]
        if not mine:
            continue
        worst_fraction = min(r["fraction"] for r in mine)
        worst_429 = max(r["per_100"] for r in mine)
        shown = ", ".join(f"{r['limit']}/s: {r['fraction']:.2f}, {r['per_100']:.1f}" for r in mine)
        met = (
            worst_fraction >= fraction
            and worst_429 <= per_100
            and all(r["unsent"] == 0 for r in mine)
        )
        name = (
            f"rate limit {'told' if told else 'not told'}: >= {fraction:.2f} of it, "
            f"<= {per_100:g} 429s per 100 requests, every invitation sent"
        )
        add(name, 1.0 if met else 0.0, 1.0, True, shown)
