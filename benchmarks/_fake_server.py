"""``hero_async.testing.FakeHero`` in its own process, driven over stdin/stdout JSON lines.

Used for the token-cache and fan-out figures, where what matters is the real fake's behaviour
(HS256 tokens, network rules, its Fault API for latency) rather than raw speed. The sandbox is
seeded, plus ``--extra-groups`` practice groups (3001, 3002, ...) in the sandbox key's network,
each with the sandbox's appointment types, so one key can act for 50 groups.

Commands (one JSON object per line on stdin; one JSON answer per line on stdout):
``{"cmd": "latency", "method": "POST", "path": "/v1/access_token", "seconds": 0.05}``,
``{"cmd": "clear"}``, ``{"cmd": "count", "method": ..., "path": ..., "groups": [...]}``,
``{"cmd": "quit"}``. The first line printed is ``{"url": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from hero_async.testing import SANDBOX_NETWORK, FakeHero, Fault


def seed(fake: FakeHero, extra_groups: int) -> list[str]:
    groups = [str(3001 + i) for i in range(extra_groups)]
    for group in groups:
        fake.add_practice_group(group)
        fake.add_location(group, id="20", name="Main site")
        fake.add_appointment_type(group, id="10", name="Flu jab", duration=10)
        fake.add_appointment_type(group, id="11", name="Health check", duration=20)
    fake.add_network(SANDBOX_NETWORK, groups)
    return groups


def handle(fake: FakeHero, command: dict[str, Any]) -> dict[str, Any]:
    cmd = command["cmd"]
    if cmd == "latency":
        fault = Fault(
            method=command["method"], path=command["path"], latency=command["seconds"], times=None
        )
        fake.add_fault(fault)
        return {"ok": True}
    if cmd == "clear":
        fake.clear_faults()
        return {"ok": True}
    if cmd == "count":
        method, path = command["method"], command["path"]
        counts = {g: fake.count(method, path, practice_group_id=g) for g in command["groups"]}
        return {"counts": counts, "total": fake.count(method, path)}
    return {"error": f"unknown command {cmd!r}"}


async def main(extra_groups: int) -> None:
    async with FakeHero(seed_sandbox=True, log_limit=0) as fake:
        seed(fake, extra_groups)
        print(json.dumps({"url": fake.url}), flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            print(json.dumps(handle(fake, command)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-groups", type=int, default=45)
    asyncio.run(main(parser.parse_args().extra_groups))
