"""The markdown of a run: what ``results/latest.md`` and the README's results block show."""

from __future__ import annotations

from typing import Any

import _ratelimit_bench
from _output import Summary, fmt, get, ratio
from _scenarios import LATENCY_MS, SATURATED


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    rule = "|---|" + "".join("---:|" for _ in head[1:])  # labels left, numbers right
    lines = ["| " + " | ".join(head) + " |", rule]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _share(summary: Summary, config: str, c: int) -> str:
    shares = [get(summary, config, kind, c, "server_share") for kind in ("raw", "sdk")]
    return " / ".join(fmt(s, ".0%") for s in shares)


def plain(summary: Summary, levels: list[int]) -> list[str]:
    rows = []
    for c in levels:

        def g(kind: str, field: str, c: int = c) -> float | None:
            return get(summary, "plain", kind, c, field)

        rows.append(
            [
                str(c),
                fmt(g("raw", "inv_s")),
                fmt(g("sdk", "inv_s")),
                fmt(g("raw", "req_s")),
                fmt(g("sdk", "req_s")),
                f"**{fmt(ratio(g('sdk', 'inv_s'), g('raw', 'inv_s')), '.2f')}**",
                fmt(g("raw", "cpu_us")),
                fmt(g("sdk", "cpu_us")),
                f"**{fmt(ratio(g('sdk', 'cpu_us'), g('raw', 'cpu_us')), '.2f')}**",
                _share(summary, "plain", c),
            ]
        )
    head = ["concurrency", "raw inv/s", "SDK inv/s", "raw req/s", "SDK req/s"]
    head += ["SDK/raw throughput", "raw CPU µs/req", "SDK CPU µs/req", "SDK/raw CPU"]
    return _table([*head, "server CPU raw / SDK"], rows)


def speedups(summary: Summary, levels: list[int]) -> list[str]:
    if ("speedups", "sdk", levels[0]) not in summary:
        return ["uvloop and orjson are not both installed: `pip install 'hero-async[speedups]'`."]
    rows = []
    for c in levels:

        def g(kind: str, field: str, c: int = c) -> float | None:
            return get(summary, "speedups", kind, c, field)

        plain_raw = get(summary, "plain", "raw", c, "inv_s")
        rows.append(
            [
                str(c),
                fmt(g("sdk", "inv_s")),
                fmt(plain_raw),
                f"**{fmt(ratio(g('sdk', 'inv_s'), plain_raw), '.2f')}**",
                fmt(g("raw", "inv_s")),
                fmt(ratio(g("sdk", "inv_s"), g("raw", "inv_s")), ".2f"),
                fmt(g("sdk", "cpu_us")),
                fmt(g("raw", "cpu_us")),
                fmt(ratio(g("sdk", "cpu_us"), g("raw", "cpu_us")), ".2f"),
                _share(summary, "speedups", c),
            ]
        )
    head = ["concurrency", "SDK+speedups inv/s", "plain raw inv/s", "SDK+speedups / plain raw"]
    head += ["raw+speedups inv/s", "SDK/raw, both sped up", "SDK+speedups CPU µs/req"]
    return _table([*head, "raw+speedups CPU µs/req", "SDK/raw CPU", "server CPU raw / SDK"], rows)


_VARIANTS = (
    ("raw", "raw aiohttp (baseline)"),
    ("sdk", "SDK, `ledger=None` (the default)"),
    ("sdk_null", "SDK, `NullLedger()`: no record at all, not even in-run de-duplication"),
    ("sdk_ledger", "SDK, `ledger=path`: durable SQLite ledger (journal, sync FULL)"),
    ("raw@latency", "raw aiohttp, server answers after {latency} ms"),
    ("sdk@latency", "SDK `ledger=None`, server answers after {latency} ms"),
)


def variants(summary: Summary, latency_ms: int) -> list[str]:
    """c=50, plain: what the ledger choices cost, and the gap once the server is not instant."""
    rows = []
    for kind, label in _VARIANTS:
        row = summary.get(("plain", kind, 50))
        if row is None:
            continue
        base = summary.get(("plain", "raw@latency" if "@" in kind else "raw", 50))
        rows.append(
            [
                label.format(latency=latency_ms),
                fmt(row["inv_s"]),
                fmt(row["cpu_us"]),
                fmt(base and ratio(row["inv_s"], base["inv_s"]), ".2f"),
                fmt(base and ratio(row["cpu_us"], base["cpu_us"]), ".2f"),
            ]
        )
    if not rows:
        return []
    head = ["c=50, asyncio + stdlib json", "inv/s", "CPU µs/req", "vs raw: throughput", "CPU"]
    return _table(head, rows)


def server_note(summary: Summary) -> str:
    busiest = max((row["server_share"] for row in summary.values()), default=0.0)
    client = max((row["client_share"] for row in summary.values()), default=0.0)
    verdict = (
        f"**the server saturated** (≥ {SATURATED:.0%}): figures at that level understate the client"
        if busiest >= SATURATED
        else "the server never saturated: the client is what was measured"
    )
    return (
        f"Server CPU peaked at {busiest:.0%} of one core ({verdict}); the client process used up "
        f"to {client:.0%} of one core."
    )


