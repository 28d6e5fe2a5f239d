"""A run's process mark (``runs.proc``) over a process's life: the mark is what tells a live
run from a dead one whose pid was reused, so a live run judged dead has its in-flight claims
swept, and its patients may be texted twice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hero_async.bulk import _sqlite_schema
from hero_async.bulk._sqlite_schema import process_alive, process_mark

ROOT = Path(__file__).resolve().parents[2]

# Grows by 256 MiB of address space when told to, then waits for its stdin to close.
_GROWER = """
import sys
print("ready", flush=True)
sys.stdin.readline()
ballast = bytearray(256 << 20)
print("grown", flush=True)
sys.stdin.read()
"""


@contextmanager
def _grower() -> Iterator[subprocess.Popen[str]]:
    program = [sys.executable, "-c", _GROWER]
    with subprocess.Popen(  # noqa: S603 - our snippet
        program, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        yield child


def test_a_run_whose_process_grew_is_still_that_run() -> None:
    """The mark holds the start time, which never changes: not a field next to it in
    /proc/<pid>/stat that moves as the process allocates memory."""
    with _grower() as child:
        assert child.stdin is not None
        assert child.stdout is not None
        mark = process_mark(child.pid)
        assert mark is not None
        child.stdin.write("grow\n")
        child.stdin.flush()
        assert child.stdout.readline() == "grown\n"
        assert process_alive(child.pid, mark) is True
        assert process_mark(child.pid) == mark
        child.stdin.close()
    assert child.returncode == 0


def test_a_process_proc_cannot_describe_is_not_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    """It answered a signal, but /proc could not be read (it exited in between, or /proc is
    hidden): neither alive nor dead, the lease decides."""
    mine = process_mark(os.getpid())
    monkeypatch.setattr(_sqlite_schema, "_process", lambda pid: None)
    assert process_alive(os.getpid(), mine) is None


@pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="a new pid namespace needs unshare(1) and root (CI has both)",
)
def test_a_run_recorded_in_another_pid_namespace_is_judged_by_its_lease() -> None:
    """A container on this machine sharing its hostname: its pid 1 is not our pid 1, so our
    /proc must not call its run dead (nor alive)."""
    code = "import os; from hero_async.bulk._sqlite_schema import process_mark as m; print(m(1))"
    inside = subprocess.run(  # noqa: S603 - fixed arguments, our snippet
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout.strip()
    assert inside not in ("", "None")
    assert inside != process_mark(1)
    assert process_alive(1, inside) is None
