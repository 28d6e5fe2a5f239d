"""Progress while a job runs: rich's columns in a terminal, a plain line every few seconds
elsewhere (cron mail, CI logs), so a 2-minute run never looks hung. Both show the rate the
client holds itself to: the one learned from Hero's 429s, and the job's cap if it has one."""

from __future__ import annotations

import asyncio
import collections
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TextIO

from ..bulk import InvitationResult

PLAIN_INTERVAL_SECONDS = 5.0  # how often a non-terminal run prints a progress line

try:
    import rich.console
    import rich.progress
    import rich.text

    class RateColumn(rich.progress.ProgressColumn):
        """Invitations per second (rich's own speed columns speak bytes)."""

        def render(self, task: rich.progress.Task) -> rich.text.Text:
            return rich.text.Text(f"{task.speed or 0:.0f}/s", style="progress.data.speed")

except ImportError:  # pragma: no cover - rich is optional
    rich = None  # type: ignore[assignment]


class Progress:
    """Counts finished invitations; ``advance`` is the pipeline's on_progress callback."""

    def __init__(
        self,
        total: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
        interval: float = PLAIN_INTERVAL_SECONDS,
        rate: Callable[[], float | None] | None = None,
        cap: float | None = None,
    ) -> None:
        self.total = total
        self.counts: collections.Counter[str] = collections.Counter()
        self.listeners: list[Callable[[InvitationResult], object]] = []
        self._clock, self._stream, self._interval = clock, stream, interval
        self._rate, self._cap = rate, cap  # e.g. ``lambda: hero.rate``; the job's rate_limit
        self._started = self._last = clock()
        self._bar: Any = None
        self._task: Any = None

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def advance(self, result: InvitationResult) -> None:
        self.counts[result.state] += 1
        for listener in self.listeners:
            listener(result)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, status=self.status())
        else:
            self.tick()

    def tick(self, *, force: bool = False) -> None:
        """Print a plain line if ``interval`` has passed since the last one (or ``force``)."""
        now = self._clock()
        if self._stream is None or (not force and now - self._last < self._interval):
            return
        self._last = now
        print(self.line(), file=self._stream, flush=True)

    def status(self) -> str:
        c = self.counts
        return (
            f"sent {c['sent']}  failed {c['failed']}  unknown {c['outcome_unknown']}  "
            f"skipped {c['skipped']}{self.limits()}"
        )

    def limits(self) -> str:
        """``"  learned 38/s  rate cap 60/s"``: what the client allows itself now (learned from
        Hero's 429s) and the job's hard cap; each left out while there is none."""
        learned = self._rate() if self._rate is not None else None
        parts = [] if learned is None else [f"learned {learned:.0f}/s"]
        if self._cap is not None:
            parts.append(f"rate cap {self._cap:g}/s")
        return "".join(f"  {part}" for part in parts)

    def line(self) -> str:
        done, elapsed = self.done, self.elapsed
        rate = done / elapsed if elapsed > 0 else 0.0
        percent = 100 * done / self.total if self.total else 100.0
        eta = f"{(self.total - done) / rate:.0f}s" if rate > 0 else "?"
        return (
            f"progress: {done}/{self.total} ({percent:.0f}%)  {self.status()}  "
            f"{rate:.0f}/s  ETA {eta}"
        )


def is_terminal() -> bool:
    return rich is not None and rich.console.Console(stderr=True).is_terminal


@asynccontextmanager
async def progress(
    total: int, *, rate: Callable[[], float | None] | None = None, cap: float | None = None
) -> AsyncIterator[Progress]:
    """A live bar in a terminal; otherwise plain lines on stderr, also while nothing finishes
    (a practice's outage can hold every request for minutes). ``rate`` reads the client's
    current rate (``lambda: hero.rate``), ``cap`` is the job's ``rate_limit``."""
    if rich is not None and is_terminal():
        columns = (
            rich.progress.SpinnerColumn(),
            rich.progress.BarColumn(),
            rich.progress.MofNCompleteColumn(),
            rich.progress.TaskProgressColumn(),
            RateColumn(),
            rich.progress.TimeRemainingColumn(),
            rich.progress.TextColumn("{task.fields[status]}"),
        )
        console = rich.console.Console(stderr=True)
        with rich.progress.Progress(*columns, console=console) as bar:
            tracker = Progress(total, rate=rate, cap=cap)
            tracker._bar, tracker._task = bar, bar.add_task("", total=total, status="")
            yield tracker
        return
    tracker = Progress(total, stream=sys.stderr, rate=rate, cap=cap)
    tracker.tick(force=True)
    ticker = asyncio.create_task(_tick(tracker))
    try:
        yield tracker
    finally:
        ticker.cancel()
        tracker.tick(force=True)


async def _tick(tracker: Progress) -> None:
    while True:
        await asyncio.sleep(tracker._interval)
        tracker.tick()
