"""``hero-async campaign …`` and ``hero-async worker``: a campaign run by a fleet of workers
sharing one PostgreSQL database (needs the ``fleet`` extra).

    hero-async campaign submit FILE.csv --database URL --name NAME
    hero-async worker --database URL [--concurrency N] [--rate-limit R] [--burst]
    hero-async campaign status NAME --database URL [--json]
    hero-async campaign report NAME --database URL --report out.json|out.csv
    hero-async campaign retry NAME --database URL
    hero-async campaign unknown NAME --database URL
    hero-async campaign resolve NAME KEY sent|not-sent --database URL [--by WHO]

``--database`` defaults to HERO_DATABASE_URL. The worker takes its credentials from
HERO_API_KEY / HERO_PRACTICE_GROUP_ID and Hero's URL from --base-url or HERO_BASE_URL.
The actions themselves are in ``_fleet_actions``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..bulk import DATE_FORMATS
from . import _fleet_actions as actions
from ._output import UsageError

__all__ = ["add_campaign_arguments", "add_worker_arguments", "run_campaign", "run_worker"]

GAVE_UP = 3  # worker --burst: shards were given up (see WORKER_EPILOG)
WORKER_EPILOG = f"""\
exit codes:
  0    stopped, or with --burst: every shard finished
  2    bad usage, or the database cannot be used
  {GAVE_UP}    --burst: some shards were given up after {actions.MAX_ATTEMPTS} runs (listed on
       stderr); their keys stay in the ledger: hero-async campaign retry NAME re-queues them"""


def _database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", default=None, help=f"PostgreSQL URL (default: {actions.ENV_DATABASE_URL})"
    )


def _named(actions_: argparse._SubParsersAction, name: str, help_: str) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser: argparse.ArgumentParser = actions_.add_parser(name, help=help_, description=help_)
    parser.add_argument("name", help="the campaign's name")
    _database(parser)
    return parser


def add_campaign_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    submit = sub.add_parser("submit", help="check a CSV, load it and enqueue its shards")
    submit.add_argument("file", type=Path, help="CSV file, one invitation per row")
    submit.add_argument("--name", required=True, help="the campaign's name (unique)")
    submit.add_argument("--shard-size", type=int, default=100, help="keys per shard job")
    submit.add_argument(
        "--date-format",
        choices=DATE_FORMATS,
        default="auto",
        help="how dates are written (default %(default)s: YYYY-MM-DD or DD/MM/YYYY)",
    )
    submit.add_argument(
        "--encoding",
        default="utf-8",
        help="file encoding (default %(default)s; cp1252 for "
        "Excel's plain 'CSV (Comma delimited)')",
    )
    _database(submit)
    status = _named(sub, "status", "shards, jobs and keys by state; unknown and given-up ones")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    report = _named(sub, "report", "every key's outcome, as invite's report")
    report.add_argument("--report", type=Path, required=True, help="out.json or out.csv")
    _named(sub, "retry", "re-queue shards holding retryable failures, unstarted or given-up keys")
    _named(sub, "unknown", "list the keys whose outcome is unknown (Hero may have acted)")
    resolve = _named(
        sub, "resolve", "record whether an outcome_unknown key was sent, after checking"
    )
    resolve.add_argument("key", help="the invitation key, as in the report")
    resolve.add_argument("outcome", choices=("sent", "not-sent"))
    resolve.add_argument(
        "--by", default=None, help="who checked (default: your login name); kept in the ledger"
    )


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = WORKER_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
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
    add(
        "--burst",
        action="store_true",
        help=f"exit once every shard is finished (0), or given up ({GAVE_UP})",
    )
    add(
        "--stalled-after",
        type=float,
        default=30.0,
        help="seconds without a heartbeat before a worker's shards are recovered",
    )


def run_campaign(args: argparse.Namespace) -> int:
    return actions.run_campaign(args)


def run_worker(args: argparse.Namespace) -> int:
    fleet = actions.fleet()
    if args.concurrency < 1 or args.jobs < 1 or not _finite_positive(args.stalled_after):
        raise UsageError("--concurrency, --jobs and --stalled-after must be positive")
    if args.rate_limit is not None and not _finite_positive(args.rate_limit):
        raise UsageError("--rate-limit must be a finite number above 0")
    url = actions.database_url(args)
    given_up = actions.run(
        fleet.run_worker(
            url,
            base_url=args.base_url,
            concurrency=args.concurrency,
            jobs=args.jobs,
            rate_limit=args.rate_limit,
            burst=args.burst,
            stalled_after=args.stalled_after,
        ),
        url,
    )
    if given_up:
        print(
            f"worker: {len(given_up)} shards given up after {actions.MAX_ATTEMPTS} runs each:",
            file=sys.stderr,
        )
        for campaign, shard in given_up:
            print(f"  campaign {campaign!r} shard {shard}", file=sys.stderr)
        print("re-queue them with: hero-async campaign retry NAME", file=sys.stderr)
        return GAVE_UP if args.burst else 0
    print("worker: no shard left" if args.burst else "worker stopped", file=sys.stderr)
    return 0


def _finite_positive(value: float) -> bool:
    return math.isfinite(value) and value > 0  # "nan" and "inf" parse as floats
