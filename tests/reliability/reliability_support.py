"""Shared machinery of the reliability suite.

* ``build_network``: the sandbox plus groups 1006-1010, so one PCN network of ten practice
  groups (1001-1010) that all accept the sandbox key.
* ``make_invitations``: a seeded invitation set spread over the ten groups, with a sprinkle of
  bad rows, PDS misses and duplicate rows. Every message template starts with ``[key]`` so a
  message the fake recorded can be traced back to the invitation that caused it.
* ``install_chaos_faults``: the seeded fault mix of the chaos runs (429 + Retry-After,
  500/502/503, latency spikes, timeouts, drops before and after processing, malformed JSON,
  token endpoint failures).
* ``check_invariants``: what must hold after any run, however it was interrupted: every row
  accounted for exactly once, no duplicate message or link per key, the ledger agreeing with
  what the fake actually did.
* ``keys_touched_by_faults``: the keys whose own request met a fault, from the fake's log.
* ``quiesce`` / ``pending_tasks``: await what is still running (a shielded token fetch that
  outlives its cancelled caller, anything left after a run), never a real-time budget.
* ``run_chaos``: one seeded chaos run end to end (also run under ``python -X dev -W error``
  by ``chaos_child.py``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import hero_async
from hero_async import HeroClient, HeroError, Invitation, InvitationResult, SqliteLedger
from hero_async.bulk import LedgerEntry, State
from hero_async.testing import (
    SANDBOX_API_KEY,
    SANDBOX_IDENTITY_CHECK_NHS,
    SANDBOX_NETWORK,
    SANDBOX_NOT_FOUND_NHS,
    FakeHero,
    Fault,
    FaultHandle,
)

API_KEY = SANDBOX_API_KEY
HOME = "1001"
NETWORK = SANDBOX_NETWORK
GROUPS = tuple(str(1001 + i) for i in range(10))
TYPE_ID, LOCATION_ID = "10", "20"
KEY_IN_MESSAGE = re.compile(r"^\[([^\]]+)\] ")
CHAOS_CONCURRENCY = 100
# Seconds per attempt: 40x every healthy answer (spikes of 50 ms), so a loaded CPU cannot turn
# a healthy request into a timeout (it did at 0.5 s, tripping a group's breaker before the 403
# the "leaver" check waits for). The "timeout" fault holds its answer HELD seconds: past the
# limit, yet short enough that no fake handler is still pending when the run is checked. Either
# way the invariants are the same: a held answer that arrives in time is simply an answer.
CHAOS_TIMEOUT = 2.0
HELD = CHAOS_TIMEOUT + 0.3
BACKOFF_SPEEDUP = 20  # backoff sleeps run this much faster (the 429 pause is still honoured)


# -- the world ------------------------------------------------------------------------------


def build_network(fake: FakeHero) -> FakeHero:
    """Sandbox groups 1001-1005 plus 1006-1010, all in one network (call on a sandbox fake)."""
    for group in GROUPS[5:]:
        fake.add_practice_group(group, name=f"Practice {group}")
        fake.add_location(group, id=LOCATION_ID, name="Main site")
        fake.add_appointment_type(group, id=TYPE_ID, name="Flu jab")
    fake.add_network(NETWORK, GROUPS)
    return fake


def nhs_numbers(start: int) -> Iterator[str]:
    """Valid (mod-11) NHS numbers from the 9-digit prefix ``start`` upwards."""
    prefix = start
    while True:
        digits = f"{prefix:09d}"
        prefix += 1
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        number = digits + str(check)
        if check != 10 and number not in (SANDBOX_IDENTITY_CHECK_NHS, SANDBOX_NOT_FOUND_NHS):
            yield number


def template(key: str) -> str:
    return f"[{key}] Your practice invites you to book your flu jab: {{link}}"


# -- invitations ----------------------------------------------------------------------------

BAD_KINDS = (
    "bad_nhs",
    "no_link_placeholder",
    "control_char_key",
    "future_dob",
    "bad_message_type",
    "identity_check",
    "pds_not_found",
    "unknown_location",
)


@dataclasses.dataclass
class InvitationSet:
    invitations: list[Invitation]
    nhs_by_key: dict[str, str]  # keys whose patient can exist on the fake
    kinds: collections.Counter[str]

    @property
    def keys(self) -> collections.Counter[str]:
        return collections.Counter(str(inv.key) for inv in self.invitations)


def make_invitations(
    seed: int, n: int, *, bad_every: int = 97, duplicate_every: int = 211
) -> InvitationSet:
    """``n`` rows over the ten groups; about 1% bad in one of ``BAD_KINDS``, 0.5% repeated."""
    rng = random.Random(f"invitations:{seed}")
    numbers = nhs_numbers(400_000_000 + (seed % 500) * 1_000_000)
    rows: list[Invitation] = []
    nhs_by_key: dict[str, str] = {}
    kinds: collections.Counter[str] = collections.Counter()
    while len(rows) < n:
        i = len(rows)
        if i and i % duplicate_every == 0:
            rows.append(rows[-1])  # the same row twice in a row
            kinds["duplicate_row"] += 1
            continue
        key = f"chaos-{seed}/{i:06d}"
        group = GROUPS[rng.randrange(len(GROUPS))]
        fields: dict[str, Any] = {
            "key": key,
            "practice_group_id": group,
            "nhs_number": next(numbers),
            "dob": f"{rng.randint(1930, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "appointment_type_id": TYPE_ID,
            "location_id": LOCATION_ID,
            "message_template": template(key),
        }
        kind = "valid"
        if i % bad_every == bad_every - 1:
            kind = rng.choice(BAD_KINDS)
            _spoil(fields, kind)
        kinds[kind] += 1
        if kind in ("valid", "unknown_location"):
            nhs_by_key[fields["key"]] = fields["nhs_number"]
        rows.append(Invitation(**fields))
    return InvitationSet(rows, nhs_by_key, kinds)


def _spoil(fields: dict[str, Any], kind: str) -> None:
    nhs = fields["nhs_number"]
    if kind == "bad_nhs":
        fields["nhs_number"] = nhs[:9] + str((int(nhs[9]) + 1) % 10)
    elif kind == "no_link_placeholder":
        fields["message_template"] = f"[{fields['key']}] no link here"
    elif kind == "control_char_key":
        fields["key"] = fields["key"] + "\r\nX-Injected: 1"
    elif kind == "future_dob":
        fields["dob"] = "2999-01-01"
    elif kind == "bad_message_type":
        fields["message_type"] = "fax"
    elif kind == "identity_check":
        fields["nhs_number"] = SANDBOX_IDENTITY_CHECK_NHS
    elif kind == "pds_not_found":
        fields["nhs_number"] = SANDBOX_NOT_FOUND_NHS
    elif kind == "unknown_location":
        fields["location_id"] = "99"
    else:  # pragma: no cover - a typo in BAD_KINDS
        raise AssertionError(kind)


# -- faults ---------------------------------------------------------------------------------


def install_chaos_faults(
    fake: FakeHero, seed: int, *, scale: float = 1.0
) -> dict[str, FaultHandle]:
    """The chaos fault mix, matched in a seeded order. ``scale`` multiplies probabilities.

    Roughly 4% of all requests meet a fault, plus a third of token requests.
    """
    rng = random.Random(f"faults:{seed}")
    token = "/v1/access_token"

    def p(value: float) -> float:
        return min(1.0, value * scale)

    faults: dict[str, Fault] = {
        "token_5xx": Fault(
            method="POST",
            path=token,
            status=rng.choice((500, 503)),
            times=None,
            probability=p(0.25),
        ),
        "token_drop": Fault(
            method="POST", path=token, drop="before", times=None, probability=p(0.05)
        ),
        "token_malformed": Fault(
            method="POST", path=token, malformed_json=True, times=None, probability=p(0.05)
        ),
        "429_retry_after": Fault(
            status=429, retry_after=rng.choice((0, 0.01)), times=None, probability=p(0.005)
        ),
        "500": Fault(status=500, times=None, probability=p(0.003)),
        "502_html": Fault(status=502, times=None, probability=p(0.003)),
        "503_html": Fault(status=503, times=None, probability=p(0.003)),
        "latency_spike": Fault(latency=rng.uniform(0.02, 0.05), times=None, probability=p(0.01)),
        "timeout": Fault(latency=HELD, times=None, probability=p(0.0005)),
        "drop_before": Fault(drop="before", times=None, probability=p(0.004)),
        "drop_after": Fault(drop="after", times=None, probability=p(0.004)),
        "malformed_json": Fault(malformed_json=True, times=None, probability=p(0.003)),
    }
    token_names = [name for name in faults if name.startswith("token")]
    other_names = [name for name in faults if not name.startswith("token")]
    rng.shuffle(other_names)  # the seed decides which fault wins when several could fire
    return {name: fake.add_fault(faults[name]) for name in token_names + other_names}


# -- invariants -----------------------------------------------------------------------------


@dataclasses.dataclass
class Figures:
    rows: int
    keys: int
    report: dict[str, int]
    messages: int
    links: int
    duplicate_messages: int
    duplicate_links: int
    faults: dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0


def key_of_message(message_string: str) -> str:
    match = KEY_IN_MESSAGE.match(message_string)
    assert match, f"message not from this suite: {message_string[:40]!r}"
    return match.group(1)


def check_invariants(
    invitations: InvitationSet,
    results: Sequence[InvitationResult],
    entries: Sequence[LedgerEntry],
    fake: FakeHero,
) -> Figures:
    """Raise AssertionError naming the first broken invariant; else return the run's figures."""
    problems: list[str] = []

    # 1. Every row is in the report exactly once (duplicate rows once per row).
    reported = collections.Counter(r.key for r in results)
    if reported != invitations.keys:
        missing = invitations.keys - reported
        extra = reported - invitations.keys
        problems.append(
            f"report != input rows: missing {list(missing)[:5]}, extra {list(extra)[:5]}"
        )
    for key, states in _states_by_key(results).items():
        if states.count("sent") > 1:
            problems.append(f"{key} reported sent {states.count('sent')} times")

    # 2. No patient got more than one message per key; 3. at most one link per key.
    messages_by_key: dict[str, list[Any]] = collections.defaultdict(list)
    for message in fake.messages:
        messages_by_key[key_of_message(message.message_string)].append(message)
    duplicate_messages = sum(len(found) - 1 for found in messages_by_key.values())
    for key, found in messages_by_key.items():
        if len(found) > 1:
            problems.append(f"{key}: {len(found)} messages sent: {[m.message_id for m in found]}")
    patient_key = _patient_keys(invitations, fake)
    links_by_key: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for group, link_id, patient_id in fake_links(fake):
        owner = patient_key.get((group, patient_id or ""))
        assert owner is not None, f"link {link_id} of {group} belongs to no invitation"
        links_by_key[owner].append((group, link_id))
    duplicate_links = sum(len(found) - 1 for found in links_by_key.values())
    for key, found in links_by_key.items():
        if len(found) > 1:
            problems.append(f"{key}: {len(found)} booking links created: {found}")
    per_patient = collections.Counter((m.practice_group_id, m.patient_id) for m in fake.messages)
    if per_patient and max(per_patient.values()) > 1:
        problems.append(f"a patient got several messages: {per_patient.most_common(1)}")

    # 4. The ledger agrees with the fake.
    ledger = {entry.key: entry for entry in entries}
    message_by_id = {m.message_id: m for m in fake.messages}
    for entry in entries:
        if entry.state == State.SENT:
            sent = message_by_id.get(entry.message_id or "")
            if sent is None or key_of_message(sent.message_string) != entry.key:
                problems.append(f"{entry.key}: ledger sent {entry.message_id}, fake has no such")
                continue
            if sent.short_link_id != entry.link_id:
                problems.append(
                    f"{entry.key}: message carries link {sent.short_link_id}, "
                    f"ledger has {entry.link_id}"
                )
            if (entry.practice_group_id, entry.link_id) not in links_by_key.get(entry.key, []):
                problems.append(f"{entry.key}: ledger link {entry.link_id} not on the fake")
        elif entry.key not in messages_by_key and entry.message_id is not None:
            problems.append(f"{entry.key}: {entry.state} with a message id but no message")
    for key, found in messages_by_key.items():
        entry = ledger.get(key)
        # Hero acted: the ledger must say sent, or outcome unknown (never "safe to retry").
        if entry is None or entry.state not in (State.SENT, State.UNKNOWN):
            problems.append(
                f"{key}: the fake sent message {found[0].message_id} but the ledger says "
                f"{None if entry is None else (entry.state, entry.step, entry.error_type)}"
            )
    for key, found in links_by_key.items():
        entry = ledger.get(key)
        ids = {link_id for _, link_id in found}
        known = entry is not None and (
            entry.link_id in ids or (entry.state == State.UNKNOWN and entry.step == "link")
        )
        if not known:
            problems.append(
                f"{key}: the fake created link {sorted(ids)} but the ledger says "
                f"{None if entry is None else (entry.state, entry.step, entry.link_id)}"
            )

    # 5. The report agrees with the ledger.
    for result in results:
        entry = ledger.get(result.key)
        if result.state == "sent":
            if entry is None or entry.state != State.SENT or entry.message_id != result.message_id:
                problems.append(f"{result.key}: report sent, ledger {entry}")
        elif result.state == "outcome_unknown" and (entry is None or entry.state != State.UNKNOWN):
            problems.append(f"{result.key}: report outcome_unknown, ledger {entry}")

    assert not problems, f"{len(problems)} invariant(s) broken:\n" + "\n".join(problems[:25])
    counts = collections.Counter(r.state for r in results)
    return Figures(
        rows=len(invitations.invitations),
        keys=len(invitations.keys),
        report={
            state: counts.get(state, 0)
            for state in ("sent", "failed", "skipped", "outcome_unknown")
        },
        messages=len(fake.messages),
        links=len(fake.booking_links),
        duplicate_messages=duplicate_messages,
        duplicate_links=duplicate_links,
    )


