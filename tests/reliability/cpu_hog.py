"""Run a command while every CPU core is kept busy: ``python cpu_hog.py COMMAND...``.

``nox`` runs the reliability suite this way (and so ``.ci/run``) to prove that no outcome there
depends on real timing: a test that passes alone but fails on a loaded machine was deciding
something with a real sleep or a real timeout. One busy process per core, at normal priority,
so the suite competes for every core; they are killed in a ``finally`` and the command's exit
status is returned.
"""

from __future__ import annotations

import os
import subprocess
import sys

BUSY = "while True: pass"


def main(command: list[str]) -> int:
    if not command:
        raise SystemExit("usage: cpu_hog.py COMMAND [ARGS...]")
    hogs = [
        subprocess.Popen([sys.executable, "-c", BUSY])  # noqa: S603 - fixed, our own code
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        return subprocess.call(command)  # noqa: S603 - the command CI gives us
    finally:
        for hog in hogs:
            hog.kill()
        for hog in hogs:
            hog.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
