"""What ``hero-async campaign ACTION`` does (the arguments are in ``_fleet``).

Submit runs ``invite``'s whole-file check first (every bad field of every row with its line,
header spellings, encoding and date-format options, repeated keys) and refuses a file without
invitations; report proves the report path writable before touching the database. A database
URL is never echoed: errors are one line with its password (and the URL) blanked out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import os
import re
from collections.abc import Coroutine
from typing import Any

from ..bulk import InvitationResult
from ._check import FileCheck, check_file, valid_invitations
from ._invite import check_report_path
from ._output import UsageError, line

__all__ = ["ENV_DATABASE_URL", "MAX_ATTEMPTS", "database_url", "fleet", "run", "run_campaign"]

ENV_DATABASE_URL = "HERO_DATABASE_URL"
MAX_ATTEMPTS = 10  # hero_async.fleet.MAX_ATTEMPTS (checked by the tests; no import here)
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@|(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def database_url(args: argparse.Namespace) -> str:
    url = args.database or os.environ.get(ENV_DATABASE_URL)
    if not url:
        raise UsageError(f"give --database URL or set {ENV_DATABASE_URL}")
    return str(url)


def fleet() -> Any:
    try:
        from .. import fleet
    except ImportError as exc:
        raise UsageError(
            f"the fleet extra is missing: pip install 'hero-async[fleet]' ({exc})"
        ) from None
    return fleet


def redact(text: str, url: str) -> str:
    """``text`` without the URL's password: the whole URL, and any password= or :pw@."""
    text = text.replace(url, "<database URL>") if url else text
    return _PASSWORD.sub(
        lambda m: (m.group(1) or m.group(2)) + "***" + ("@" * bool(m.group(1))), text
    )


def run(job: Coroutine[Any, Any, Any], url: str) -> Any:
    """The job's result; exit 2 with one line when the database cannot be used."""
    import psycopg
    import psycopg_pool

    try:
        return asyncio.run(job)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        first = "".join(str(exc).strip().splitlines()[:1])
        raise UsageError(redact(f"database: {type(exc).__name__}: {first}", url)) from None


def run_campaign(args: argparse.Namespace) -> int:
    url = database_url(args)
    campaign = fleet().Campaign(url, args.name)
    if args.action == "submit":
        return _submit(campaign, args, url)
    if args.action == "report":
        path = check_report_path(args.report)
        return int(run(_report(campaign, path), url))
    return int(run(_ACTIONS[args.action](campaign, args), url))


def _submit(campaign: Any, args: argparse.Namespace, url: str) -> int:
    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    if args.shard_size < 1:
        raise UsageError("--shard-size must be at least 1")
    check = check_file(args.file, args.date_format, args.encoding)
    _show_check(args, check)
    rejected: list[InvitationResult] = []
    rows = valid_invitations(args.file, args.date_format, args.encoding, rejected, keys=check.keys)
    done = run(campaign.submit(rows, shard_size=args.shard_size, rejected=rejected), url)
    what = "submitted" if done.new else "already submitted (nothing added)"
    print(
        f"campaign {done.name!r} {what}: {done.total} invitations, {done.invalid} invalid"
        f" (failed now, see the report), {done.shards} shards"
    )
    return 0


def _show_check(args: argparse.Namespace, check: FileCheck) -> None:
    if check.ignored:
        line(f"ignoring columns hero-async does not use: {', '.join(check.ignored)}")
    if check.rows == 0:
        raise UsageError(f"no invitations in {args.file} (it has a header and no rows)")
    repeated = f", {check.duplicates} repeated keys" if check.duplicates else ""
    line(
        f"{args.file}: {check.rows} invitations, {check.valid} valid,"
        f" {check.invalid} with problems{repeated}"
    )
    for problem in check.problems:
        line(f"  {problem}")
    more = check.invalid + check.duplicates - len(check.problems)
    if more > 0:
        line(f"  ... and {more} more (all in the report)")


async def _status(campaign: Any, args: argparse.Namespace) -> int:
    status = await campaign.status()
    given_up = await campaign.given_up()
    status["given_up"] = given_up
    if args.json:
        print(json.dumps(status, sort_keys=True))
        return 0
    shards = status["shards"]
    print(
        f"campaign {status['campaign']!r}: {status['invitations']} invitations;"
        f" shards {shards['done']}/{shards['total']} done ({shards['runs']} runs)"
    )
    for part in ("jobs", "ledger", "results"):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(status[part].items())) or "none"
        print(f"  {part}: {counts}")
    if given_up:
        shown = ", ".join(map(str, given_up))
        print(f"  given up after {MAX_ATTEMPTS} runs: shards {shown} (campaign retry re-queues)")
    unknown = status["ledger"].get("outcome_unknown", 0)
    if unknown:
        print(f"  {unknown} outcome_unknown: list them with hero-async campaign unknown NAME")
    return 0


async def _report(campaign: Any, path: Any) -> int:
    with await campaign.report() as report:
        path.parent.mkdir(parents=True, exist_ok=True)
        report.write(path)
        print(f"report: {path} ({report!r})")
        return 1 if report.failed or report.outcome_unknown else 0


async def _retry(campaign: Any, args: argparse.Namespace) -> int:
    reopened, queued = await campaign.retry()
    print(
        f"campaign {campaign.name!r}: {reopened} shards re-opened, {queued} newly queued"
        f" ({reopened - queued} had a job queued or running); start workers to run them"
    )
    return 0


async def _unknown(campaign: Any, args: argparse.Namespace) -> int:
    entries = await campaign.unknown()
    print(f"campaign {campaign.name!r}: {len(entries)} outcome_unknown")
    for entry in entries:
        step = f" at {entry.step}" if entry.step else ""
        error = f" - {entry.error}" if entry.error else ""
        print(f"  {entry.key}  group {entry.practice_group_id}{step}{error}")
    if entries:
        print(f"settle each with: hero-async campaign resolve {campaign.name} KEY sent|not-sent")
    return 0


async def _resolve(campaign: Any, args: argparse.Namespace) -> int:
    who = args.by or getpass.getuser()
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entry = await campaign.resolve(args.key, args.outcome, f"{who} at {when}")
    print(f"{entry.key}: now {entry.state} (recorded by {who} at {when})")
    if entry.state != "sent":
        print(f"send it again with: hero-async campaign retry {campaign.name}")
    return 0


_ACTIONS = {"status": _status, "retry": _retry, "unknown": _unknown, "resolve": _resolve}