def keys_touched_by_faults(
    invitations: InvitationSet, fake: FakeHero
) -> tuple[set[str], collections.Counter[tuple[str, str, str]]]:
    """The invitation keys whose own request met an injected fault, read from the fake's
    request log (it must be unbounded), and a count of faulted requests no key could be named
    for. A 429 touches nothing: Hero did not act and the job waits and retries it.

    A request names its key by the NHS number it registers, the ``[key]`` that starts its
    message, or the Hero patient id it links or messages (patients of this invitation set).
    """
    by_nhs = {nhs: key for key, nhs in invitations.nhs_by_key.items()}
    patient_key = _patient_keys(invitations, fake)
    touched: set[str] = set()
    unattributed: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for entry in fake.requests:
        if entry.fault is None or entry.fault == "rate_limit" or entry.status == 429:
            continue
        body = entry.body if isinstance(entry.body, dict) else {}
        key = by_nhs.get(str(body.get("nhs_number")))
        message = body.get("message_string")
        if key is None and isinstance(message, str) and (found := KEY_IN_MESSAGE.match(message)):
            key = found.group(1)
        if key is None:
            key = patient_key.get((entry.practice_group_id or "", str(body.get("patient_id"))))
        if key is None:
            unattributed[(entry.method, entry.route, entry.fault)] += 1
        else:
            touched.add(key)
    return touched, unattributed


