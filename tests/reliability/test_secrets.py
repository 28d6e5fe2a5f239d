"""Secrets and patient data: logs, reprs, the ledger and the report, webhook signatures.

* Every log record at DEBUG, from every logger, during a faulty bulk run plus webhook traffic:
  the API key, access tokens and the webhook signing key never appear; NHS numbers, dates of
  birth, phone numbers, e-mail addresses and message bodies never appear either (the SDK logs
  method, path, practice group and status only, so there is nothing to unmask: no opt-in).
* Reprs of the client, tokens, errors and invitations mask them.
* The ledger file (with its WAL) and the written report hold only keys, groups, states, Hero
  ids, short links and error text.
* Webhook signatures: tests/test_webhooks_signature.py rejects every near miss (a character
  off, truncated, a prefix, another scheme) by behaviour, not by reading the source.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from reliability_support import (
    CHAOS_TIMEOUT,
    GROUPS,
    HOME,
    build_network,
    install_chaos_faults,
    nhs_numbers,
    quick_sleep,
)

from hero_async import (
    AccessToken,
    HeroClient,
    HeroError,
    Invitation,
    MalformedResponseError,
    ValidationError,
)
from hero_async import _validate as v
from hero_async.bulk import SqliteLedger
from hero_async.bulk._report import FIELDS
from hero_async.testing import FakeHero, Fault
from hero_async.webhooks import WEBHOOK_RECEIVER, WebhookEvent, WebhookRouter, webhook_app

API_KEY = "hk_live_Zq8Jd03mRt7vXw2N"  # distinctive, so any echo is found
SIGNING_KEY = "whsec_Pz5Lk9Ya4Qe1"
MARKER = "Kwzpqj"  # in every message body, and in nothing else


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.formatter_ = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[tuple[str, str]]:
        for record in self.records:
            # Text arguments only: a float such as 12.8000001802 would "contain" an NHS number.
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            texts = [str(a) for a in args if isinstance(a, str | bytes | BaseException)]
            parts = [record.getMessage(), *texts, record.name]
            if record.exc_info:
                parts.append(self.formatter_.formatException(record.exc_info))
            if record.stack_info:
                parts.append(record.stack_info)
            yield record.name, "\n".join(parts)


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every record from every logger at DEBUG, for the duration of the test."""
    handler = Capture()
    root = logging.getLogger()
    sdk = logging.getLogger("hero_async")
    saved = root.level, sdk.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sdk.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        sdk.setLevel(saved[1])


class RecordingStore:
    """A TokenStore that remembers every access token it was given."""

    def __init__(self) -> None:
        self.tokens: dict[str, AccessToken] = {}
        self.seen: set[str] = set()

    async def get(self, practice_group_id: str) -> AccessToken | None:
        return self.tokens.get(practice_group_id)

    async def set(self, token: AccessToken) -> None:
        self.tokens[token.practice_group_id] = token
        self.seen.add(token.token)

    async def delete(self, practice_group_id: str) -> None:
        self.tokens.pop(practice_group_id, None)


