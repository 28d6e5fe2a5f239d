"""The ledger side of ``hero-async``: the per-user campaign index (a vanished or emptied
ledger stops the run), ``ledger show|resolve``, the unknown-outcome hint and ``--dry-run``.

A FakeHero serves from this test's loop; the real command runs in a subprocess against it
through HERO_BASE_URL (so that variable is tested too), with the sandbox's key.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
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
    listed = [line.split() for line in shown.out.splitlines() if line.startswith("  flu/")]
    assert [row[3] for row in listed] == ["outcome_unknown"]  # only what needs a person
    unknown = listed[0][0]
    dry = await arun(tmp_path, "invite", str(csv), "--dry-run", **_env(fake))
    assert dry.code == 1  # as the real run would: an unknown outcome is exit 1
    assert "2  would skip (already sent)" in dry.out
    assert "1  would report unknown" in dry.out
    assert "WOULD SEND" not in dry.out + dry.err
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


async def test_a_stale_copy_of_the_ledger_is_refused(fake: FakeHero, tmp_path: Path) -> None:
    """Run 1 sends 3 of 6 (3 message POSTs get a 400); the ledger is backed up; run 2 sends
    the other 3. The backup, given with --ledger or restored in place, would send those 3
    again: refused (exit 2, naming the ledger, no request). --new-campaign is the way on."""
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(6)])
    ledger = tmp_path / "flu.csv.ledger.db"
    backup = tmp_path / "backup.db"
    fake.add_fault(Fault(method="POST", path="/v1/messages/send", status=400, times=3))
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 1
    shutil.copy(ledger, backup)
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 0
    assert len(fake.messages) == 6
    requests = fake.count()
    done = await arun(tmp_path, "invite", str(csv), "--ledger", str(backup), **_env(fake))
    assert done.code == 2
    assert f"the ledger {backup} is an older copy of the ledger it ran with at {ledger}" in done.err
    assert "--new-campaign" in done.err
    shutil.copy(ledger, tmp_path / "current.db")
    shutil.copy(backup, ledger)  # a backup restored in place
    for args in ((), ("--dry-run",)):
        done = await arun(tmp_path, "invite", str(csv), *args, **_env(fake))
        assert done.code == 2
        assert f"its ledger {ledger} is an older copy" in done.err
    assert fake.count() == requests  # not one request, not even a token
    shutil.copy(tmp_path / "current.db", ledger)  # the current ledger is back: accepted
    done = await arun(tmp_path, "invite", str(csv), **_env(fake))
    assert done.code == 0, done.err
    assert len(fake.messages) == 6
    fresh = ("--new-campaign", "--ledger", str(backup))
    done = await arun(tmp_path, "invite", str(csv), *fresh, **_env(fake))
    assert done.code == 0, done.err
    assert len(fake.messages) == 9  # asked for, explicitly


async def test_another_ledger_than_the_one_run_with_is_refused(
    fake: FakeHero, tmp_path: Path
) -> None:
    """Not a copy but another ledger (its own ledger id) in the ledger's place: here the one
    of an earlier campaign of the same CSV, in which 2 keys failed that the latest run (a
    --new-campaign one) has sent since. Its counter says nothing about the latest ledger's;
    it is refused before any request, or those 2 patients would be texted again."""
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(4)])
    ledger = tmp_path / "flu.csv.ledger.db"
    fake.add_fault(Fault(method="POST", path="/v1/messages/send", status=400, times=2))
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 1
    shutil.move(ledger, tmp_path / "old.db")
    done = await arun(tmp_path, "invite", str(csv), "--new-campaign", **_env(fake))
    assert done.code == 0, done.err
    requests = fake.count()
    shutil.copy(tmp_path / "old.db", ledger)
    done = await arun(tmp_path, "invite", str(csv), **_env(fake))
    assert done.code == 2
    assert f"its ledger {ledger} is not the ledger it ran with" in done.err
    assert fake.count() == requests


@pytest.mark.parametrize("how", ["truncated", "rows deleted", "another campaign's"])
async def test_emptied_or_foreign_ledger_is_refused_with_no_request(
    fake: FakeHero, tmp_path: Path, how: str
) -> None:
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(3)])
    ledger = tmp_path / "flu.csv.ledger.db"
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 0
    args = ["invite", str(csv)]
    if how == "truncated":
        ledger.write_bytes(b"")
        expected = f"its ledger {ledger} is empty"
    elif how == "rows deleted":
        with contextlib.closing(sqlite3.connect(ledger)) as db, db:
            db.execute("DELETE FROM invitations")
        expected = f"its ledger {ledger} is empty"
    else:  # another campaign (other keys) pointed at flu's ledger
        other = write_excel(tmp_path / "covid.csv", [excel_row(n + 10) for n in range(3)])
        args = ["invite", str(other), "--ledger", str(ledger)]
        expected = "this ledger belongs to campaign 'flu'"
    requests = fake.count()
    done = await arun(tmp_path, *args, **_env(fake))
    assert done.code == 2
    assert expected in done.err
    assert "Traceback" not in done.err
    assert fake.count() == requests


async def test_show_lists_on_stdout_and_not_sent_is_sent_once_on_rerun(
    fake: FakeHero, tmp_path: Path
) -> None:
    """A 500 to one message POST leaves a key outcome_unknown. ``ledger show`` lists it on
    stdout (the hint stays on stderr); a dry run says the ledger holds an unknown and exits 1,
    as the real run would; resolving an unknown key names it and the ledger. After
    ``ledger resolve KEY not-sent`` the re-run sends that key, once, and nothing else."""
    csv = write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(3)])
    ledger = tmp_path / "flu.csv.ledger.db"
    fake.add_fault(Fault(method="POST", path="/v1/messages/send", status=500, times=1))
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 1
    shown = await arun(tmp_path, "ledger", "show", str(ledger))
    assert shown.code == 0, shown.err
    assert shown.out.startswith(f"{ledger}: 3 keys, campaign ")
    listed = [line.split() for line in shown.out.splitlines() if line.startswith("  flu/")]
    assert [row[3] for row in listed] == ["outcome_unknown"]
    assert f"hero-async ledger resolve {ledger} KEY sent|not-sent" in shown.err
    assert "flu/" not in shown.err
    unknown = listed[0][0]
    dry = await arun(tmp_path, "invite", str(csv), "--dry-run", **_env(fake))
    assert dry.code == 1
    assert "1  would report unknown" in dry.out
    assert f"the ledger {ledger} holds 1 key with an unknown outcome" in dry.err
    missing = await arun(tmp_path, "ledger", "resolve", str(ledger), "flu/99", "sent")
    assert missing.code == 2
    assert missing.err.strip() == f"hero-async: no key flu/99 in {ledger}"
    done = await arun(tmp_path, "ledger", "resolve", str(ledger), unknown, "not-sent")
    assert done.code == 0, done.err
    before = len(fake.messages)
    done = await arun(tmp_path, "invite", str(csv), **_env(fake))
    assert done.code == 0, done.err
    assert len(fake.messages) == before + 1
    assert (await arun(tmp_path, "invite", str(csv), **_env(fake))).code == 0
    assert len(fake.messages) == before + 1  # and never again