def fake_links(fake: FakeHero) -> list[tuple[str, str, str | None]]:
    """(practice group, link id, patient id) of every booking link the fake created.

    The public ``fake.booking_links`` has the GET shape, which does not name the patient.
    """
    return [
        (group.id, link.id, link.patient_id)
        for group in fake._world.groups.values()
        for link in group.links.values()
    ]


def _states_by_key(results: Sequence[InvitationResult]) -> dict[str, list[str]]:
    states: dict[str, list[str]] = collections.defaultdict(list)
    for result in results:
        states[result.key].append(result.state)
    return states


def _patient_keys(invitations: InvitationSet, fake: FakeHero) -> dict[tuple[str, str], str]:
    """(practice group, Hero patient id) -> invitation key, read from the fake's patients."""
    owners: dict[tuple[str, str], str] = {}
    groups = {str(inv.key): str(inv.practice_group_id) for inv in invitations.invitations}
    for key, nhs in invitations.nhs_by_key.items():
        group = groups[key]
        patient_id = fake._world.groups[group].patient_by_nhs.get(nhs)
        if patient_id is not None:
            owners[(group, patient_id)] = key
    return owners


# -- resources ------------------------------------------------------------------------------


def acquired_connections(hero: HeroClient) -> int:
    session = hero._core.transport.session  # type: ignore[attr-defined]
    if session is None:  # made on the first request: nothing was ever acquired
        return 0
    connector = session.connector
    assert connector is not None
    return len(connector._acquired)  # type: ignore[attr-defined]


