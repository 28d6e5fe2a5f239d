"""Ledger commit failures on a real filesystem (issue 16): a disk that fills mid-job and a
mount that turns read-only. Both must stop the job with LedgerUnavailableError before anything
further is sent, never be swallowed. A small tmpfs is mounted for each test, which needs root
(CI runs as root); the locked-database case in test_ledger.py runs everywhere."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from bulk_support import LINKS, MESSAGES, invitation, sandbox

from hero_async import SqliteLedger
from hero_async.bulk import LedgerUnavailableError


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0  # noqa: S603, S607


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a real filesystem that can be filled or remounted read-only."""
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")  # pragma: no cover
    if not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)):
        pytest.skip("this machine refuses a tmpfs mount")  # pragma: no cover
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)  # noqa: S603, S607


def _fill(folder: Path) -> None:
    """Write until the filesystem says it is full."""
    with contextlib.suppress(OSError), (folder / "filler").open("wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 4096)


async def test_a_disk_that_fills_mid_job_stops_it_before_anything_further_is_sent(
    small_fs: Path,
) -> None:
    ledger = SqliteLedger(small_fs / "full.db")
    filled_at: list[int] = []
    async with sandbox() as (fake, hero):

        def progress(result: object) -> None:
            if len(fake.messages) >= 10 and not filled_at:
                _fill(small_fs)
                filled_at.append(len(fake.messages) + fake.count(path=LINKS))

        with pytest.raises(LedgerUnavailableError):
            await hero.send_invitations(
                [invitation(i) for i in range(300)],
                ledger=ledger,
                concurrency=4,
                on_progress=progress,
            )
        created = len(fake.messages) + fake.count(path=LINKS)
    assert filled_at
    # Only requests whose claims were committed before the disk filled may still go out.
    assert created - filled_at[0] <= 4
    assert fake.count(path=MESSAGES) < 300
    with contextlib.suppress(LedgerUnavailableError):
        await ledger.close()


async def test_a_read_only_mount_stops_the_job_before_any_request(small_fs: Path) -> None:
    path = small_fs / "ro.db"
    SqliteLedger(path)._db.close()
    assert _mount("-o", "remount,ro", str(small_fs))
    async with sandbox() as (fake, hero):
        with pytest.raises(LedgerUnavailableError):
            await hero.send_invitations([invitation(i) for i in range(5)], ledger=path)
        assert fake.count(path=LINKS) == fake.count(path=MESSAGES) == 0