def memory(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(not run)"]
    sdk = {r["n"]: r for r in rows if r["kind"] == "sdk"}
    naive = {r["n"]: r for r in rows if r["kind"] == "naive"}
    first = min(sdk) if sdk else None
    lines = []
    for n in sorted(set(sdk) | set(naive)):
        s, v = sdk.get(n), naive.get(n)
        growth = None if s is None or first is None else s["maxrss_mb"] - sdk[first]["maxrss_mb"]
        lines.append(
            [
                f"{n:,}",
                fmt(s and s["maxrss_mb"], ".1f"),
                fmt(growth, "+.1f"),
                fmt(s and s["n"] / s["wall"]),
                fmt(s and s["wall"], ".0f"),
                fmt(v and v["maxrss_mb"], ".1f"),
                fmt(v and v["maxrss_mb"] - naive[min(naive)]["maxrss_mb"], "+.1f"),
            ]
        )
    head = ["invitations", "SDK peak RSS MB", "Δ vs smallest", "SDK inv/s", "SDK wall s"]
    return _table([*head, "naive gather peak RSS MB", "naive Δ"], lines)


def latency(data: dict[str, Any] | None) -> list[str]:
    if not data:
        return ["(not run)"]
    lines = []
    for key in ("token_cache", "token_cache_latency"):
        t = data[key]
        lines.append(
            [
                f"{t['latency_ms']:.0f} ms",
                f"{t['cold']['calls']:,} over {t['groups']} groups",
                str(t["token_posts"]),
                f"{t['cold']['p50_ms']:.1f} / {t['cold']['p99_ms']:.1f}",
                f"{t['cold']['wall_s'] * 1000:.0f} ms",
                f"{t['one_per_group']['wall_s'] * 1000:.0f} ms",
                f"{t['serialized_s'] * 1000:.0f} ms",
                f"{t['warm']['p50_ms'] * 1000:.1f} / {t['warm']['p99_ms'] * 1000:.1f} µs",
            ]
        )
    head = ["token latency", "concurrent calls", "token POSTs", "cold p50 / p99 ms"]
    head += ["cold total", "50 callers, 1 per group", "if serialized", "cached p50 / p99"]
    out = _table(head, lines)
    f = data["fan_out"]
    out += ["", *_fan_out(f)]
    return out


def _fan_out(f: dict[str, Any]) -> list[str]:
    head = ["groups x latency", "fan_out (default concurrency 10)", "fan_out(concurrency=20)"]
    row = [
        f"{f['groups']} x {f['latency_ms']:.0f} ms",
        f"{f['fan_out_default'] * 1000:.0f} ms",
        f"{f['fan_out_all'] * 1000:.0f} ms",
        f"{f['sequential'] * 1000:.0f} ms",
        f"{f['sequential'] / f['fan_out_all']:.1f}x",
    ]
    return _table([*head, "sequential loop", "speed-up"], [row])


def targets(found: list[dict[str, Any]]) -> list[str]:
    verdict = {True: "✅ met", False: "❌ missed", None: "n/a"}
    rows = [[t["target"], t["shown"], verdict[t["met"]]] for t in found]
    return _table(["target", "measured", "verdict"], rows)


def _throughput(result: dict[str, Any], summary: Summary, levels: list[int]) -> list[str]:
    if not summary:
        return ["**1-2. Bulk invitations** (not run)", ""]
    o = result["options"]
    return [
        f"**1. Bulk invitations, plain** (asyncio loop, stdlib json; {o['invitations']:,} "
        f"invitations per run ({max(200, o['invitations'] // 3):,} at concurrency 1), "
        f"2 requests each; medians of {o['rounds']} alternated rounds; `ledger=None`)",
        "",
        *plain(summary, levels),
        "",
        *variants(summary, LATENCY_MS),
        "",
        "**2. With speedups** (uvloop + orjson), against the same plain raw baseline",
        "",
        *speedups(summary, levels),
        "",
        server_note(summary),
        "",
    ]


def markdown(result: dict[str, Any], summary: Summary, levels: list[int]) -> str:
    m, o = result["machine"], result["options"]
    speed = f"uvloop {m['uvloop']}, orjson {m['orjson']}"
    parts = [
        f"Run of {result['started']} (`{o['command']}`, {result['duration_s']:.0f} s). "
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, aiohttp "
        f"{m['aiohttp']}, {speed}, hero-async {m['hero-async']}. 1-minute load average "
        f"{fmt(m['loadavg_at_start'], '.2f')} at the start, {fmt(m.get('loadavg_at_end'), '.2f')} "
        "at the end (the run itself keeps about 2 busy).",
        "",
        *[f"**FAILED** {error}" for error in result.get("errors", [])],
        "**Targets**",
        "",
        *targets(result["targets"]),
        "",
        *_throughput(result, summary, levels),
        "**3. Peak RSS vs job size** (concurrency 200, invitations from a generator, "
        "one fresh process per size)",
        "",
        *memory(result.get("memory", [])),
        "",
        "**4-5. Token cache and fan-out** (FakeHero in its own process, latency via its Fault API)",
        "",
        *latency(result.get("latency")),
        "",
        "**6. Rate limit** (a token bucket on the key, one second of burst, whole-second "
        "Retry-After; 30 ms latency; `send_invitations` at its default concurrency, told the "
        "limit with `rate_limit=` or learning it)",
        "",
        *_ratelimit_bench.table(result.get("ratelimit") or []),
    ]
    return "\n".join(parts) + "\n"
