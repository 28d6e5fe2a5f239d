"""Child processes: the servers and the client workers. Each is bounded in time and killed in
a ``finally``, so an interrupted run leaves nothing listening."""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PIPE = subprocess.PIPE

HERE = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0


class BenchError(RuntimeError):
    pass


def _spawn(script: str, *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    """This interpreter running one of our own scripts: no shell, no outside input."""
    cmd = [sys.executable, str(HERE / script), *args]
    return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, text=True)  # noqa: S603


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _first_line(proc: subprocess.Popen[str], what: str) -> str:
    """The next line a child prints (e.g. once listening), waiting at most STARTUP_TIMEOUT."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], STARTUP_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line:
        raise BenchError(f"no {what} within {STARTUP_TIMEOUT:.0f} s")
    return line


@contextlib.contextmanager
def own_server(latency_ms: float = 0.0) -> Iterator[tuple[str, int]]:
    """The benchmark's canned-answer server on 127.0.0.1; yields (base_url, pid)."""
    proc = _spawn("_server.py", "--latency-ms", str(latency_ms))
    try:
        port = int(_first_line(proc, "benchmark server").split()[1])
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        _stop(proc)


class FakeProcess:
    """``_fake_server.py`` (FakeHero) in a child process, commanded over a pipe."""

    def __init__(self, extra_groups: int) -> None:
        self.proc = _spawn("_fake_server.py", "--extra-groups", str(extra_groups), stdin=PIPE)
        self.url: str = json.loads(_first_line(self.proc, "FakeHero"))["url"]

    def command(self, **command: Any) -> dict[str, Any]:
        self._write(command)
        answer: dict[str, Any] = json.loads(_first_line(self.proc, "FakeHero answer"))
        return answer

    def _write(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._write({"cmd": "quit"})  # answered by exiting, not by a line
        _stop(self.proc)


@contextlib.contextmanager
def fake_server(extra_groups: int) -> Iterator[FakeProcess]:
    fake = FakeProcess(extra_groups)
    try:
        yield fake
    finally:
        fake.close()


def run_worker(spec: dict[str, Any], timeout: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``_worker.py`` with ``spec``; returns its ready line and one dict per job."""
    proc = _spawn("_worker.py", json.dumps(spec))
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"client worker exceeded {timeout:.0f} s; spec: {spec}") from None
    finally:
        _stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"client worker failed (exit {proc.returncode}); spec: {spec}")
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return lines[0], lines[1:]
