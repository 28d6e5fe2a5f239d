"""Two and four OS processes run the same job on one SQLite ledger against one FakeHero
(served by this process): each key is sent once, counted from the fake's own records."""

from __future__ import annotations

import asyncio
import collections
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "reliability"))
from reliability_support import build_network, fake_links, key_of_message

from hero_async.bulk import SqliteLedger
from hero_async.testing import FakeHero, Fault

CHILD = Path(__file__).parent.parent / "reliability" / "chaos_child.py"
ROWS = 2000


async def _job(url: str, ledger: Path) -> collections.Counter[str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        "job",
        url,
        str(ledger),
        "7",
        str(ROWS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=CHILD.parent,
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()[-2000:]
    lines = out.decode().splitlines()
    assert lines[-1] == "DONE"
    return collections.Counter(line.split()[1] for line in lines if line.startswith("PROGRESS"))


@pytest.mark.parametrize("processes", [2, 4])
async def test_processes_share_one_ledger_and_send_each_key_once(
    processes: int, tmp_path: Path
) -> None:
    ledger = tmp_path / "job.db"
    async with FakeHero(seed_sandbox=True, seed=7, log_limit=0) as fake:
        build_network(fake)
        fake.add_fault(Fault(latency=0.001, times=None))  # keep requests overlapping
        reports = await asyncio.gather(*(_job(fake.url, ledger) for _ in range(processes)))
        per_key = collections.Counter(key_of_message(m.message_string) for m in fake.messages)
        links = collections.Counter((group, patient) for group, _, patient in fake_links(fake))
    assert per_key, "nothing was sent"
    assert max(per_key.values()) == 1  # 0 duplicate messages
    assert max(links.values()) == 1  # 0 duplicate links
    for report in reports:  # every process accounted for every row
        assert sum(report.values()) == ROWS
    sent = sum(report["sent"] for report in reports)
    assert sent == len(fake.messages)  # each message reported sent by exactly one process
    store = SqliteLedger(ledger)
    rows = store.read_entries()
    store._db.close()
    assert sum(row.state == "sent" for row in rows) == len(fake.messages)
    assert not [row for row in rows if row.state.endswith("_claimed")]
    assert len({row.owner for row in rows if row.state == "sent"}) >= 2  # work was shared
