"""hero-async benchmarks: the SDK against hand-written aiohttp, side by side in one run.

    nox -s bench                       # what CI and the README use
    python benchmarks/run.py           # the same, in the current environment
    python benchmarks/run.py --full    # adds the 1,000,000-invitation memory run
    python benchmarks/run.py --quick   # a smoke test (seconds); does not touch the README

Writes benchmarks/results/latest.{json,md}, benchmarks/results/throughput.png (matplotlib)
and the results block of benchmarks/README.md. See benchmarks/README.md for what each
figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _cachesim
import _instructions
import _latency
import _output
import _procs
import _ratelimit_bench
import _scenarios
import _tables

HERE = Path(__file__).resolve().parent
SCENARIOS = ("throughput", "memory", "latency", "ratelimit", "instructions", "cachesim")


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=9, help="A/B rounds (default %(default)s)")
    p.add_argument("--concurrency", type=_ints, default=[1, 10, 50, 200], metavar="1,10,...")
    p.add_argument("--invitations", type=int, default=3000, help="per throughput run")
    p.add_argument("--memory-sizes", type=_ints, default=[10_000, 100_000, 300_000])
    p.add_argument("--full", action="store_true", help="memory sizes 10k, 100k and 1M")
    p.add_argument("--naive-max", type=int, default=100_000, help="largest naive-gather run")
    p.add_argument("--token-calls", type=int, default=10_000)
    p.add_argument("--groups", type=int, default=50, help="practice groups for the token cache")
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument(
        "--icount-n", type=int, default=_instructions.DEFAULT_N, help="instructions: n and 2n"
    )
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="any of " + ",".join(SCENARIOS))
    p.add_argument("--quick", action="store_true", help="tiny sizes; leaves the README alone")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite README results")
    args = p.parse_args(argv)
    if args.full:
        args.memory_sizes = [10_000, 100_000, 1_000_000]
    if args.quick:
        args.rounds, args.invitations, args.token_calls = 1, 400, 2000
        args.memory_sizes, args.naive_max = [2000, 10_000], 10_000
        args.icount_n = 100
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    if unknown := set(args.scenarios) - set(SCENARIOS):
        p.error(f"unknown scenarios {sorted(unknown)}")
    if args.groups < 20:
        p.error("--groups must be at least 20 (the fan-out uses 20)")
    return args


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _output.machine(),
        "options": {**vars(args), "out": str(args.out), "command": command},
    }
    say(f"machine: {result['machine']}")
    result["errors"] = []
    if {"throughput", "memory"} & set(args.scenarios):
        with _procs.own_server() as (url, _):
            say(f"benchmark server on {url}")
            if "throughput" in args.scenarios:
                result["throughput"] = _guard(
                    result,
                    "throughput",
                    lambda: _scenarios.throughput(
                        url, args.concurrency, args.invitations, args.rounds, say
                    ),
                )
            if "memory" in args.scenarios:
                result["memory"] = _guard(
                    result,
                    "memory",
                    lambda: _scenarios.memory(url, args.memory_sizes, args.naive_max, say),
                )
    if "instructions" in args.scenarios:
        result["instructions"] = _guard(result, "instructions", lambda: _icount(args)) or None
    if "cachesim" in args.scenarios:
        result["cachesim"] = _guard(result, "cachesim", lambda: _simulate(args)) or None
    if "latency" in args.scenarios:
        result["latency"] = _guard(result, "latency", lambda: _latency_scenario(args)) or None
    if "ratelimit" in args.scenarios:
        result["ratelimit"] = _guard(
            result, "ratelimit", lambda: _ratelimit_bench.run(args.quick, say)
        )
    result["duration_s"] = time.monotonic() - started
    result["machine"]["loadavg_at_end"] = _output.loadavg()
    return result


def _icount(args: argparse.Namespace) -> dict[str, Any] | None:
    missing = _instructions.available()
    if missing:
        say(f"instructions skipped: {missing}")
        return None
    say(f"instruction counts under callgrind (n={args.icount_n}; several minutes)")
    return _instructions.run(args.icount_n, say)


def _simulate(args: argparse.Namespace) -> dict[str, Any] | None:
    missing = _instructions.available()
    if missing:
        say(f"cachesim skipped: {missing}")
        return None
    n = min(args.icount_n, _cachesim.DEFAULT_N)
    say(f"cache and branch simulation under cachegrind (n={n}; a few minutes)")
    return _cachesim.run(n, say)


def _latency_scenario(args: argparse.Namespace) -> dict[str, Any]:
    from hero_async.testing import SANDBOX_NETWORK_GROUP_IDS

    groups = [*SANDBOX_NETWORK_GROUP_IDS, *(str(3001 + i) for i in range(args.groups - 5))]
    with _procs.fake_server(len(groups) - 5) as fake:
        say(f"FakeHero on {fake.url}: token cache over {len(groups)} groups, fan-out")
        latency = args.latency_ms / 1000
        return asyncio.run(_latency.run(fake, groups, args.token_calls, latency))


def _guard(result: dict[str, Any], name: str, scenario: Callable[[], Any]) -> Any:
    """Run one scenario; a failure is recorded and the others still report."""
    try:
        return scenario()
    except Exception as exc:  # the run goes on; main() exits non-zero
        say(f"scenario {name} FAILED: {type(exc).__name__}: {exc}")
        result["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
        return []


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    summary = _scenarios.summarize(result.get("throughput", []))
    levels = args.concurrency
    result["summary"] = [
        {"config": c, "kind": k, "concurrency": n, **v} for (c, k, n), v in summary.items()
    ]
    result["targets"] = _output.targets(result, summary, levels)
    text = _tables.markdown(result, summary, levels)
    text += "\n".join(["", *_instructions.table(result.get("instructions"))])
    text += "\n".join(["", *_cachesim.table(result.get("cachesim"))])
    args.out.mkdir(parents=True, exist_ok=True)
    _output.write_json(result, args.out / "latest.json")
    (args.out / "latest.md").write_text(text)
    if summary and _output.chart(summary, levels, args.out / "throughput.png"):
        text = text.replace("**Targets**", "![throughput](results/throughput.png)\n\n**Targets**")
    if args.quick or args.no_readme or result["errors"]:
        say("README.md left alone (--quick, --no-readme or a failed scenario)")
    elif _output.update_readme(HERE / "README.md", text):
        say("README.md results block updated")
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    result = run(args, command.strip())
    text = report(result, args)
    print("\n" + text)
    say(f"done in {result['duration_s']:.0f} s; results in {args.out}")
    for error in result["errors"]:
        say(f"FAILED: {error}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
