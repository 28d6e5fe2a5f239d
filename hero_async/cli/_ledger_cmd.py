"""``hero-async ledger show|resolve``: look into a ledger; settle an unknown outcome.

An outcome_unknown key is one where Hero may have texted the patient: the job never resends
it on its own. After checking with the practice (or Hero's dashboard), a person records what
happened: ``sent`` makes the key final, ``not-sent`` lets the next run send it. Who recorded
it, and when, goes into the ledger row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from pathlib import Path

from ..bulk import SqliteLedger, State
from ._output import UsageError, line, run_async

SHOWN_ROWS = 50  # rows listed by ``show`` unless --all


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
    return run_async(_show(args) if args.action == "show" else _resolve(args))


async def _show(args: argparse.Namespace) -> int:
    store = SqliteLedger(args.ledger)
    try:
        campaign = await store.campaign()
        counts = await store.counts()
        entries = await store.entries()
    finally:
        await store.close()
    name = f"campaign {campaign.name} ({campaign.fingerprint})" if campaign else "no campaign"
    line(f"{args.ledger}: {sum(counts.values())} keys, {name}")
    line("  " + ", ".join(f"{state} {n}" for state, n in counts.items() if n))
    wanted = [e for e in entries if args.all or e.state == State.UNKNOWN]
    for entry in wanted[: None if args.all else SHOWN_ROWS]:
        step = f" at {entry.step}" if entry.step else ""
        error = f" - {entry.error}" if entry.error else ""
        line(f"  {entry.key}  group {entry.practice_group_id}  {entry.state}{step}{error}")
    if not args.all and len(wanted) > SHOWN_ROWS:
        line(f"  ... and {len(wanted) - SHOWN_ROWS} more (--all lists every key)")
    if counts.get(State.UNKNOWN):
        line(f"settle each with: hero-async ledger resolve {args.ledger} KEY sent|not-sent")
    return 0


async def _resolve(args: argparse.Namespace) -> int:
    who = args.by or getpass.getuser()
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    store = SqliteLedger(args.ledger)
    try:
        entry = await store.resolve(args.key, args.outcome, f"{who} at {when}")
    finally:
        await store.close()
    line(f"{entry.key}: now {entry.state} (recorded by {who} at {when})")
    return 0
