"""``hero-async campaign submit|status|report`` and ``hero-async worker``: a campaign run by
a fleet of workers sharing one PostgreSQL database (needs the ``fleet`` extra).

    hero-async campaign submit FILE.csv --database URL --name NAME
    hero-async worker --database URL [--concurrency N] [--rate-limit R] [--burst]
    hero-async campaign status NAME --database URL [--json]
    hero-async campaign report NAME --database URL --report out.json|out.csv

``--database`` defaults to HERO_DATABASE_URL. The worker takes its credentials from
HERO_API_KEY / HERO_PRACTICE_GROUP_ID and Hero's URL from --base-url or HERO_BASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from ._output import UsageError

__all__ = ["add_campaign_arguments", "add_worker_arguments", "run_campaign", "run_worker"]

ENV_DATABASE_URL = "HERO_DATABASE_URL"


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=None,
        help=f"PostgreSQL URL (default: {ENV_DATABASE_URL})",
    )


def add_campaign_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    submit = actions.add_parser("submit", help="validate a CSV, load it and enqueue its shards")
    submit.add_argument("file", type=Path, help="CSV file, one invitation per row")
    submit.add_argument("--name", required=True, help="the campaign's name (unique)")
    submit.add_argument("--shard-size", type=int, default=100, help="keys per shard job")
    _database(submit)
    status = actions.add_parser("status", help="shards, jobs and keys by state")
    status.add_argument("name")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    _database(status)
    report = actions.add_parser("report", help="every key's outcome, as invite's report")
    report.add_argument("name")
    report.add_argument("--report", type=Path, required=True, help="out.json or out.csv")
    _database(report)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    _database(parser)
    add = parser.add_argument
    add("--base-url", default=None, help="Hero API URL (default: HERO_BASE_URL, else production)")
    add("--concurrency", type=int, default=20, help="requests in flight per shard job")
    add("--jobs", type=int, default=2, help="shard jobs run at once by this worker")
    add(
        "--rate-limit",
        type=float,
        default=None,
        help="the API key's limit in requests/s for the WHOLE fleet (stored in the database)",
    )
    add("--burst", action="store_true", help="exit 0 once every shard is finished")
    add(
        "--stalled-after",
        type=float,
        default=30.0,
        help="seconds without a heartbeat before a worker's shards are recovered",
    )


def _url(args: argparse.Namespace) -> str:
    url = args.database or os.environ.get(ENV_DATABASE_URL)
    if not url:
        raise UsageError(f"give --database URL or set {ENV_DATABASE_URL}")
    return str(url)


def _fleet() -> Any:
    try:
        from .. import fleet
    except ImportError as exc:
        raise UsageError(
            f"the fleet extra is missing: pip install 'hero-async[fleet]' ({exc})"
        ) from None
    return fleet


def _database_errors() -> tuple[type[BaseException], ...]:
    import psycopg
    import psycopg_pool

    return (psycopg.Error, psycopg_pool.PoolTimeout)


def _run(job: Any) -> int:
    """Exit 2 with one line when the database cannot be used (its text has no password)."""
    try:
        return int(asyncio.run(job) or 0)
    except _database_errors() as exc:
        first = str(exc).strip().splitlines()[:1]
        raise UsageError(f"database: {type(exc).__name__}: {''.join(first)}") from None


def run_campaign(args: argparse.Namespace) -> int:
    campaign = _fleet().Campaign(_url(args), args.name)
    return _run(_ACTIONS[args.action](campaign, args))


async def _submit(campaign: Any, args: argparse.Namespace) -> int:
    from ..bulk import read_invitations

    if not args.file.exists():
        raise OSError(f"{args.file}: no such file")
    done = await campaign.submit(read_invitations(args.file), shard_size=args.shard_size)
    what = "submitted" if done.new else "already submitted (nothing added)"
    print(
        f"campaign {done.name!r} {what}: {done.total} invitations, {done.invalid} invalid"
        f" (failed now, see the report), {done.shards} shards"
    )
    return 0


async def _status(campaign: Any, args: argparse.Namespace) -> int:
    status = await campaign.status()
    if args.json:
        print(json.dumps(status, sort_keys=True))
    else:
        shards = status["shards"]
        print(
            f"campaign {status['campaign']!r}: {status['invitations']} invitations;"
            f" shards {shards['done']}/{shards['total']} done ({shards['runs']} runs)"
        )
        for part in ("jobs", "ledger", "results"):
            counts = ", ".join(f"{k} {v}" for k, v in sorted(status[part].items())) or "none"
            print(f"  {part}: {counts}")
    return 0


async def _report(campaign: Any, args: argparse.Namespace) -> int:
    with await campaign.report() as report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        report.write(args.report)
        print(f"report: {args.report} ({report!r})")
        return 1 if report.failed or report.outcome_unknown else 0


_ACTIONS = {"submit": _submit, "status": _status, "report": _report}


def run_worker(args: argparse.Namespace) -> int:
    fleet = _fleet()
    if args.concurrency < 1 or args.jobs < 1 or args.stalled_after <= 0:
        raise UsageError("--concurrency, --jobs and --stalled-after must be positive")
    if args.rate_limit is not None and args.rate_limit <= 0:
        raise UsageError("--rate-limit must be positive")
    _run(
        fleet.run_worker(
            _url(args),
            base_url=args.base_url,
            concurrency=args.concurrency,
            jobs=args.jobs,
            rate_limit=args.rate_limit,
            burst=args.burst,
            stalled_after=args.stalled_after,
        )
    )
    print("worker: no shard left" if args.burst else "worker stopped", file=sys.stderr)
    return 0
