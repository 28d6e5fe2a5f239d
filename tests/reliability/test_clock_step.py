"""The machine's wall clock steps back an hour, then forward an hour, in the middle of a bulk
job (NTP correcting a drifted clock, a VM resumed): nothing waits on it, nothing is rushed by
it, nothing is taken for dead because of it.

The job has everything that waits: a hard rate cap, 429s with Retry-After (a client-wide
pause), one practice group down long enough for its breaker to open (its invitations wait
the outage out), and a SQLite ledger whose lease is renewed, and dead runs swept, right after
each step. The wall clock (``time.time`` for every module, the client's and the ledger's
``clock``) is real time plus an offset the test moves; the monotonic clock is virtual and
moved only by the job's own waits, so no real timer decides anything.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from pathlib import Path

import pytest
from reliability_support import (
    API_KEY,
    HOME,
    check_invariants,
    keys_touched_by_faults,
    ledger_entries,
)
from test_breaker_chaos import SICK, Clock, sick_heavy_rows

from hero_async import HeroClient, InvitationResult, SqliteLedger, _constants
from hero_async.bulk import _pipeline as _bulk
from hero_async.bulk._breaker import CircuitBreaker
from hero_async.testing import FakeHero, Fault

HOUR = 3600.0
RATE = 50.0  # the client's hard cap, requests per (virtual) second
CONCURRENCY = 20
STEPS = ((120, -HOUR), (300, +HOUR))  # (after this many results, step the wall clock by)


class Wall:
    """The machine's wall clock: real time plus an offset the test steps."""

    def __init__(self) -> None:
        self._real = time.time
        self.offset = 0.0

    def __call__(self) -> float:
        return self._real() + self.offset


class SteppingClock(Clock):
    """The virtual monotonic clock of the job's waits; at the first wait after each planned
    result count it steps the wall clock, so every step lands while something is waiting
    (a backoff, the 429 pause, a parked group) and is followed by a lease renewal."""

    def __init__(self, wall: Wall, renew: asyncio.Event) -> None:
        super().__init__()
        self.wall, self.renew = wall, renew
        self.done = 0
        self.steps = list(STEPS)
        self.stepped: list[tuple[int, float]] = []
        self.longest = 0.0

    def progress(self, result: InvitationResult) -> None:
        self.done += 1

    async def sleep(self, seconds: float) -> None:
        self.longest = max(self.longest, seconds)
        if self.steps and self.done >= self.steps[0][0]:
            _, step = self.steps.pop(0)
            self.wall.offset += step
            self.stepped.append((self.done, step))
            self.renew.set()  # renew the lease and sweep, on the stepped clock, now
        await super().sleep(seconds)


async def test_wall_clock_steps_back_and_forward_mid_run(
    network: FakeHero, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wall = Wall()
    monkeypatch.setattr(time, "time", wall)  # what any module reads as "now" at call time
    renew = asyncio.Event()
    clock = SteppingClock(wall, renew)
    monkeypatch.setattr(_bulk, "CircuitBreaker", functools.partial(CircuitBreaker, clock=clock))

    async def lease_timer() -> None:  # the run's lease renewal, driven by the steps
        await renew.wait()
        renew.clear()

    monkeypatch.setattr(_bulk, "_third_of_a_lease", lease_timer)
    attempts = _constants.DEFAULT_MAX_RETRIES + 1
    down = network.add_fault(
        Fault(method="POST", status=503, practice_group_id=SICK, times=attempts * 20)
    )
    throttled = network.add_fault(
        Fault(method="POST", status=429, retry_after=2, probability=0.05, times=40)
    )
    rows = sick_heavy_rows(sick=60, healthy=40)  # 420 keys over ten groups
    path = tmp_path / "step.db"
    ledger = SqliteLedger(path, clock=wall)
    try:
        async with HeroClient(
            API_KEY,
            HOME,
            base_url=network.url,
            rate_limit=RATE,
            clock=wall,
            monotonic=clock,
            sleep=clock.sleep,
        ) as hero:
            with await hero.send_invitations(
                rows.invitations,
                concurrency=CONCURRENCY,
                ledger=ledger,
                on_progress=clock.progress,
            ) as report:
                results = list(report.results())
    finally:
        await ledger.close()

    assert [step for _, step in clock.stepped] == [-HOUR, +HOUR]  # both steps happened mid-run
    assert all(done < len(results) for done, _ in clock.stepped)
    assert down.hits > 0  # the breaker's group really was down,
    assert throttled.hits > 0  # and Hero really did answer 429s
    assert len(results) == len({r.key for r in results}) == 420
    touched, _ = keys_touched_by_faults(rows, network)
    untouched_not_sent = {r.key: r.error_type or r.state for r in results if r.state != "sent"}
    untouched_not_sent = {k: v for k, v in untouched_not_sent.items() if k not in touched}
    assert untouched_not_sent == {}
    assert all(r.state == "sent" for r in results if r.practice_group_id != SICK)
    outcomes = Counter(r.error_type or r.state for r in results)
    assert "CircuitOpen" not in outcomes  # the outage was waited out
    assert "Interrupted" not in outcomes
    assert not [e.key for e in ledger_entries(path) if e.error_type == "Interrupted"]
    # No wait took its length from the stepped clock: the longest is a breaker cool-down, and
    # the whole job took minutes of virtual time, not the hour the step back would add.
    assert clock.longest <= _constants.BREAKER_COOLDOWN_SECONDS * 2
    assert clock.now - 1000.0 < HOUR / 4
    # Nor did the forward step rush anything past the cap (a burst of one second allowed).
    assert network.count() <= RATE * (clock.now - 1000.0 + 1)
    check_invariants(rows, results, ledger_entries(path), network)
