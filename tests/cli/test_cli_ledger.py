"""The ledger side of ``hero-async``: the per-user campaign index (a vanished or emptied
ledger stops the run), ``ledger show|resolve``, the unknown-outcome hint and ``--dry-run``.

A FakeHero serves from this test's loop; the real command runs in a subprocess against it
through HERO_BASE_URL (so that variable is tested too), with the sandbox's key.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cli_support import arun, excel_row, write_excel

from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero
from hero_async.testing._faults import Fault


@pytest.fixture
async def fake() -> AsyncIterator[FakeHero]:
    async with FakeHero(seed_sandbox=True) as server:
        yield server


def _env(fake: FakeHero) -> dict[str, str]:
    return {
        "HERO_BASE_URL": fake.url,
        "HERO_API_KEY": SANDBOX_API_KEY,
        "HERO_PRACTICE_GROUP_ID": SANDBOX_PRACTICE_GROUP_ID,
    }


async def test_vanished_or_emptied_ledger_stops_the_rerun(fake: FakeHero, tmp_path: Path) -> None:
    """Run 1 sends 4 (ledger beside the CSV). With the ledger deleted, a re-run exits 2 naming
    it and sends nothing; a copy of the CSV under another name (same keys) is recognised too;
    --new-campaign is the explicit way on."""
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(4)])
    ledger = tmp_path / "flu.csv.ledger.db"
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 0
    assert len(fake.messages) == 4
    ledger.unlink()
    done = await arun(tmp_path, "invite", str(csv), **_env(fake))
    assert done.code == 2
    assert f"its ledger {ledger} is missing" in done.err
    assert "--new-campaign" in done.err
    copy = shutil.copy(csv, tmp_path / "flu-copy.csv")
    done = await arun(tmp_path, "invite", str(copy), "--dry-run", **_env(fake))
    assert done.code == 2
    assert f"(as {csv}, with the same keys)" in done.err
    assert len(fake.messages) == 4  # nothing was sent twice
    done = await arun(tmp_path, "invite", str(csv), "--new-campaign", **_env(fake))
    assert done.code == 0, done.err
    assert len(fake.messages) == 8  # asked for, explicitly


async def test_unknown_outcome_hint_show_and_resolve(fake: FakeHero, tmp_path: Path) -> None:
    """A 500 to one message POST leaves that key outcome_unknown: the run exits 1 and says
    how to settle it; ``ledger show`` lists it; ``ledger resolve ... sent --by`` records who;
    the re-run then skips it and exits 0 without texting anyone again. A dry run before the
    re-run summarises from the ledger instead of listing rows."""
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(3)])
    ledger = tmp_path / "flu.csv.ledger.db"
    fake.add_fault(Fault(method="POST", path="/v1/messages/send", status=500, times=1))
    done = await arun(tmp_path, "invite", str(csv), **_env(fake))
    assert done.code == 1
    assert f"hero-async ledger resolve {ledger} KEY sent|not-sent" in done.err
    shown = await arun(tmp_path, "ledger", "show", str(ledger))
    assert shown.code == 0
    listed = [line.split() for line in shown.err.splitlines() if line.startswith("  flu/")]
    assert [row[3] for row in listed] == ["outcome_unknown"]  # only what needs a person
    unknown = listed[0][0]
    dry = await arun(tmp_path, "invite", str(csv), "--dry-run", **_env(fake))
    assert dry.code == 0
    assert "2  would skip (already sent)" in dry.err
    assert "1  would report unknown" in dry.err
    assert "WOULD SEND" not in dry.err
    done = await arun(tmp_path, "ledger", "resolve", str(ledger), unknown, "sent", "--by", "alice")
    assert done.code == 0, done.err
    assert "alice" in done.err
    messages = len(fake.messages)
    done = await arun(tmp_path, "invite", str(csv), **_env(fake))
    assert done.code == 0, done.err
    assert len(fake.messages) == messages
    again = await arun(tmp_path, "ledger", "resolve", str(ledger), unknown, "not-sent")
    assert again.code == 2  # only an unknown outcome can be resolved
    assert "Traceback" not in again.err
