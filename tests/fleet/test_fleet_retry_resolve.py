"""After a campaign has run: retry what can be retried, settle unknowns, shards given up, and
one shard run directly (the idempotent unit for other job engines).

Real ``hero-async`` processes on a real PostgreSQL database against a FakeHero served from the
test's event loop; who was texted is counted from the fake's log.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import psycopg
from test_fleet_campaign_cli import hero_async, messages_per_key, write_csv

from hero_async.bulk import read_invitations
from hero_async.cli import _fleet_actions
from hero_async.fleet import MAX_ATTEMPTS, Campaign, run_shard
from hero_async.testing import SANDBOX_API_KEY, FakeHero
from hero_async.testing._faults import Fault

sys.path.insert(0, str(Path(__file__).parent.parent / "reliability"))
from reliability_support import build_network


def environment(database_url: str, fake: FakeHero) -> dict[str, str]:
    return {
        **os.environ,
        "HERO_DATABASE_URL": database_url,
        "HERO_API_KEY": SANDBOX_API_KEY,
        "HERO_PRACTICE_GROUP_ID": "1001",
        "HERO_BASE_URL": fake.url,
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_worker_with_a_bad_url_then_retry_sends_every_key(
    database_url: str, tmp_path: Path
) -> None:
    keys = write_csv(tmp_path / "flu.csv", 30, groups=2)
    async with FakeHero(seed_sandbox=True, log_limit=10_000) as fake:
        build_network(fake)
        env = environment(database_url, fake)
        code, _, err = await hero_async(
            "campaign", "submit", str(tmp_path / "flu.csv"), "--name", "flu",
            "--shard-size", "10", env=env,
        )  # fmt: skip
        assert code == 0, err
        bad = f"http://127.0.0.1:{closed_port()}"
        code, _, err = await hero_async("worker", "--burst", "--base-url", bad, env=env)
        assert code == 0, err
        code, out, _ = await hero_async("campaign", "status", "flu", "--json", env=env)
        status = json.loads(out)
        assert status["finished"] is True  # every shard ran, every key failed retryable
        assert status["results"] == {"failed": 30}
        code, out, err = await hero_async("campaign", "retry", "flu", env=env)
        assert code == 0, err
        assert "4 shards re-opened, 4 newly queued" in out
        code, out, err = await hero_async("campaign", "retry", "flu", env=env)
        assert "4 shards re-opened, 0 newly queued" in out, err  # the queueing lock holds
        code, _, err = await hero_async("worker", "--burst", env=env)
        assert code == 0, err
        report = tmp_path / "report.json"
        code, _, err = await hero_async(
            "campaign", "report", "flu", "--report", str(report), env=env
        )
        assert code == 0, err
        sent = messages_per_key(fake)
        code, out, _ = await hero_async("campaign", "retry", "flu", env=env)
        assert "0 shards re-opened" in out  # nothing left to retry
    assert json.loads(report.read_text())["counts"]["sent"] == 30
    assert (set(sent.values()), set(sent)) == ({1}, keys)


async def test_unknown_outcomes_are_listed_and_resolved(database_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "flu.csv", 6, groups=1)
    async with FakeHero(seed_sandbox=True, log_limit=10_000) as fake:
        build_network(fake)
        env = environment(database_url, fake)
        code, _, err = await hero_async(
            "campaign", "submit", str(tmp_path / "flu.csv"), "--name", "flu", env=env
        )
        assert code == 0, err
        # Hero acts on two message POSTs but the answers are lost: outcome unknown.
        fake.add_fault(Fault(method="POST", path="/v1/messages/send", drop="after", times=2))
        code, _, err = await hero_async("worker", "--burst", "--concurrency", "1", env=env)
        assert code == 0, err
        code, out, _ = await hero_async("campaign", "status", "flu", env=env)
        assert "2 outcome_unknown" in out
        code, out, err = await hero_async("campaign", "unknown", "flu", env=env)
        assert code == 0, err
        unknown = [word.split()[0] for word in out.splitlines()[1:] if word.startswith("  ")]
        assert len(unknown) == 2
        first, second = unknown
        for key, outcome in ((first, "sent"), (second, "not-sent")):
            code, out, err = await hero_async(
                "campaign", "resolve", "flu", key, outcome, "--by", "tester", env=env
            )
            assert code == 0, err
            assert "recorded by tester" in out
        code, _, err = await hero_async("campaign", "resolve", "flu", first, "sent", env=env)
        assert (code, "no outcome_unknown entry" in err) == (2, True)
        code, out, _ = await hero_async("campaign", "retry", "flu", env=env)
        assert "1 shards re-opened" in out  # the not-sent key's shard
        code, _, err = await hero_async("worker", "--burst", env=env)
        assert code == 0, err
        report = tmp_path / "report.json"
        await hero_async("campaign", "report", "flu", "--report", str(report), env=env)
        sent = messages_per_key(fake)
    rows = {r["key"]: r for r in json.loads(report.read_text())["results"]}
    assert {r["state"] for r in rows.values()} == {"sent"}
    assert sent[first] == 1  # resolved sent: never sent again
    assert sent[second] == 2  # told "not sent" (here wrongly, to prove it goes out again)


async def test_given_up_shards_fail_the_burst_and_retry_requeues_them(
    database_url: str, tmp_path: Path
) -> None:
    assert _fleet_actions.MAX_ATTEMPTS == MAX_ATTEMPTS
    write_csv(tmp_path / "flu.csv", 10, groups=1)
    async with FakeHero(seed_sandbox=True, log_limit=10_000) as fake:
        build_network(fake)
        env = environment(database_url, fake)
        code, _, err = await hero_async(
            "campaign", "submit", str(tmp_path / "flu.csv"), "--name", "flu",
            "--shard-size", "5", env=env,
        )  # fmt: skip
        assert code == 0, err
        with psycopg.connect(database_url, autocommit=True) as conn:  # shard 1: 10 runs failed
            conn.execute(
                "UPDATE hero_fleet.shards SET attempts = %s WHERE shard = 1", (MAX_ATTEMPTS,)
            )
            conn.execute(
                "UPDATE procrastinate_jobs SET status = 'failed' WHERE args->>'number' = '1'"
            )
        code, _, err = await hero_async("worker", "--burst", env=env)
        assert code == 3, err
        assert "campaign 'flu' shard 1" in err
        code, out, _ = await hero_async("campaign", "status", "flu", env=env)
        assert "given up after 10 runs: shards 1" in out
        code, out, _ = await hero_async("worker", "--help", env=env)
        assert "3    --burst: some shards were given up" in out
        code, out, _ = await hero_async("campaign", "retry", "flu", env=env)
        assert "1 shards re-opened, 1 newly queued" in out
        code, _, err = await hero_async("worker", "--burst", env=env)
        assert code == 0, err
        assert len(messages_per_key(fake)) == 10


async def test_run_shard_directly_twice_sends_once(database_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "flu.csv", 8, groups=1)
    async with FakeHero(seed_sandbox=True, log_limit=10_000) as fake:
        build_network(fake)
        campaign = Campaign(database_url, "flu")
        await campaign.submit(read_invitations(tmp_path / "flu.csv"))
        who = {"api_key": SANDBOX_API_KEY, "practice_group_id": "1001", "base_url": fake.url}
        first = await run_shard(database_url, "flu", 0, **who)
        posts = fake.count(method="POST")
        again = await run_shard(database_url, "flu", 0, **who)
        assert fake.count(method="POST") == posts  # nothing sent the second time
        assert (first["sent"], again["sent"], again["skipped"]) == (8, 0, 8)
        assert (await campaign.status())["finished"] is True


async def test_a_database_url_password_is_never_echoed() -> None:
    for url in (
        "hero:SECRET-PW@127.0.0.1/x",
        f"postgresql://hero:SECRET-PW@127.0.0.1:{closed_port()}/x",
    ):
        code, _, err = await hero_async(
            "campaign", "unknown", "x", "--database", url, env=dict(os.environ)
        )
        assert code == 2, err
        assert "SECRET-PW" not in err
