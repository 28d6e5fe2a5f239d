"""Helpers for the CLI tests: the real ``hero-async`` command in a subprocess, and CSV files
written the way Excel writes them (BOM, CRLF, spreadsheet headers, trailing ",,,," rows)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
COMMAND = (sys.executable, "-m", "hero_async.cli")
EXCEL_HEADER = (
    "Key",
    "practice_group_id",
    "NHS Number",
    "Date of birth",
    "First name",
    "Surname",
    "Postcode",
    "Appointment Type ID",
    "location id",
)
# Valid mod-11 NHS numbers (PDS in the sandbox registers any of them).
NHS = ("9434765005", "9434765013", "9434765021", "9434765048", "9434765056", "9434765064")


@attrs.frozen
class Done:
    code: int
    out: str
    err: str


def environment(state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERO_", "FORCE_COLOR"))}
    env.update(XDG_STATE_HOME=str(state), PYTHONPATH=str(ROOT), **extra)
    return env


def run(cwd: Path, *args: str, **env: str) -> Done:
    """The command, to completion (sync tests: the sandbox runs inside the child)."""
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [*COMMAND, *args],
        cwd=cwd,
        env=environment(cwd / "state", **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


async def arun(cwd: Path, *args: str, **env: str) -> Done:
    """The command, awaited: for tests that serve a FakeHero in their own loop meanwhile."""
    child = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        cwd=cwd,
        env=environment(cwd / "state", **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode is not None
    return Done(child.returncode, out.decode(), err.decode())


def excel_row(n: int, group: str = "1002", dob: str = "31/01/1980") -> list[str]:
    return [f"flu/{n}", group, NHS[n % len(NHS)], dob, "Test", f"Patient{n}", "LS1 4AP", "10", "20"]


def write_excel(
    path: Path,
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = EXCEL_HEADER,
    *,
    encoding: str = "utf-8-sig",
    blank_rows: int = 3,
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    writer.writerows([[""] * len(header)] * blank_rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
