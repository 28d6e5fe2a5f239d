"""Fleet benchmarks: throughput of 1, 2 and 4 workers against a key limit, and the cost of a
claim (claim + settle, one key) on PostgreSQL vs SQLite.

    python benchmarks/fleet.py [--rows 3000] [--rate 150] [--workers 1,2,4] [--claims 2000]

Starts its own throwaway PostgreSQL (tests/fleet/pgcluster.py, fsync on for the claim cost)
and a FakeHero with the key limited to --rate; prints one line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "fleet"), str(ROOT / "tests" / "reliability")]

import pgcluster  # noqa: E402
import psycopg  # noqa: E402
from reliability_support import build_network  # noqa: E402
from test_fleet_campaign_cli import hero_async, write_csv  # noqa: E402

from hero_async.bulk import LedgerEntry, RunInfo, SqliteLedger, State  # noqa: E402
from hero_async.fleet import PostgresLedger  # noqa: E402
from hero_async.testing import SANDBOX_API_KEY, FakeHero  # noqa: E402


async def throughput(url: str, rows: int, rate: float, workers: int, folder: Path) -> str:
    name = f"bench{workers}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = url.rsplit("/", 1)[0] + f"/{name}"
    write_csv(folder / f"{name}.csv", rows, groups=8)
    async with FakeHero(seed_sandbox=True, fast=True) as fake:
        build_network(fake)
        fake.set_rate_limit(rate)
        env = {
            **os.environ,
            "HERO_DATABASE_URL": db,
            "HERO_API_KEY": SANDBOX_API_KEY,
            "HERO_PRACTICE_GROUP_ID": "1001",
            "HERO_BASE_URL": fake.url,
        }
        code, _, err = await hero_async(
            "campaign", "submit", str(folder / f"{name}.csv"), "--name", name, env=env
        )
        assert code == 0, err
        started = time.perf_counter()
        done = await asyncio.gather(
            *(
                hero_async("worker", "--burst", "--rate-limit", str(rate), env=env)
                for _ in range(workers)
            )
        )
        elapsed = time.perf_counter() - started
        assert all(code == 0 for code, _, _ in done), done
        total, throttled = fake.count(), fake.count(status=429)
    achieved = total / elapsed
    return (
        f"workers={workers} rows={rows} limit={rate:g}/s: {achieved:.1f} req/s"
        f" = {achieved / rate:.0%} of the limit, {100 * throttled / max(total, 1):.2f}"
        f" 429s per 100 requests, {elapsed:.1f} s"
    )


async def claim_cost(store: object, n: int) -> float:
    await store.begin(RunInfo.here(), None)  # type: ignore[attr-defined]
    started = time.perf_counter()
    for i in range(n):
        entry = LedgerEntry(f"k{i}", "1002", State.MESSAGE_CLAIMED, patient_id="p", step="message")
        epoch = await store.claim(entry, expect_epoch=0)  # type: ignore[attr-defined]
        await store.settle(entry._replace(state=State.SENT, message_id="m"), epoch=epoch)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    await store.close()  # type: ignore[attr-defined]
    return 1e6 * elapsed / n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--claims", type=int, default=2000)
    args = parser.parse_args()
    cluster = pgcluster.start(fsync=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            pg = await claim_cost(await PostgresLedger.open(cluster.url, "bench"), args.claims)
            lite = await claim_cost(SqliteLedger(Path(folder) / "bench.db"), args.claims)
            print(
                f"claim+settle per key, one at a time: PostgreSQL {pg:.0f} us, SQLite {lite:.0f} us"
            )
            for workers in (int(w) for w in args.workers.split(",")):
                print(await throughput(cluster.url, args.rows, args.rate, workers, Path(folder)))
    finally:
        cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