class Patients:
    """Patient data for ``n`` invitations, each value distinctive enough to search for."""

    def __init__(self, n: int, start: int = 800_000_000) -> None:
        numbers = nhs_numbers(start)
        self.rows: list[Invitation] = []
        self.secrets: set[str] = set()
        for i in range(n):
            nhs = next(numbers)
            dob = f"19{40 + i % 50:02d}-0{1 + i % 9}-1{i % 10}"
            kind = "email" if i % 3 == 0 else "sms"
            contact = f"patient.{nhs}@example.org" if kind == "email" else f"07700{nhs[-6:]}"
            body = f"[p/{i:04d}] {MARKER} dear patient, your flu jab invitation: {{link}}"
            self.rows.append(
                Invitation(
                    key=f"p/{i:04d}",
                    practice_group_id=GROUPS[i % len(GROUPS)],
                    nhs_number=nhs,
                    dob=dob,
                    appointment_type_id="10",
                    location_id="20",
                    message_type=kind,
                    message_template=body,
                    recipient_contact_detail=contact,
                )
            )
            self.secrets.update({nhs, f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", dob, contact})
        self.secrets.add(MARKER)


@pytest.fixture
async def fake() -> AsyncIterator[FakeHero]:
    async with FakeHero(seed_sandbox=True, seed=7) as hero:
        build_network(hero)
        hero.add_api_key(API_KEY, HOME)
        yield hero


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def files_holding(folder: Path, needles: set[str]) -> list[tuple[str, str]]:
    """(file name, needle) for every needle found in the bytes of a file in ``folder``."""
    found = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        found += [(path.name, needle) for needle in sorted(needles) if needle.encode() in data]
    return found


def assert_absent(texts: Any, needles: set[str], what: str) -> None:
    found = [(name, needle) for name, text in texts for needle in needles if needle in text]
    assert not found, f"{what} found in: {found[:5]}"


# -- logs -------------------------------------------------------------------------------------


def _signed(body: bytes, *, key: str = SIGNING_KEY, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "X-Herohealth-Timestamp": timestamp,
        "X-Herohealth-Signature": digest.hexdigest(),
        "Content-Type": "application/json",
    }


async def _webhook_traffic(patients: Patients) -> None:
    """Deliveries good and bad to a webhook_app: handled, duplicate, failing handler, forged,
    stale, unreadable. Payload ids are Hero ids; nothing else is known to the receiver."""
    router = WebhookRouter()

    @router.on("appointment.confirmed")
    async def confirmed(event: WebhookEvent) -> None:
        if event.id.endswith("7"):
            raise RuntimeError("the booking system is down")

    app = webhook_app(SIGNING_KEY, router)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hero/webhooks"
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(20):
                event = {
                    "object": "appointment",
                    "id": str(9000 + n % 12),
                    "practice_group_id": HOME,
                    "event": "appointment.confirmed",
                }
                body = json.dumps(event).encode()
                headers = _signed(body)
                if n % 5 == 1:
                    headers = _signed(body, key="forged-" + SIGNING_KEY)
                elif n % 5 == 2:
                    headers = _signed(body, at=time.time() - 3600)
                elif n % 5 == 3:
                    body = b'{"object": "appointment", "id": ' + MARKER.encode()
                    headers = _signed(body)
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
        await app[WEBHOOK_RECEIVER].drain()
    finally:
        await runner.cleanup()


async def test_no_secret_or_patient_data_in_any_log_record(
    fake: FakeHero, capture: Capture, tmp_path: Path
) -> None:
    patients = Patients(300)
    install_chaos_faults(fake, seed=5, scale=2.0)
    store = RecordingStore()
    async with HeroClient(
        API_KEY,
        HOME,
        base_url=fake.url,
        token_store=store,
        sleep=quick_sleep,
        timeout=CHAOS_TIMEOUT,  # only the held answers time out, however loaded the machine
    ) as hero:
        with await hero.send_invitations(
            patients.rows, concurrency=30, ledger=tmp_path / "l.db"
        ) as report:
            assert report.total == 300
        for group in GROUPS:  # Elements tokens for every group, some through the faults
            with contextlib.suppress(HeroError):
                await hero.practice_group(group).access_token()
    await _webhook_traffic(patients)

    assert store.seen, "no token was ever fetched"
    names = {record.name for record in capture.records}
    assert "hero_async" in names, f"the SDK logged nothing at DEBUG: {names}"
    assert "hero_async.webhooks" in names
    texts = list(capture.texts())
    assert_absent(texts, {API_KEY}, "the API key")
    assert_absent(texts, store.seen, "an access token")
    assert_absent(texts, {SIGNING_KEY, SIGNING_KEY[6:]}, "the webhook signing key")
    sdk_texts = [(name, text) for name, text in texts if name.startswith("hero_async")]
    assert_absent(sdk_texts, patients.secrets, "patient data")


# -- reprs ------------------------------------------------------------------------------------


def test_client_and_token_reprs_mask_secrets() -> None:
    hero = HeroClient(API_KEY, HOME, base_url="https://api.example.com")
    assert API_KEY not in repr(hero)
    assert API_KEY not in str(hero)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlX3NlY3JldA"
    token = AccessToken.from_jwt(jwt, HOME, issued_at=0)
    for shown in (repr(token), str(token), f"{token}", repr([token])):
        assert jwt not in shown
        assert "c2lnbmF0dXJl" not in shown
    assert repr(hero.practice_group("1002")) == "PracticeGroupView(practice_group_id='1002')"


def test_invitation_repr_masks_patient_data_and_the_message_body() -> None:
    patients = Patients(3)
    for invitation in patients.rows:
        shown = repr(invitation)
        for secret in patients.secrets:
            assert secret not in shown, f"{secret!r} in {shown}"
        assert invitation.key in shown


@pytest.mark.parametrize(
    ("check", "value"),
    [
        ("nhs_number", "9434765918"),
        ("contact_sms", "07700 900 12"),
        ("contact_email", "jane.doe@@example.com"),
        ("dob", "2999-01-31"),
    ],
)
def test_validation_errors_do_not_echo_patient_data(check: str, value: str) -> None:
    checks = {
        "nhs_number": lambda x: v.nhs_number(x),
        "contact_sms": lambda x: v.contact_detail(x, "recipient_contact_detail", "sms"),
        "contact_email": lambda x: v.contact_detail(x, "recipient_contact_detail", "email"),
        "dob": lambda x: v.date(x, "dob", not_future=True),
    }
    with pytest.raises(ValidationError) as caught:
        checks[check](value)
    assert value not in str(caught.value)
    assert value not in repr(caught.value)


class Answers:
    """A loopback server giving 200 answers that hold secrets but cannot be read."""

    def __init__(self, token: str, patient: dict[str, Any]) -> None:
        self.token, self.patient = token, patient
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Answers:
        app = web.Application()

        async def truncated_token(request: web.Request) -> web.Response:
            body = json.dumps({"access_token": self.token, "expires": "soon"})[:-12]
            return web.Response(body=body.encode(), content_type="application/json")

        async def wrong_patient(request: web.Request) -> web.Response:
            return web.json_response(self.patient)

        app.router.add_post("/v1/access_token", truncated_token)
        app.router.add_get("/v1/patients/{id}", wrong_patient)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def test_error_reprs_never_carry_tokens_or_patient_data() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDAxIn0.U2VjcmV0U2lnbmF0dXJlMTIz"
    patient = {
        "id": ["not", "a", "string"],
        "nhs_number": "9434765919",
        "mobile": "07700900123",
        "email": "jane.doe@example.com",
        "dob": "1980-01-31",
        "first_name": "Jane",
    }
    async with (
        Answers(token, patient) as server,
        HeroClient(API_KEY, HOME, base_url=server.url, max_retries=0) as hero,
    ):
        errors: list[BaseException] = []
        for call in (
            hero.access_token,
            lambda: hero.patients.get("5"),
        ):
            with pytest.raises(HeroError) as caught:
                await call()
            errors.append(caught.value)
    assert isinstance(errors[0], MalformedResponseError)
    assert isinstance(errors[1], MalformedResponseError)
    secrets = {token, token.split(".")[2], "9434765919", "07700900123", "jane.doe@example.com"}
    for error in errors:
        for shown in (str(error), repr(error), repr(error.args)):
            for secret in secrets:
                assert secret not in shown, f"{secret!r} in {type(error).__name__}: {shown}"
            assert API_KEY not in shown


async def test_error_text_echoing_patient_data_stays_out_of_errors_ledger_and_report(
    tmp_path: Path,
) -> None:
    """Hero's error ``message`` (or a proxy's error page) may quote what was sent: an NHS
    number in a 404 from PDS, the message body in a gateway's 502 page. The SDK copies up to
    500 characters of that text into the exception's message, and the pipeline copies the
    exception's message into the ledger and the report. Neither may end up holding it."""
    nhs, mobile = "9434765919", "07700900123"

    async def not_found(request: web.Request) -> web.Response:
        sent = await request.json()
        text = f"No patient with NHS number {sent['nhs_number']} and dob {sent['dob']}"
        return web.json_response({"statusCode": 404, "message": text}, status=404)

    async def echo_gateway(request: web.Request) -> web.Response:
        return web.Response(status=502, text=f"<html>bad gateway for {await request.text()}</html>")

    async def link(request: web.Request) -> web.Response:
        return web.json_response({"id": "5001", "short_link": "https://hero.sandbox/l/abc"})

    async def patient(request: web.Request) -> web.Response:
        sent = await request.json()
        if sent["nhs_number"] == nhs:
            return await not_found(request)
        return web.json_response({"patient_id": "501"})

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "x.y.z"})

    app = web.Application()
    app.router.add_post("/v1/patients/register_pds", patient)
    app.router.add_post("/v1/booking_links", link)
    app.router.add_post("/v1/messages/send", echo_gateway)
    app.router.add_post("/v1/access_token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rows = [
        Invitation("e/1", HOME, "10", "20", nhs_number=nhs, dob="1980-01-31"),
        Invitation(
            "e/2", HOME, "10", "20", nhs_number="9000000009", dob="1990-05-05",
            message_template=f"{MARKER} your invitation: {{link}}",
            recipient_contact_detail=mobile,
        ),
    ]  # fmt: skip
    ledger = tmp_path / "echo.db"
    try:
        async with HeroClient(API_KEY, HOME, base_url=url, max_retries=0) as hero:
            errors = []
            for call in (
                lambda: hero.patients.register_pds(nhs_number=nhs, dob="1980-01-31"),
                lambda: hero.messages.send(
                    patient_id="5", message_type="sms", message_string=f"{MARKER} hello"
                ),
            ):
                with pytest.raises(HeroError) as caught:
                    await call()
                errors.append(caught.value)
            with await hero.send_invitations(rows, ledger=ledger) as report:
                report.write(tmp_path / "report.json")
                states = sorted(r.state for r in report.results())
    finally:
        await runner.cleanup()
    assert states == ["failed", "outcome_unknown"]
    secrets = {nhs, "1980-01-31", mobile, MARKER}
    leaks = [
        (type(error).__name__, secret)
        for error in errors
        for secret in secrets
        if secret in str(error) or secret in repr(error)
    ]
    leaks += files_holding(tmp_path, secrets)
    assert not leaks, f"patient data copied from Hero's error text into: {leaks}"