_SDK = str(Path(hero_async.__file__).parent)
_FAKE = str(Path(hero_async.__file__).parent / "testing")
LEAK_GUARD = 60.0  # seconds: only turns a task that never ends into a failure, never a verdict


def _runs_sdk_code(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = "" if code is None else code.co_filename
    return filename.startswith(_SDK) and not filename.startswith(_FAKE)


def sdk_tasks() -> set[asyncio.Task[Any]]:
    """Pending tasks running the SDK's own code (not the fake's, not the caller's): what a
    cancelled call may leave running on purpose, e.g. the token cache's shielded fetch."""
    current = asyncio.current_task()
    return {
        t for t in asyncio.all_tasks() if t is not current and not t.done() and _runs_sdk_code(t)
    }


async def quiesce() -> None:
    """Wait, by awaiting them, for the SDK tasks still running (a shielded token fetch outlives
    its cancelled caller and holds a pooled connection until it lands), then let the loop run
    their done-callbacks. No real sleep: however slow the machine, this ends when they do."""
    async with asyncio.timeout(LEAK_GUARD):
        while running := sdk_tasks():
            await asyncio.wait(running)
    for _ in range(5):
        await asyncio.sleep(0)


async def pending_tasks() -> set[asyncio.Task[Any]]:
    """Tasks other than the caller's still pending once those running have ended.

    Every other task is awaited (not polled against a real-time budget): a task that ends,
    however late on a loaded machine, was not leaked; one still pending after ``LEAK_GUARD``
    seconds is returned for the caller to report.
    """
    current = asyncio.current_task()
    for _ in range(5):
        await asyncio.sleep(0)
    others = {t for t in asyncio.all_tasks() if t is not current and not t.done()}
    if others:
        await asyncio.wait(others, timeout=LEAK_GUARD)
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


def ledger_entries(path: Path) -> list[LedgerEntry]:
    ledger = SqliteLedger(path)
    try:
        return ledger.read_entries()
    finally:
        ledger._db.close()


# -- one chaos run --------------------------------------------------------------------------


async def quick_sleep(seconds: float) -> None:
    """The client's sleep hook in chaos runs: backoff delays shortened ``BACKOFF_SPEEDUP``
    times. The client-wide 429 pause still holds, as the limiter re-checks the clock."""
    await asyncio.sleep(seconds / BACKOFF_SPEEDUP)


async def _token_churn(hero: HeroClient, rng: random.Random, stop: asyncio.Event) -> int:
    """Side traffic during a run: Elements tokens for random groups, cache dropped each time,
    so the token endpoint's failures are met again and again. Returns the failures seen."""
    failures = 0
    while not stop.is_set():
        view = hero.practice_group(rng.choice(GROUPS))
        await view.invalidate_access_token()
        try:
            await view.access_token()
        except HeroError:
            failures += 1
        await asyncio.sleep(0.005)
    return failures


async def run_chaos(
    seed: int, n: int, folder: Path, *, concurrency: int = CHAOS_CONCURRENCY
) -> Figures:
    """One seeded chaos run over ``n`` rows; checks every invariant and returns the figures."""
    started = time.perf_counter()
    rows = make_invitations(seed, n)
    rng = random.Random(f"run:{seed}")
    ledger = folder / f"chaos-{seed}.ledger.db"
    leaver = rng.choice(GROUPS[1:])  # the key's own group cannot leave its network
    leave_at = rng.randint(n // 4, n // 2)
    async with FakeHero(seed_sandbox=True, seed=seed, log_limit=0) as fake:
        build_network(fake)
        handles = install_chaos_faults(fake, seed)
        done = 0

        def progress(result: InvitationResult) -> None:
            nonlocal done
            done += 1
            if done == leave_at:
                fake.remove_from_network(NETWORK, leaver)

        async with HeroClient(
            API_KEY, HOME, base_url=fake.url, timeout=CHAOS_TIMEOUT, sleep=quick_sleep
        ) as hero:
            stop = asyncio.Event()
            churn = asyncio.create_task(_token_churn(hero, rng, stop))
            try:
                report = await hero.send_invitations(
                    rows.invitations, concurrency=concurrency, ledger=ledger, on_progress=progress
                )
            finally:
                stop.set()
                token_failures = await churn
            with report:
                results = list(report.results())
                assert report.total == n
            assert acquired_connections(hero) == 0, "connections left acquired in the pool"
        figures = check_invariants(rows, results, ledger_entries(ledger), fake)
        assert done == n
        left = [r for r in results if r.key in rows.nhs_by_key and r.practice_group_id == leaver]
        assert any(r.error_type == "CrossOrganisationDeniedError" for r in left), "leaver"
        figures.faults = {name: handle.hits for name, handle in handles.items()}
        figures.faults["token_failures_seen_by_callers"] = token_failures
        figures.faults["group_left_network"] = 1
    leftover = await pending_tasks()
    assert not leftover, f"tasks still pending after the run: {leftover}"
    figures.seconds = round(time.perf_counter() - started, 1)
    return figures
