"""Scenario "cachesim": why CPU time and instructions disagree, under a simulated processor.

The instruction count (``_instructions.py``) is stable, but a processor also waits: on a
cache miss and on a mispredicted branch. This runs each client as the instructions scenario
does (``_worker.py``, one job at concurrency 50, n and 2n invitations, the difference per
request) under ``valgrind --tool=cachegrind`` with cache and branch simulation. Cachegrind
simulates a first-level cache and one last level; the last level is set to this machine's
per-core L2 (read from sysfs, 512 KiB 8-way when unknown), because on a shared VM the L3 is
shared with other tenants and every L2 miss may cost a trip to it or to memory.

    python benchmarks/run.py --scenarios cachesim
    python benchmarks/_cachesim.py [n] [raw,sdk,...]     # printed only
    python benchmarks/_cachesim.py --where [n]           # the SDK's extra L2 misses, by C function

Per request: ``Ir`` instructions, ``I1mr``/``D1mr``/``D1mw`` first-level misses,
``ILmr``/``DLmr``/``DLmw`` L2 misses, ``Bcm``/``Bim`` mispredicted conditional and indirect
branches. User space only, like the instruction count.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _instructions
import _procs

DEFAULT = ("raw", "sdk", "sdk+speedups", "raw+speedups")
DEFAULT_N = 200
L1 = ("I1mr", "D1mr", "D1mw")
L2 = ("ILmr", "DLmr", "DLmw")
BRANCHES = ("Bcm", "Bim")


def l2_config() -> str:
    """``size,ways,line`` of cpu0's unified level-2 cache, for cachegrind's ``--LL``."""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (index / "level").read_text().strip() != "2":
                continue
            size = (index / "size").read_text().strip().upper()
            ways = int((index / "ways_of_associativity").read_text())
            line = int((index / "coherency_line_size").read_text())
        except (OSError, ValueError):
            break
        factor = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
        return f"{int(size.rstrip('KM')) * factor},{ways},{line}"
    return "524288,8,64"


def events(config: str, n: int, timeout: float, keep: Path | None = None) -> dict[str, int]:
    """Cachegrind's totals for one job of ``n`` invitations, against a server of its own."""
    with _procs.own_server() as (url, _), tempfile.TemporaryDirectory() as folder:
        out = keep or Path(folder) / "cachegrind.out"
        tool = [
            "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
            f"--LL={l2_config()}", f"--cachegrind-out-file={out}",
        ]  # fmt: skip
        _instructions.under_valgrind(url, tool, config, n, timeout)
        text = out.read_text()
    names = re.search(r"^events:\s+(.*)$", text, re.MULTILINE)
    totals = re.search(r"^summary:\s+(.*)$", text, re.MULTILINE)
    if names is None or totals is None:
        raise RuntimeError("no event totals in the cachegrind output")
    return dict(zip(names.group(1).split(), map(int, totals.group(1).split()), strict=True))


def run(n: int, progress: _instructions.Progress, configs: list[str] | None = None) -> Any:
    names = configs or [c for c in DEFAULT if "speedups" not in c or _instructions._speedups()]
    runs = [(name, size) for name in names for size in (n, 2 * n)]
    timeout = _instructions.valgrind_timeout(n)
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = dict(zip(runs, pool.map(lambda r: events(r[0], r[1], timeout), runs), strict=True))
    per_request = {}
    for name in names:
        small, big = found[name, n], found[name, 2 * n]
        per_request[name] = {k: (big[k] - small[k]) / (2 * n) for k in small}
        progress(f"cachesim {name}: {_brief(per_request[name])}")
    return {
        "n": n,
        "concurrency": _instructions.CONCURRENCY,
        "l2": l2_config(),
        "per_request": per_request,
    }