# -- the ledger and the report ----------------------------------------------------------------

LEDGER_COLUMNS = [
    "key",
    "practice_group_id",
    "state",
    "patient_id",
    "link_id",
    "short_link",
    "message_id",
    "step",
    "error_type",
    "error",
    "fingerprint",  # 16 bits of "who" + 48 of "what": tells keys apart, identifies nobody
    "updated_at",
    "epoch",
    "owner",
]
REPORT_FIELDS = [
    "key",
    "practice_group_id",
    "state",
    "step",
    "patient_id",
    "link_id",
    "short_link",
    "message_id",
    "error_type",
    "error",
    "retryable",
]


def test_the_ledger_and_report_hold_only_the_documented_columns(tmp_path: Path) -> None:
    SqliteLedger(tmp_path / "schema.db")._db.close()
    db = sqlite3.connect(tmp_path / "schema.db")
    columns = [row[1] for row in db.execute("PRAGMA table_info(invitations)")]
    db.close()
    assert columns == LEDGER_COLUMNS
    assert list(FIELDS) == REPORT_FIELDS


async def test_ledger_and_report_files_hold_no_patient_data(fake: FakeHero, tmp_path: Path) -> None:
    """After a faulty run (answers dropped, truncated, 5xx), the bytes on disk of the ledger,
    its WAL, and the JSON and CSV reports contain none of the patients' data."""
    patients = Patients(200, start=810_000_000)
    install_chaos_faults(fake, seed=9, scale=6.0)
    fake.add_fault(Fault(method="POST", path="/v1/messages/send", malformed_json=True, times=5))
    fake.add_fault(Fault(method="POST", path="/v1/booking_links", malformed_json=True, times=5))
    ledger = tmp_path / "job.ledger.db"
    async with HeroClient(API_KEY, HOME, base_url=fake.url, sleep=quick_sleep) as hero:
        with await hero.send_invitations(patients.rows, concurrency=20, ledger=ledger) as report:
            report.write(tmp_path / "report.json")
            report.write(tmp_path / "report.csv")
            errors = [r.error for r in report.results() if r.error]
    assert errors, "the faults produced no errors to inspect"
    assert ledger.name in names_in(tmp_path)
    found = files_holding(tmp_path, patients.secrets)
    assert not found, f"files on disk hold patient data: {found[:5]}"
    await asyncio.sleep(0)
