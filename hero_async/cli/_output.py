"""What the CLI shows: a live progress bar (rich, from the ``cli`` extra) or plain lines."""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ..bulk._invitation import Plan
from ..bulk._report import BulkReport, InvitationResult

_rich: ModuleType | None
try:
    import rich.console
    import rich.progress
    import rich.table

    _rich = rich
except ImportError:  # pragma: no cover - rich is optional
    _rich = None


class Progress:
    """Counts finished invitations; ``advance`` is the pipeline's on_progress callback."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._bar, self._task = bar, task
        self._started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def advance(self, result: InvitationResult) -> None:
        self.counts[result.state] += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, status=self.status())
        elif sum(self.counts.values()) % 1000 == 0:
            print(self.status(), file=sys.stderr)

    def status(self) -> str:
        c = self.counts
        return (
            f"sent {c['sent']}  failed {c['failed']}  unknown {c['outcome_unknown']}  "
            f"skipped {c['skipped']}"
        )


class Output:
    def __init__(self) -> None:
        self._console = _rich.console.Console(stderr=True) if _rich else None

    def line(self, text: str) -> None:
        if self._console is not None:
            self._console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr)

    def would_send(self, item: Plan) -> None:
        who = f"patient {item.patient_id}" if item.patient_id else "patient via PDS trace"
        self.line(
            f"WOULD SEND {item.key} -> group {item.practice_group_id}, {who}, "
            f"{item.message_type}: {item.message('<link>')!r}"
        )

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        if _rich is None or self._console is None:
            yield Progress()
            return
        columns = (
            rich.progress.SpinnerColumn(),
            rich.progress.TextColumn("{task.completed} done"),
            rich.progress.TextColumn("[bold]{task.fields[status]}"),
            rich.progress.TimeElapsedColumn(),
        )
        with rich.progress.Progress(*columns, console=self._console) as bar:
            task = bar.add_task("invitations", total=None, status="starting")
            yield Progress(bar, task)

    def summary(self, report: BulkReport, elapsed: float) -> None:
        rate = report.total / elapsed if elapsed > 0 else 0.0
        errors = collections.Counter(
            f"{r.error_type} ({r.step})" for r in report.results() if r.error_type
        )
        if _rich is None or self._console is None:
            self.line(f"{report!r} in {elapsed:.1f}s ({rate:.0f} invitations/s)")
            for error, n in errors.most_common(10):
                self.line(f"  {n:>7}  {error}")
            return
        table = rich.table.Table(
            title=f"{report.total} invitations in {elapsed:.1f}s ({rate:.0f}/s)"
        )
        table.add_column("state")
        table.add_column("count", justify="right")
        for state, n in report.counts.items():
            table.add_row(state, str(n))
        for error, n in errors.most_common(10):
            table.add_row(f"  {error}", str(n))
        self._console.print(table)
