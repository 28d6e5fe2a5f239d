"""A throwaway PostgreSQL cluster for tests, CI and benchmarks (standard library only).

    python3 tests/fleet/pgcluster.py start DIR   # prints the URL; DIR must not exist yet
    python3 tests/fleet/pgcluster.py stop DIR
    python3 tests/fleet/pgcluster.py bindir      # exits 1 when no server is installed

It listens on 127.0.0.1 only, on a free port, with a random password (scram-sha-256), its
socket and data inside DIR. PostgreSQL refuses to run as root, so as root every server
command runs as the ``postgres`` user and DIR is handed to it. ``fsync=off`` by default:
tests kill workers, never the server, so durability against power loss buys them nothing.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["Cluster", "find_bindir", "start", "stop"]

USER = "hero"
_URL_FILE = "url"


def find_bindir() -> Path | None:
    """PG_BINDIR, else ``pg_config --bindir``, else the newest /usr/lib/postgresql/*/bin."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run(  # noqa: S603 - pg_config from PATH, fixed arguments
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0


class Cluster:
    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url

    def stop(self) -> None:
        stop(self.root)


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str]) -> None:
    done = subprocess.run(  # noqa: S603 - PostgreSQL's own binaries, arguments built here
        _as_server_user(argv), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed: {done.stdout}{done.stderr}"[-2000:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(root: Path | None = None, *, fsync: bool = False) -> Cluster:
    """initdb + pg_ctl start in ``root`` (a new temp dir by default); raises RuntimeError."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found")
    root = Path(tempfile.mkdtemp(prefix="hero-pg-")) if root is None else root
    root.mkdir(mode=0o700, exist_ok=True)
    password = secrets.token_urlsafe(18)
    (root / "pw").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    data = root / "data"
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth=scram-sha-256",
            f"--pwfile={root / 'pw'}",
        ]
    )
    (root / "pw").unlink()
    for _attempt in range(5):  # the free port may be taken between probe and bind
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
            f" -c max_connections=300 -c fsync={'on' if fsync else 'off'}"
        )
        try:
            _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(root / "log"),
                    "-w",
                    "-o",
                    options,
                    "start",
                ]
            )
        except RuntimeError:
            continue
        url = f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"
        (root / _URL_FILE).write_text(url)
        return Cluster(root, url)
    raise RuntimeError("PostgreSQL did not start: " + _tail(root / "log"))


def _tail(path: Path) -> str:
    try:
        return path.read_text()[-1500:]
    except OSError:
        return "(no log)"


def stop(root: Path) -> None:
    """Stop the server (immediate: nothing in it is worth a checkpoint) and delete ``root``."""
    bindir = find_bindir()
    if bindir is not None and (root / "data" / "postmaster.pid").exists():
        subprocess.run(  # noqa: S603 - pg_ctl with arguments built here
            _as_server_user(
                [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            check=False,
        )
    shutil.rmtree(root, ignore_errors=True)


def _main(argv: list[str]) -> int:
    if argv[:1] == ["bindir"]:
        bindir = find_bindir()
        print(bindir or "no PostgreSQL server binaries found")
        return 0 if bindir else 1
    if len(argv) == 2 and argv[0] in ("start", "stop"):
        if argv[0] == "start":
            print(start(Path(argv[1])).url)
        else:
            stop(Path(argv[1]))
        return 0
    print("usage: pgcluster.py start DIR | stop DIR | bindir", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
