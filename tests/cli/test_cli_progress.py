"""The progress line shows the rate the client holds itself to: learned from Hero's 429s
(``hero.rate``) and the job's hard cap. Clocks are injected: no test waits real seconds."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from cli_support import excel_row, run, write_excel

from hero_async import HeroClient, InvitationResult
from hero_async.cli._progress import Progress
from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero, Fault

SENT = InvitationResult("k", "1002", "sent")


def _line(tracker: Progress) -> str:
    out = io.StringIO()
    tracker._stream = out
    tracker.tick(force=True)
    return out.getvalue()


def test_plain_line_shows_the_learned_rate_and_the_cap() -> None:
    learned: list[float | None] = [None]
    tracker = Progress(10, clock=lambda: 2.0, rate=lambda: learned[0], cap=60)
    tracker.advance(SENT)
    assert "learned" not in _line(tracker)  # nothing learned yet: no 429 seen
    assert "  skipped 0  rate cap 60/s  " in _line(tracker)
    learned[0] = 38.4
    assert "  skipped 0  learned 38/s  rate cap 60/s  0/s  ETA" in _line(tracker)
    assert "learned 38/s  rate cap 60/s" in tracker.status()  # the terminal bar's status too


def test_without_rate_or_cap_the_line_is_unchanged() -> None:
    now = [0.0]
    tracker = Progress(4, clock=lambda: now[0])
    now[0] = 1.0
    tracker.advance(SENT)
    assert _line(tracker) == (
        "progress: 1/4 (25%)  sent 1  failed 0  unknown 0  skipped 0  1/s  ETA 3s\n"
    )


async def test_the_line_reads_a_real_clients_rate_learned_from_a_429() -> None:
    """A client that met a 429 has learned a rate; the line reads it live from ``hero.rate``."""

    async def instant(_: float) -> None:
        await asyncio.sleep(0)

    async with FakeHero(seed_sandbox=True) as fake:
        fake.add_fault(Fault(method="GET", path="/v1/me", status=429, retry_after=1, times=1))
        async with HeroClient(
            SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, base_url=fake.url, sleep=instant
        ) as hero:
            tracker = Progress(1, clock=lambda: 1.0, rate=lambda: hero.rate)
            assert "learned" not in _line(tracker)
            await hero.practice_group_info.me()  # a 429, then the retry's answer
            rate = hero.rate
            assert rate is not None
            assert f"  skipped 0  learned {rate:.0f}/s  " in _line(tracker)


def test_the_real_command_shows_the_cap_on_its_progress_line(tmp_path: Path) -> None:
    """Off a terminal the command ends with a plain progress line, which names the cap."""
    write_excel(tmp_path / "flu.csv", [excel_row(n) for n in range(3)])
    done = run(tmp_path, "invite", "flu.csv", "--sandbox", "--rate-limit", "500")
    assert done.code == 0, done
    progress_lines = [line for line in done.err.splitlines() if line.startswith("progress:")]
    assert progress_lines, done.err
    assert "rate cap 500/s" in progress_lines[-1]
