"""``hero-async ledger show|resolve``: look into a ledger; settle an unknown outcome.

An outcome_unknown key is one where Hero may have texted the patient: the job never resends
it on its own. After checking with the practice (or Hero's dashboard), a person records what
happened: ``sent`` makes the key final, ``not-sent`` lets the next run send it. Who recorded
it, and when, goes into the ledger row. ``show`` lists on stdout; hints go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import sqlite3
from pathlib import Path

from ..bulk import SqliteLedger, State
from ._invite import LEDGER_SUFFIX
from ._output import UsageError, line, out, run_async

SHOWN_ROWS = 50  # rows listed by ``show`` unless --all
_SQLITE_MAGIC = b"SQLite format 3\x00"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="counts per state and the keys that need a person")
    show.add_argument("ledger", type=Path, help="ledger file (FILE.csv.ledger.db)")
    show.add_argument("--all", action="store_true", help="list every key, not just unknowns")
    resolve = actions.add_parser(
        "resolve", help="record whether an outcome_unknown key was sent, after checking"
    )
    resolve.add_argument("ledger", type=Path, help="ledger file (FILE.csv.ledger.db)")
    resolve.add_argument("key", help="the invitation key, as in the report")
    resolve.add_argument("outcome", choices=("sent", "not-sent"))
    resolve.add_argument(
        "--by", default=None, help="who checked (default: your login name); kept in the ledger"
    )


def run(args: argparse.Namespace) -> int:
    if not args.ledger.is_file():
        raise UsageError(f"{args.ledger}: no such ledger")
    if not is_ledger(args.ledger):  # opening it as one would add a ledger's tables to it
        raise UsageError(
            f"{args.ledger} is not a hero-async ledger (a run keeps its ledger beside the "
            f"CSV, named FILE.csv{LEDGER_SUFFIX}, unless given --ledger)"
        )
    return run_async(_show(args) if args.action == "show" else _resolve(args))


def is_ledger(path: Path) -> bool:
    """A SQLite file with a ledger's table, looked at read-only (nothing is created)."""
    with open(path, "rb") as handle:
        if handle.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            return False
    try:
        uri = path.resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=10)) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'invitations'"
            ).fetchone()
    except sqlite3.DatabaseError:  # a damaged file that starts like SQLite
        return False
    return found is not None


async def _show(args: argparse.Namespace) -> int:
    store = SqliteLedger(args.ledger)
    try:
        campaign = await store.campaign()
        counts = await store.counts()
        entries = await store.entries()
    finally:
        await store.close()
    name = f"campaign {campaign.name} ({campaign.fingerprint})" if campaign else "no campaign"
    out(f"{args.ledger}: {sum(counts.values())} keys, {name}")
    out("  " + ", ".join(f"{state} {n}" for state, n in counts.items() if n))
    wanted = [e for e in entries if args.all or e.state == State.UNKNOWN]
    for entry in wanted[: None if args.all else SHOWN_ROWS]:
        step = f" at {entry.step}" if entry.step else ""
        error = f" - {entry.error}" if entry.error else ""
        out(f"  {entry.key}  group {entry.practice_group_id}  {entry.state}{step}{error}")
    if not args.all and len(wanted) > SHOWN_ROWS:
        out(f"  ... and {len(wanted) - SHOWN_ROWS} more (--all lists every key)")
    if counts.get(State.UNKNOWN):
        line(f"settle each with: hero-async ledger resolve {args.ledger} KEY sent|not-sent")
    return 0


async def _resolve(args: argparse.Namespace) -> int:
    who = args.by or getpass.getuser()
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    store = SqliteLedger(args.ledger)
    try:
        if await store.get(args.key) is None:
            raise UsageError(f"no key {args.key} in {args.ledger}")
        entry = await store.resolve(args.key, args.outcome, f"{who} at {when}")
    finally:
        await store.close()
    line(f"{entry.key}: now {entry.state} (recorded by {who} at {when})")
    return 0
