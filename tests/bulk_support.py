"""Helpers for the bulk-invitation, fan-out, ledger and CLI tests.

* ``nhs_number(i)``: a valid NHS number, distinct for every ``i`` (so patient ids are distinct
  per invitation key: the fake gives one patient id per NHS number per group).
* ``invitation(i, group)``: a valid sms invitation traced by NHS number + dob.
* ``sandbox()``: a started sandbox ``FakeHero`` and an open ``HeroClient`` whose sleeps return
  at once (backoff and 429 pauses never really wait).
* ``fake_process()``: the sandbox fake in a child process, for the long memory run.
* ``links_created`` / ``messages_per_patient`` / ``by_key``: what Hero actually did, per key.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable
from typing import Any

from hero_async import BulkReport, HeroClient, Invitation, InvitationResult
from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, FakeHero

NETWORK = ("1002", "1003", "1004", "1005")  # sandbox network members other than the home
OUTSIDE = "2001"  # exists, shares no network with the key's home group 1001
LINKS = "/v1/booking_links"
MESSAGES = "/v1/messages/send"
TOKEN = "/v1/access_token"
REGISTER = "/v1/patients/register_pds"


def nhs_number(i: int) -> str:
    """A valid (mod-11) NHS number, distinct for each ``i >= 0``.

    Prefixes 400000000 + 2i and + 2i + 1 differ only in the last of nine digits (weight 2),
    so at most one of them has the impossible check digit 10: one of the pair is valid.
    """
    for prefix in (400_000_000 + 2 * i, 400_000_000 + 2 * i + 1):
        digits = f"{prefix:09d}"
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return digits + str(check)
    raise AssertionError("unreachable")  # pragma: no cover


def key(i: int) -> str:
    return f"inv-{i:06d}"


def invitation(i: int, group: str = "1002", **fields: Any) -> Invitation:
    """A valid invitation for patient ``i`` of ``group`` (NHS number + dob, sms)."""
    values: dict[str, Any] = {
        "key": key(i),
        "practice_group_id": group,
        "appointment_type_id": "10",
        "location_id": "20",
        "nhs_number": nhs_number(i),
        "dob": "1980-01-31",
        "message_template": "Please book your flu jab: {link}",
    }
    values.update(fields)
    return Invitation(**values)


async def instant_sleep(seconds: float) -> None:
    """The client's sleep for backoff and 429 pauses: yields once, never waits."""
    await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def sandbox(**client_options: Any) -> AsyncIterator[tuple[FakeHero, HeroClient]]:
    """A started sandbox fake and an open client for its key (home group 1001)."""
    options: dict[str, Any] = {"sleep": instant_sleep}
    options.update(client_options)
    async with (
        FakeHero(seed_sandbox=True) as fake,
        HeroClient(
            SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, base_url=fake.url, **options
        ) as hero,
    ):
        yield fake, hero


def by_key(report: BulkReport) -> dict[str, InvitationResult]:
    """The report's results keyed by invitation key; fails if a key appears twice."""
    results: dict[str, InvitationResult] = {}
    for result in report.results():
        assert result.key not in results, f"key {result.key} reported twice"
        results[result.key] = result
    return results


def messages_per_patient(fake: FakeHero) -> collections.Counter[tuple[str, str]]:
    """Messages Hero actually sent, per (practice group, patient id)."""
    return collections.Counter((m.practice_group_id, m.patient_id) for m in fake.messages)


def links_created(fake: FakeHero) -> collections.Counter[tuple[str, str]]:
    """Booking links Hero actually created (answered, or processed then dropped), per
    (practice group, patient id), from the request log."""
    return collections.Counter(
        (r.practice_group_id or "", r.body["patient_id"])
        for r in fake.requests
        if r.method == "POST" and r.route == LINKS and (r.status == 200 or r.fault == "drop_after")
    )


def task_names() -> list[str]:
    """The coroutine names of every other live task (e.g. ``Job._one``)."""
    current = asyncio.current_task()
    return [
        getattr(task.get_coro(), "__qualname__", "?")
        for task in asyncio.all_tasks()
        if task is not current
    ]


def keys_of(invitations: Iterable[Invitation]) -> set[str]:
    return {item.key for item in invitations}


class CountingLimiter:
    """A RateLimiter that lets everything through and counts acquire() and pause() calls."""

    def __init__(self) -> None:
        self.acquired = 0
        self.pauses: list[float] = []

    async def acquire(self) -> None:
        self.acquired += 1

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


class ManualClock:
    """Seconds that move only when a test (or ``sleep``) says so."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """A sleep that moves this clock instead of waiting."""
        self.advance(seconds)
        await asyncio.sleep(0)


# The sandbox fake in a child process: the long run then measures only the client's tasks, and
# the two processes work in parallel. It stops when its stdin closes, reporting its counters.
_FAKE_PROCESS = """
import asyncio, json, sys
from hero_async.testing import FakeHero

async def main():
    async with FakeHero(seed_sandbox=True, log_limit=0) as fake:
        patient = fake.add_patient("1002", nhs_number="9000000009", dob="1990-05-05",
                                   mobile="07700900123")
        print(json.dumps({"url": fake.url, "patient_id": patient}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(json.dumps({"requests": fake.count(), "messages": len(fake.messages)}), flush=True)

asyncio.run(main())
"""


class FakeProcess:
    def __init__(self, url: str, patient_id: str) -> None:
        self.url, self.patient_id = url, patient_id
        self.final: dict[str, int] = {}


@contextlib.asynccontextmanager
async def fake_process() -> AsyncIterator[FakeProcess]:
    """A sandbox fake (plus patient ``patient_id`` of 1002) served by a child process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _FAKE_PROCESS,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        started = json.loads(await proc.stdout.readline())
        handle = FakeProcess(started["url"], started["patient_id"])
        yield handle
        proc.stdin.close()
        handle.final = json.loads(await proc.stdout.readline())
    finally:
        if proc.returncode is None and not proc.stdin.is_closing():
            proc.stdin.close()
        await proc.wait()