def _brief(row: dict[str, float]) -> str:
    return (
        f"{row['Ir'] / 1000:.0f}k instructions, {sum(row[k] for k in L1) / 1000:.1f}k L1 misses, "
        f"{sum(row[k] for k in L2) / 1000:.2f}k L2 misses, "
        f"{sum(row[k] for k in BRANCHES) / 1000:.1f}k mispredicted branches"
    )


def table(data: dict[str, Any] | None) -> list[str]:
    if not data or not data.get("per_request"):
        return []
    per = data["per_request"]
    raw = per.get("raw")

    def cell(row: dict[str, float], keys: tuple[str, ...], digits: int) -> str:
        value = sum(row[k] for k in keys)
        base = sum(raw[k] for k in keys) if raw else 0
        ratio = f" ({value / base:.2f})" if base else ""
        return f"{value / 1000:.{digits}f}k{ratio}"

    lines = [
        f"**Simulated cache and branches per request** (cachegrind, L2 modelled as "
        f"{data['l2']} (bytes,ways,line); concurrency {data['concurrency']}, runs of "
        f"{data['n']:,} and {2 * data['n']:,} invitations; in brackets: vs plain raw)",
        "",
        "| client | instructions | L1 misses | L2 misses | mispredicted branches |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in per.items():
        lines.append(
            f"| {name} | {cell(row, ('Ir',), 0)} | {cell(row, L1, 1)} | {cell(row, L2, 2)} "
            f"| {cell(row, BRANCHES, 1)} |"
        )
    return [*lines, ""]


def where(n: int) -> list[str]:
    """C functions by the SDK's L2 misses per request over raw aiohttp's (cg_diff of n, 2n)."""
    with tempfile.TemporaryDirectory(prefix="hero-cachesim-") as folder:
        base = Path(folder)
        per = {}
        for name in ("raw", "sdk"):
            outs = [base / f"{name}.{size}" for size in (n, 2 * n)]
            for out, size in zip(outs, (n, 2 * n), strict=True):
                events(name, size, _instructions.valgrind_timeout(size), keep=out)
            per[name] = _by_function(outs, base / f"{name}.diff", 2 * n)
    names = per["sdk"].keys() | per["raw"].keys()
    extra = {f: per["sdk"].get(f, 0.0) - per["raw"].get(f, 0.0) for f in names}
    ranked = sorted(extra.items(), key=lambda item: -item[1])
    total = sum(extra.values())
    lines = [f"{total:8.0f}  L2 misses per request more than raw aiohttp, in all"]
    lines += [f"{value:8.1f}  {name}" for name, value in ranked[:15]]
    return lines


def _by_function(outs: list[Path], diff: Path, requests: int) -> dict[str, float]:
    """L2 misses per request by C function, of the larger run over the smaller one."""
    compare = ["cg_diff", *map(str, outs)]
    # --auto=no: no annotated source lines, whose text could pass for a function's row
    annotate = ["cg_annotate", "--show=ILmr,DLmr,DLmw", "--threshold=0", "--auto=no", str(diff)]
    with diff.open("w") as sink:
        subprocess.run(compare, stdout=sink, check=True)  # noqa: S603 - valgrind's own tools
    text = subprocess.run(annotate, capture_output=True, text=True, check=True).stdout  # noqa: S603
    found: dict[str, float] = {}
    for line in text.splitlines():
        cells = re.findall(r"(-?[\d,]+)(?: \( *-?[\d.]+%\))?\s+", line)
        name = line.split()[-1] if line.split() else ""
        if len(cells) == 3 and ":" in name:
            function = re.sub(r"^.*/Python-[\d.]+/", "", name)
            value = sum(int(c.replace(",", "")) for c in cells) / requests
            found[function] = found.get(function, 0.0) + value
    return found


if __name__ == "__main__":
    if sys.argv[1:2] == ["--where"]:
        print("\n".join(where(int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_N)))
    else:
        size = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_N
        chosen = sys.argv[2].split(",") if len(sys.argv) > 2 else None
        print("\n".join(table(run(size, print, chosen))))
