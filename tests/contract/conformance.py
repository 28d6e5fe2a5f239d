"""``nox -s conformance``: Schemathesis fuzzes the standalone fake from ``spec/openapi.yaml``.

Starts ``python -m hero_async.testing`` on a free 127.0.0.1 port (the sandbox world, so the
sandbox API key is accepted), waits for its "listening" line, runs ``schemathesis run`` with
a fixed seed and bounded examples, and stops the fake whatever happens. It fails on 5xx, on
answers that break the response schemas and on invalid requests the fake accepts
(``negative_data_rejection``), so the fake and the description cannot drift apart. The checks
and the sandbox ids that let reads and appointment operations reach their 200 answers are in
``schemathesis.toml``.

Usage: ``python tests/contract/conformance.py [extra schemathesis options]``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "openapi.yaml"
CONFIG = pathlib.Path(__file__).with_name("schemathesis.toml")
SEED = 20261201
# 100 examples per operation: ~5,000 requests, ~50 s on 2 vCPUs (measured 2026-12-01).
MAX_EXAMPLES = os.environ.get("CONFORMANCE_MAX_EXAMPLES", "100")
STARTUP_TIMEOUT = 30.0  # seconds for the fake to print its URL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_fake(port: int, errors: IO[bytes]) -> subprocess.Popen[str]:
    """The fake's stderr goes to ``errors``: aiohttp logs a traceback for each request
    Schemathesis sends with a NUL byte in a header (a probe), which is noise unless we fail."""
    fake = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no user input
        [sys.executable, "-m", "hero_async.testing", "--port", str(port), "--log-limit", "0"],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    assert fake.stdout is not None
    while time.monotonic() < deadline:
        line = fake.stdout.readline()
        if "listening on" in line:
            return fake
        if not line and fake.poll() is not None:
            break
    fake.kill()
    raise SystemExit("the fake did not start")


def schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(pathlib.Path(sys.executable).parent))
    return found or "schemathesis"


def main(extra: list[str]) -> int:
    with tempfile.TemporaryFile() as errors:
        return run(extra, errors)


def run(extra: list[str], errors: IO[bytes]) -> int:
    from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID

    port = free_port()
    fake = start_fake(port, errors)
    started = time.monotonic()
    code = 1
    try:
        command = [
            schemathesis(), "--config-file", str(CONFIG), "run", str(SPEC),
            "--url", f"http://127.0.0.1:{port}",
            "--header", f"x-api-key: {SANDBOX_API_KEY}",
            "--header", f"x-practice-group-id: {SANDBOX_PRACTICE_GROUP_ID}",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", MAX_EXAMPLES,
            "--seed", str(SEED),
            "--workers", "1",
            "--no-shrink",
            "--generation-with-security-parameters", "false",  # always our sandbox key
            "--generation-database", "none",
            *extra,
        ]  # fmt: skip
        with tempfile.TemporaryDirectory() as scratch:  # Schemathesis leaves a cache dir
            code = subprocess.run(command, cwd=scratch, check=False).returncode  # noqa: S603
        return code
    finally:
        fake.terminate()
        try:
            fake.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fake.kill()
            fake.wait()
        print(f"conformance: schemathesis ran {time.monotonic() - started:.1f}s", flush=True)
        if code != 0 or fake.returncode not in (0, -15):
            errors.seek(0)
            print(errors.read()[-4000:].decode("utf-8", "replace"), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
