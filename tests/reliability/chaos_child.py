"""Child process of the reliability suite (run with ``python -X dev -W error chaos_child.py``).

``chaos SEED N FOLDER DEBUG``
    One chaos run with every invariant checked, under development mode (ResourceWarnings for
    unclosed sockets, sessions and files; warnings as errors). ``DEBUG`` is ``on`` to keep
    asyncio's debug mode, which development mode turns on (source tracebacks on every task and
    callback: about four times slower), or ``off``. Prints the figures as one JSON line.
``job URL LEDGER SEED N``
    A bulk job against a FakeHero served by the parent process, printing ``PROGRESS <state>``
    after every invitation so the parent can SIGKILL it part-way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path

from reliability_support import API_KEY, HOME, make_invitations, run_chaos

from hero_async import HeroClient, InvitationResult


async def _chaos(seed: int, n: int, folder: Path) -> None:
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = 5.0  # debug mode would log every busy step of a big run
    figures = await run_chaos(seed, n, folder)
    print(json.dumps(dataclasses.asdict(figures)), flush=True)


async def _job(url: str, ledger: str, seed: int, n: int) -> None:
    rows = make_invitations(seed, n)

    def progress(result: InvitationResult) -> None:
        sys.stdout.write(f"PROGRESS {result.state}\n")
        sys.stdout.flush()

    # A generous timeout: the parent serves the fake while several such children and a
    # loaded CI machine compete for the CPU, and a POST that timed out is (rightly) outcome
    # unknown, which the parents' "reported sent == sent" checks do not expect.
    async with HeroClient(API_KEY, HOME, base_url=url, timeout=120.0) as hero:
        report = await hero.send_invitations(
            rows.invitations, concurrency=20, ledger=ledger, on_progress=progress
        )
        report.close()
    print("DONE", flush=True)


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "chaos":
        asyncio.run(_chaos(int(args[0]), int(args[1]), Path(args[2])), debug=args[3] == "on")
    elif command == "job":
        asyncio.run(_job(args[0], args[1], int(args[2]), int(args[3])))
    else:
        raise SystemExit(f"unknown command {command!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
