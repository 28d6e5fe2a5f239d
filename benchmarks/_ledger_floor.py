"""What the durable ledger's writes cost per request, in parts: the floor under its target.

``SqliteLedger`` writes three rows per invitation (the link claim, the message claim with the
link's answer, the sent row) and reads one, and commits the writes of concurrent workers
together. This runs exactly those statements (``_sqlite_schema``'s, in their usual shapes)
in transactions of ``b`` invitations, three ways, and prints client CPU time (user + system)
per request (two requests per invitation; the median of three runs):

* ``memory``: an in-memory database: SQLite's and sqlite3's own work, no file at all;
* ``file, sync OFF``: the ledger's file and rollback journal, never synced;
* ``file, sync FULL``: the ledger's crash-safe mode (journal TRUNCATE, synchronous FULL).

``--observe`` also runs the real pipeline (``send_invitations`` at concurrency 50 against
``_server.py``, as the benchmark's ledger rows do) four ways: ``ledger=None``; a durable
ledger as shipped; the same never synced; and never synced but with the event loop then
put to sleep after each commit for as long as a synced commit took (the loop blocked, with
no CPU spent). It prints CPU µs per request, and statements and wall ms per commit: how many
invitations a commit carries there (which ``b`` above applies), and what blocking the loop
costs by itself.

    python benchmarks/_ledger_floor.py [--observe] [b ...]
"""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from hero_async.bulk import LedgerEntry

HERE = Path(__file__).resolve().parent
INVITATIONS = 3000
REPEATS = 3  # medians: a busy machine moves single runs by a third


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rows(i: int) -> tuple[LedgerEntry, LedgerEntry, LedgerEntry]:
    from hero_async.bulk import LedgerEntry, State

    new = LedgerEntry(f"{i:064x}", "g", State.LINK_CLAIMED, f"p{i}", step="link", fingerprint="f")
    claimed = new._replace(state=State.MESSAGE_CLAIMED, link_id=f"{i}", short_link=f"s{i}")
    return new, claimed, claimed._replace(state=State.SENT, message_id=f"m{i}")


def per_request(where: str, b: int) -> float:
    """CPU µs per request of the ledger's statements, ``b`` invitations per commit."""
    from hero_async.bulk._sqlite_schema import CLAIM, INSERT, SELECT, SETTLE, migrate

    with tempfile.TemporaryDirectory(prefix="hero-floor-") as folder:
        path = ":memory:" if where == "memory" else str(Path(folder) / "l.db")
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=TRUNCATE")
        db.execute(f"PRAGMA synchronous={'OFF' if where == 'file, sync OFF' else 'FULL'}")
        migrate(db)
        cursor, reader = db.cursor(), db.cursor()
        rows = [_rows(i) for i in range(INVITATIONS)]
        start = _cpu()
        for first in range(0, INVITATIONS, b):
            batch = rows[first : first + b]
            for new, _, _ in batch:  # the pipeline's read of each key, outside a transaction
                reader.execute(SELECT + " WHERE key = ?", (new.key,)).fetchall()
            cursor.execute("BEGIN IMMEDIATE")
            for new, claimed, sent in batch:
                sql, fields = INSERT.args(new)
                cursor.execute(sql, (*fields, 1, "run", 1.0))
                sql, fields = CLAIM.args(claimed)
                cursor.execute(sql, (*fields, 2, "run", 1.0, new.key, 1, "run", 1, 0, 1))
                sql, fields = SETTLE.args(sent)
                cursor.execute(sql, (*fields, 1.0, new.key, 2, "run", 1))
            cursor.execute("COMMIT")
        spent = _cpu() - start
        db.close()
    return spent / (2 * INVITATIONS) * 1e6


class _Variant(NamedTuple):
    name: str
    sync: str | None  # None: ledger=None
    pause: bool = False  # sleep as long as a crash-safe commit blocks, after each commit


VARIANTS = (
    _Variant("ledger=None", None),
    _Variant("ledger=path, sync FULL (as shipped)", "FULL"),
    _Variant("ledger=path, sync OFF", "OFF"),
    _Variant("ledger=path, sync OFF + a sleep as long as a FULL commit", "OFF", pause=True),
)


async def _pipeline(url: str, variant: _Variant, blocked: float) -> tuple[float, float, float]:
    """(CPU µs per request, statements per commit, wall ms per commit) of one job."""
    import _workloads

    from hero_async.bulk import _sqlite

    commits, statements, walls = [0], [0], [0.0]
    unsynced: list[_sqlite.SqliteLedger] = []
    commit = _sqlite.SqliteLedger._commit

    def measured(self: _sqlite.SqliteLedger) -> None:
        if not self._ops:
            return commit(self)
        if variant.sync == "OFF" and self not in unsynced:
            self._db.execute("PRAGMA synchronous=OFF")
            unsynced.append(self)
        commits[0] += 1
        statements[0] += len(self._ops)
        started = time.perf_counter()
        commit(self)
        walls[0] += time.perf_counter() - started
        if variant.pause:  # the loop blocked, without the CPU an fsync costs
            time.sleep(blocked)
        return None

    _sqlite.SqliteLedger._commit = measured  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory(prefix="hero-floor-") as folder:
            ledger = None if variant.sync is None else Path(folder) / "l.db"
            cpu = _cpu()
            await _workloads.sdk_invitations(url, INVITATIONS, 50, ledger=ledger)
            cpu = _cpu() - cpu
    finally:
        _sqlite.SqliteLedger._commit = commit  # type: ignore[method-assign]
    per_commit = max(commits[0], 1)
    return cpu / (2 * INVITATIONS) * 1e6, statements[0] / per_commit, walls[0] / per_commit * 1e3


async def _observe(url: str) -> None:
    sys.path.insert(0, str(HERE))
    import _workloads

    await _workloads.sdk_invitations(url, 200, 50)  # warm-up
    results: dict[str, list[tuple[float, float, float]]] = {v.name: [] for v in VARIANTS}
    for round_ in range(REPEATS):
        blocked = statistics.median(r[2] for r in results[VARIANTS[1].name] or [(0, 0, 2.5)])
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            results[variant.name].append(await _pipeline(url, variant, blocked / 1000))
    print(f"the pipeline, concurrency 50, {INVITATIONS} invitations, medians of {REPEATS}:")
    for variant in VARIANTS:
        cpu, statements, wall = (
            statistics.median(r[i] for r in results[variant.name]) for i in range(3)
        )
        extra = (
            f"; {statements:.1f} statements and {wall:.2f} ms per commit" if variant.sync else ""
        )
        print(f"  {variant.name}: {cpu:.0f} µs CPU per request{extra}")


def observe() -> None:
    """The pipeline with the ledger four ways (``VARIANTS``), against ``_server.py``."""
    server = subprocess.Popen(  # noqa: S603 - ours
        [sys.executable, str(HERE / "_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        asyncio.run(_observe(f"http://127.0.0.1:{port}"))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.modules["orjson"] = None  # type: ignore[assignment]  # plain, as the ledger row runs
    args = sys.argv[1:]
    if "--observe" in args:
        args.remove("--observe")
        observe()
    per_request("memory", 10)  # warm-up: imports, the statement cache
    print("invitations per commit | memory | file, sync OFF | file, sync FULL  (CPU µs/request)")
    for b in [int(a) for a in args] or [5, 10, 25]:
        cells = [
            statistics.median(per_request(where, b) for _ in range(REPEATS))
            for where in ("memory", "file, sync OFF", "file, sync FULL")
        ]
        print(f"{b:>22} | " + " | ".join(f"{cell:6.1f}" for cell in cells))
