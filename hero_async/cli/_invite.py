"""``hero-async invite FILE.csv``: the bulk invitation job.

Order matters for a job that texts patients: usage, the report path, the whole file and the
ledger are all checked before the client (or sandbox) starts, so a mistake costs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from .._client import HeroClient
from ..bulk import BulkReport, Campaign, InvitationResult
from . import _dryrun, _output
from ._campaigns import CHECKPOINT, CampaignIndex, campaign_for, check_ledger
from ._check import FileCheck, check_file, valid_invitations
from ._output import UsageError, line, run_async
from ._progress import progress

LEDGER_SUFFIX = ".ledger.db"  # default ledger: beside the CSV, one per invitation file
REPORT_SUFFIXES = (".json", ".csv")


def default_ledger(csv: Path) -> Path:
    return csv.with_name(csv.name + LEDGER_SUFFIX)


def run(args: argparse.Namespace) -> int:
    _check_usage(args)
    report_path = None if args.dry_run else check_report_path(args.report)
    check = check_file(args.file, args.date_format, args.encoding)
    _show_check(args.file, check)
    if args.dry_run:
        return run_async(_dryrun.dry_run(args, check, _ledger_path(args)))
    assert report_path is not None
    return run_async(_invite(args, check, report_path))


def _check_usage(args: argparse.Namespace) -> None:
    if args.sandbox and args.ledger is not None:
        raise UsageError(
            "--sandbox with --ledger: the sandbox forgets its patients and links when it stops, "
            "so a kept ledger would resume against a world that no longer exists. Leave out "
            "--ledger, or run a standalone fake (python -m hero_async.testing) and point "
            "--base-url at it."
        )
    if args.sandbox and args.base_url is not None:
        raise UsageError("--sandbox and --base-url: choose one (the sandbox has its own URL)")
    if args.file.is_dir():
        raise UsageError(f"{args.file} is a folder, not a CSV file")
    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")


def check_report_path(given: Path | None) -> Path:
    """The report is written after the run: prove now that it can be."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = given or Path("reports") / f"invite-{stamp}.json"
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise UsageError(f"--report {path}: the report is written as .json or .csv")
    try:
        _probe(path)
    except OSError as exc:
        raise UsageError(f"--report {path}: cannot write there ({exc.strerror})") from None
    return path


def _probe(path: Path) -> None:
    """Open the report for appending (then put things back), or for a folder that does not
    exist yet, check the nearest one that does; folders are made only when writing."""
    if path.parent.is_dir():
        existed = path.exists()
        with open(path, "a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
        return
    folder = next(p for p in path.parents if p.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise NotADirectoryError(errno.ENOTDIR, "not a writable folder", str(folder))


def _show_check(path: Path, check: FileCheck) -> None:
    if check.ignored:
        line(f"ignoring columns hero-async does not use: {', '.join(check.ignored)}")
    if check.rows == 0:
        raise UsageError(f"no invitations in {path} (it has a header and no rows)")
    line(
        f"{path}: {check.rows} invitations, {check.valid} valid, {check.invalid} with problems"
        + (f", {check.duplicates} repeated keys" if check.duplicates else "")
    )
    for problem in check.problems:
        line(f"  {problem}")
    shown = len(check.problems)
    if check.invalid + check.duplicates > shown:
        line(f"  ... and {check.invalid + check.duplicates - shown} more (all in the report)")


def _ledger_path(args: argparse.Namespace) -> Path | None:
    if args.sandbox:
        return None
    return (args.ledger or default_ledger(args.file)).resolve()


async def _invite(args: argparse.Namespace, check: FileCheck, report_path: Path) -> int:
    csv = args.file.resolve()
    campaign = campaign_for(args.file, check.keys)
    index = None if args.sandbox else CampaignIndex()
    rejected: list[InvitationResult] = []
    invitations = valid_invitations(
        args.file, args.date_format, args.encoding, rejected, keys=check.keys
    )
    async with _ledger(args) as ledger:
        if index is not None:  # before the client: a refused run starts nothing
            fresh = args.new_campaign
            await check_ledger(index, csv, campaign.fingerprint, ledger, new_campaign=fresh)
        async with _client(args) as hero:
            line(f"ledger: {ledger}")
            rate = lambda: hero.rate  # noqa: E731 - read at each progress line
            async with progress(check.valid, rate=rate, cap=args.rate_limit) as tracker:
                if index is not None:
                    tracker.listeners.append(_Checkpoints(index, csv, campaign, ledger))
                try:
                    report = await hero.send_invitations(
                        invitations,
                        concurrency=args.concurrency,
                        rate_limit=args.rate_limit,
                        max_outage=args.max_outage,
                        ledger=ledger,
                        on_progress=tracker.advance,
                        retry_unknown=args.retry_unknown,
                        campaign=campaign,
                    )
                finally:
                    if index is not None:  # also after a failed or interrupted run
                        with contextlib.suppress(sqlite3.Error):  # never hide the run's error
                            index.record(csv, campaign.fingerprint, ledger)
    with report:
        for result in rejected:
            report.add(result)
        report_path.parent.mkdir(parents=True, exist_ok=True)
        (report.write_csv if report_path.suffix.lower() == ".csv" else report.write_json)(
            report_path
        )
        _output.summary(report, tracker.elapsed)
        line(f"report: {report_path}")
        if not args.sandbox:
            _output.unknown_hint(report.outcome_unknown, str(ledger))
        return exit_code(report)


class _Checkpoints:
    """Record the ledger in the index as soon as Hero may have acted, so even a run killed
    with -9 leaves the index knowing this CSV's ledger matters, then every ``CHECKPOINT``
    results, so a copy of the ledger taken mid-run is known to be older."""

    def __init__(self, index: CampaignIndex, csv: Path, campaign: Campaign, ledger: Path) -> None:
        self._index = index
        self._args = (csv, campaign.fingerprint, ledger)
        self._due: int | None = None  # results until the next record; None: before any send

    def __call__(self, result: InvitationResult) -> None:
        if self._due is None and result.state not in ("sent", "outcome_unknown"):
            return
        if not self._due:
            # The index only guards later runs: a locked or full state dir must not stop
            # this one mid-send (its claims would all end outcome_unknown).
            with contextlib.suppress(sqlite3.Error, OSError):
                self._index.record(*self._args)
            self._due = CHECKPOINT
        self._due -= 1


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[HeroClient]:
    if not args.sandbox:
        # HERO_API_KEY, HERO_PRACTICE_GROUP_ID, HERO_ENVIRONMENT or HERO_BASE_URL
        async with HeroClient(base_url=args.base_url) as hero:
            yield hero
        return
    from ..testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero

    async with (
        FakeHero(seed_sandbox=True, log_limit=1000) as fake,
        HeroClient(SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, base_url=fake.url) as hero,
    ):
        line(f"sandbox: fake Hero at {fake.url}")
        yield hero


@contextlib.asynccontextmanager
async def _ledger(args: argparse.Namespace) -> AsyncIterator[Path]:
    path = _ledger_path(args)
    if path is not None:
        yield path
        return
    # The sandbox's fake Hero forgets everything when it stops; so does its ledger.
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder) / "sandbox.ledger.db"


def exit_code(report: BulkReport) -> int:
    return 1 if report.failed or report.outcome_unknown else 0
