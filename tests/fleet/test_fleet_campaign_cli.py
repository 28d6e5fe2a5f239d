"""A campaign end to end with the real command: submit, two burst workers, status, report.

FakeHero is served from this test's event loop; the workers are real ``hero-async``
processes on one real PostgreSQL database. Duplicates are counted from the fake's log.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import json
import os
import re
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "reliability"))
from reliability_support import GROUPS, LOCATION_ID, TYPE_ID, build_network, nhs_numbers

from hero_async.testing import SANDBOX_API_KEY, FakeHero

HERO = str(Path(sys.executable).with_name("hero-async"))
FIELDS = [
    "key",
    "practice_group_id",
    "appointment_type_id",
    "location_id",
    "nhs_number",
    "dob",
    "message_template",
]


def write_csv(path: Path, n: int, groups: int, bad: int = 0) -> set[str]:
    numbers = nhs_numbers(100_000_000)
    keys = set()
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for i in range(n):
            key = f"k{i:05d}"
            keys.add(key)
            nhs = "123" if i < bad else next(numbers)  # a bad NHS number fails at submit
            writer.writerow(
                [
                    key,
                    GROUPS[i % groups],
                    TYPE_ID,
                    LOCATION_ID,
                    nhs,
                    "1980-01-31",
                    f"[{key}] Book your flu jab: {{link}}",
                ]
            )
    return keys


async def hero_async(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        HERO, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def messages_per_key(fake: FakeHero) -> collections.Counter[str]:
    sent: collections.Counter[str] = collections.Counter()
    for request in fake.requests:
        if request.path == "/v1/messages/send" and (
            200 <= request.status < 300 or request.fault == "drop_after"
        ):
            match = re.match(r"\[(k\d+)\]", request.body["message_string"])
            assert match is not None
            sent[match.group(1)] += 1
    return sent


async def test_submit_two_burst_workers_then_report(database_url: str, tmp_path: Path) -> None:
    keys = write_csv(tmp_path / "flu.csv", 150, groups=3, bad=2)
    write_csv(tmp_path / "other.csv", 10, groups=1)
    async with FakeHero(seed_sandbox=True, log_limit=100_000) as fake:
        build_network(fake)
        env = {
            **os.environ,
            "HERO_DATABASE_URL": database_url,
            "HERO_API_KEY": SANDBOX_API_KEY,
            "HERO_PRACTICE_GROUP_ID": "1001",
            "HERO_BASE_URL": fake.url,
        }
        code, out, err = await hero_async(
            "campaign",
            "submit",
            str(tmp_path / "flu.csv"),
            "--name",
            "flu",
            "--shard-size",
            "20",
            env=env,
        )
        assert code == 0, err
        assert "150 invitations, 2 invalid" in out
        code, out, _ = await hero_async(
            "campaign", "submit", str(tmp_path / "flu.csv"), "--name", "flu", env=env
        )
        assert (code, "already submitted" in out) == (0, True)
        code, _, err = await hero_async(
            "campaign", "submit", str(tmp_path / "other.csv"), "--name", "flu", env=env
        )
        assert (code, "another input" in err) == (2, True)
        workers = [
            hero_async("worker", "--burst", "--rate-limit", "500", "--concurrency", "8", env=env)
            for _ in range(2)
        ]
        for code, _, err in await asyncio.gather(*workers):
            assert code == 0, err
        report_path = tmp_path / "report.json"
        code, _, err = await hero_async(
            "campaign", "report", "flu", "--report", str(report_path), env=env
        )
        assert code == 1, err  # the two bad rows failed
        code, out, _ = await hero_async("campaign", "status", "flu", "--json", env=env)
        assert json.loads(out)["finished"] is True
        sent = messages_per_key(fake)
    report = json.loads(report_path.read_text())
    rows = report["results"]
    assert sorted(r["key"] for r in rows) == sorted(keys)  # every key once
    assert report["counts"] == {"sent": 148, "failed": 2, "skipped": 0, "outcome_unknown": 0}
    assert (set(sent.values()), len(sent)) == ({1}, 148)  # nobody texted twice
    assert {r["message_id"] for r in rows if r["state"] == "sent"} != {None}


@pytest.mark.parametrize("argv", [["worker"], ["campaign", "status", "x"]])
async def test_without_a_database_url_it_says_so(argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HERO_DATABASE_URL"}
    code, _, err = await hero_async(*argv, env=env)
    assert (code, "HERO_DATABASE_URL" in err) == (2, True)


async def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://hero:SECRET-PW@127.0.0.1:{port}/x"
    code, _, err = await hero_async(
        "campaign", "status", "x", "--database", url, env=dict(os.environ)
    )
    assert (code, err.startswith("hero-async: database:")) == (2, True), err
    assert "SECRET-PW" not in err
    assert len(err.strip().splitlines()) == 1
