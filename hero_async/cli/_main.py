"""``hero-async``: the command line over the public API.

Subcommands are rows of ``COMMANDS`` (name, help, add_arguments, run): adding one is an
import and a row. ``run`` returns the exit code; ``UsageError`` is a one-line exit 2.
"""

from __future__ import annotations

import argparse
import codecs
import math
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from .. import __version__
from .. import _constants as C
from .._config import resolve_base_url
from .._errors import HeroError, ValidationError
from ..bulk import COLUMNS, DATE_FORMATS, DEFAULT_CONCURRENCY, REQUIRED_COLUMNS, LedgerError
from . import _fleet, _invite, _ledger_cmd
from ._output import UsageError

EXIT_CODES = """\
exit codes:
  0    every invitation sent, or skipped as sent before
  1    some invitations failed or have an unknown outcome (see the report)
  2    bad usage, input file or ledger: nothing was sent
  130  interrupted: progress is kept in the ledger; run the same command to resume"""

INVITE_EPILOG = f"""\
CSV columns (one row per invitation; header names are matched ignoring case, spaces and
underscores, so "NHS Number" and "Date of birth" work):
  required: {", ".join(REQUIRED_COLUMNS)}
  optional: {", ".join(c for c in COLUMNS if c not in REQUIRED_COLUMNS)}
  Give patient_id, or nhs_number and dob. Other columns (First name, Surname...) are ignored.
  Dates: YYYY-MM-DD or DD/MM/YYYY (never MM/DD). Blank rows are skipped.

The ledger (default FILE.csv{_invite.LEDGER_SUFFIX}, beside the CSV) records every key's
progress: re-running the same command resumes and never texts a patient twice.
The report goes to reports/invite-<UTC time>.json in the current folder unless --report.

{EXIT_CODES}"""


class Command(NamedTuple):
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and value > 0):  # "nan" and "inf" parse as floats
            raise argparse.ArgumentTypeError("must be more than 0 (a finite number)")
        return value

    return parse


def _encoding(text: str) -> str:
    """A text encoding Python knows, checked now: not a traceback once the file is open."""
    try:
        info = codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {text!r} (e.g. utf-8, or cp1252 for Excel's plain CSV)"
        ) from None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib...: bytes to bytes
        raise argparse.ArgumentTypeError(f"{text!r} is not a text encoding")
    return text


def _base_url(text: str) -> str:
    """The client's own rule (https, or http on loopback), refused here naming the option."""
    try:
        resolve_base_url(None, text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be https://, or http:// on a loopback host (127.0.0.1, localhost)"
        ) from None
    return text


def _invite_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = INVITE_EPILOG
    add = parser.add_argument
    add("file", type=Path, help="CSV file, one invitation per row (see below)")
    add("--sandbox", action="store_true", help="run against the built-in fake Hero (no keys)")
    add(
        "--base-url",
        type=_base_url,
        default=None,
        help="Hero API URL, e.g. a standalone fake or a proxy "
        "(default: HERO_BASE_URL, else HERO_ENVIRONMENT's URL); https, or http on loopback",
    )
    add(
        "--concurrency",
        type=_positive(int),
        default=DEFAULT_CONCURRENCY,
        help="requests in flight (default %(default)s)",
    )
    add(
        "--rate-limit",
        type=_positive(float),
        default=None,
        help="at most this many requests per second (default: learn Hero's limit)",
    )
    add(
        "--max-outage",
        type=_positive(float),
        default=C.DEFAULT_MAX_OUTAGE_SECONDS,
        metavar="SECONDS",
        help="wait out a practice group's outage this long before failing the rest of it "
        "(retryable; default %(default)s)",
    )
    add(
        "--ledger",
        type=Path,
        default=None,
        help=f"progress ledger (default: beside FILE, named FILE{_invite.LEDGER_SUFFIX})",
    )
    add(
        "--new-campaign",
        action="store_true",
        help="run although this file ran before and its ledger is gone or empty",
    )
    add(
        "--report",
        type=Path,
        default=None,
        help="report file, .json or .csv (default reports/invite-<time>.json)",
    )
    add(
        "--dry-run",
        action="store_true",
        help="check every row and the ledger and summarise what a run would do; send nothing",
    )
    add(
        "--retry-unknown",
        action="store_true",
        help="resend invitations whose outcome is unknown (may text a patient twice!)",
    )
    add(
        "--date-format",
        choices=DATE_FORMATS,
        default="auto",
        help="how dates are written (default %(default)s: YYYY-MM-DD or DD/MM/YYYY)",
    )
    add(
        "--encoding",
        type=_encoding,
        default="utf-8",
        help="file encoding (default %(default)s; cp1252 for "
        "Excel's plain 'CSV (Comma delimited)')",
    )


COMMANDS: tuple[Command, ...] = (
    Command(
        "invite", "send booking-link invitations from a CSV file", _invite_arguments, _invite.run
    ),
    Command(
        "ledger",
        "show a ledger, or record the outcome of an unknown invitation",
        _ledger_cmd.add_arguments,
        _ledger_cmd.run,
    ),
    Command(
        "campaign",
        "submit a campaign to a fleet's database, watch it, get its report",
        _fleet.add_campaign_arguments,
        _fleet.run_campaign,
    ),
    Command(
        "worker", "run a fleet worker on shard jobs", _fleet.add_worker_arguments, _fleet.run_worker
    ),
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hero-async",
        description="Bulk booking-link invitations for the Hero Health API, from CSV files.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"hero-async {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        print(
            "\ninterrupted: progress is kept in the ledger; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    except (UsageError, OSError, ValueError, HeroError, LedgerError, sqlite3.Error) as exc:
        print(f"hero-async: {exc}", file=sys.stderr)
        return 2
