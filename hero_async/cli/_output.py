"""What the CLI prints: listings on stdout; one-line errors, the end-of-run summary table,
progress and hints on stderr."""

from __future__ import annotations

import asyncio
import collections
import sys
from collections.abc import Coroutine
from typing import Any

from ..bulk import BulkReport

try:
    import rich.console
    import rich.table
except ImportError:  # pragma: no cover - rich is optional
    rich = None  # type: ignore[assignment]


class UsageError(Exception):
    """Bad usage or input, found before anything was sent: one line, exit 2."""


def line(text: str = "") -> None:
    """Progress, warnings, hints: stderr, so they never mix with what a command lists."""
    print(text, file=sys.stderr, flush=True)


def out(text: str = "") -> None:
    """What a command lists or summarises (``ledger show``, a dry run): stdout, to pipe."""
    print(text, flush=True)


def summary(report: BulkReport, elapsed: float) -> None:
    rate = report.total / elapsed if elapsed > 0 else 0.0
    errors = collections.Counter(
        f"{r.error_type} ({r.step or 'input'})" for r in report.results() if r.error_type
    )
    title = f"{report.total} invitations in {elapsed:.1f}s ({rate:.0f}/s)"
    console = rich.console.Console(stderr=True) if rich is not None else None
    if console is None or not console.is_terminal:
        line(title + ": " + ", ".join(f"{n} {state}" for state, n in report.counts.items()))
        for error, n in errors.most_common(10):
            line(f"  {n:>7}  {error}")
        return
    table = rich.table.Table(title=title)
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, n in report.counts.items():
        table.add_row(state, str(n))
    for error, n in errors.most_common(10):
        table.add_row(f"  {error}", str(n))
    console.print(table)


def unknown_hint(count: int, ledger: str) -> None:
    """Unknown outcomes are never resent on their own: say how to settle them."""
    if not count:
        return
    line(
        f"{count} invitation(s) have an unknown outcome: Hero may have sent them. Check with "
        f"the practice, then record what happened:\n"
        f"  hero-async ledger show {ledger}\n"
        f"  hero-async ledger resolve {ledger} KEY sent|not-sent"
    )


def run_async(job: Coroutine[Any, Any, int]) -> int:
    """uvloop when the ``speedups`` extra is installed: about 15% less client CPU a request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(job)
    return uvloop.run(job)
