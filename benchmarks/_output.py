"""Results: the machine, the targets, the JSON file, the chart and the README block."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

Summary = dict[tuple[str, str, int], dict[str, float]]
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def loadavg() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else ""
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor() or platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        **{name: _version(name) for name in ("hero-async", "aiohttp", "uvloop", "orjson")},
        "loadavg_at_start": loadavg(),
    }


def get(summary: Summary, config: str, kind: str, c: int, field: str) -> float | None:
    row = summary.get((config, kind, c))
    return None if row is None else row[field]


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def fmt(value: float | None, spec: str = ".0f", suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def _worst(values: list[float | None]) -> float | None:
    return min((v for v in values if v is not None), default=None)


def _at(ratios: list[float | None], levels: list[int]) -> str:
    return ", ".join(f"c={c}: {fmt(r, '.2f')}" for c, r in zip(levels, ratios, strict=True))


def targets(result: dict[str, Any], summary: Summary, levels: list[int]) -> list[dict[str, Any]]:
    """The issue's five targets, each with the measured figure and met / missed / n/a."""
    found: list[dict[str, Any]] = []

    def add(name: str, measured: float | None, bound: float, above: bool, shown: str) -> None:
        met = None if measured is None else (measured >= bound if above else measured <= bound)
        found.append({"target": name, "measured": measured, "met": met, "shown": shown})

    if summary:

        def vs(config: str, c: int, field: str = "inv_s", base: str = "plain") -> float | None:
            return ratio(get(summary, config, "sdk", c, field), get(summary, base, "raw", c, field))

        cpu = vs("plain", 50, "cpu_us")
        add("SDK CPU/request <= 1.10x raw (c=50)", cpu, 1.10, False, fmt(cpu, ".2f", "x"))
        plain = [vs("plain", c) for c in levels]
        add(
            "SDK throughput >= 0.90x raw, every level",
            _worst(plain),
            0.90,
            True,
            _at(plain, levels),
        )
        fast = [vs("speedups", c) for c in levels]
        add("SDK+speedups >= 1.25x plain raw", _worst(fast), 1.25, True, _at(fast, levels))
    memory = [r for r in result.get("memory", []) if r["kind"] == "sdk"]
    if len(memory) >= 2:
        growth = memory[-1]["maxrss_mb"] - memory[0]["maxrss_mb"]
        name = f"peak RSS at {memory[-1]['n']:,} within 20 MB of {memory[0]['n']:,}"
        add(name, growth, 20.0, False, f"{growth:+.1f} MB")
    latency = result.get("latency")
    if latency:
        cache = latency["token_cache"]
        exact = cache["posts_per_group"] == [1] and cache["token_posts"] == cache["groups"]
        shown = (
            f"{cache['token_posts']} POSTs for {cache['groups']} groups "
            f"(per group: {cache['posts_per_group']})"
        )
        add("one token fetch per practice group", 1.0 if exact else 0.0, 1.0, True, shown)
    import _ratelimit_bench  # here: it imports this module's helpers

    _ratelimit_bench.targets(result.get("ratelimit") or [], add)
    return found


def write_json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")


def chart(summary: Summary, levels: list[int], path: Path) -> bool:
    """Throughput and CPU/request by concurrency, SDK vs raw; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    series = [
        ("plain", "raw", "raw aiohttp", "tab:gray", "-"),
        ("plain", "sdk", "SDK", "tab:blue", "-"),
        ("speedups", "raw", "raw aiohttp + uvloop/orjson", "tab:gray", "--"),
        ("speedups", "sdk", "SDK + speedups", "tab:blue", "--"),
    ]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for config, kind, label, colour, style in series:
        if (config, kind, levels[0]) not in summary:
            continue
        for axis, field in ((left, "inv_s"), (right, "cpu_us")):
            values = [summary[(config, kind, c)][field] for c in levels]
            axis.plot(levels, values, style, marker="o", color=colour, label=label)
    left.set(title="Throughput (invitations/s, higher is better)", xlabel="concurrency")
    right.set(title="Client CPU per request (µs, lower is better)", xlabel="concurrency")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    left.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def update_readme(readme: Path, block: str) -> bool:
    text = readme.read_text() if readme.exists() else ""
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{block.strip()}\n{README_END}{tail}")
    return True
