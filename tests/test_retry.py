"""When the client resends: the rule table, backoff delays, Retry-After, and the retry matrix."""

from __future__ import annotations

import builtins
import datetime as dt
import email.utils
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import backoff
import pytest
from aiohttp.client_reqrep import ConnectionKey
from hypothesis import given
from hypothesis import strategies as st

from hero_async import (
    BadRequestError,
    HeroClient,
    LocalRateLimiter,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
)
from hero_async import TimeoutError as HeroTimeoutError
from hero_async._retry import IDEMPOTENT_METHODS, Decision, RetryPolicy, decide, parse_retry_after

if TYPE_CHECKING:
    from conftest import ClientFactory, FakeClock, FakeHero, RecordingSleep

NOW = 1_700_000_000.0


# --- the rule table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idempotent", "status", "reached_server", "expected"),
    [
        (True, None, False, Decision.RETRY),  # connection never established
        (False, None, False, Decision.RETRY),
        (True, None, True, Decision.RETRY),  # reset/timeout after sending
        (False, None, True, Decision.UNKNOWN),
        (True, 429, True, Decision.RETRY),
        (False, 429, True, Decision.RETRY),
        (True, 500, True, Decision.RETRY),
        (True, 503, True, Decision.RETRY),
        (False, 500, True, Decision.UNKNOWN),
        (False, 502, True, Decision.UNKNOWN),
        (True, 400, True, Decision.RAISE),
        (False, 400, True, Decision.RAISE),
        (True, 401, True, Decision.RAISE),
        (True, 404, True, Decision.RAISE),
        (False, 422, True, Decision.RAISE),
        (True, 302, True, Decision.RAISE),
    ],
)
def test_decide_rule_table(
    idempotent: bool, status: int | None, reached_server: bool, expected: Decision
) -> None:
    """decide() follows the module's rule table for every (safety, failure) pair."""
    assert decide(idempotent=idempotent, status=status, reached_server=reached_server) is expected


def test_idempotent_methods_exclude_post_and_patch() -> None:
    """POST and PATCH are unsafe; GET, HEAD, OPTIONS, PUT, DELETE are safe to resend."""
    assert frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}) == IDEMPOTENT_METHODS
    assert "POST" not in IDEMPOTENT_METHODS
    assert "PATCH" not in IDEMPOTENT_METHODS


# --- backoff delays -----------------------------------------------------------------------


def test_delay_ceilings_double_then_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without jitter the delays are base, 2*base, 4*base ... capped at max_delay."""
    monkeypatch.setattr(backoff, "full_jitter", lambda value: value)
    delays = RetryPolicy().delays()
    assert [next(delays) for _ in range(8)] == [0.5, 1, 2, 4, 8, 8, 8, 8]
    custom = RetryPolicy(base=0.1, max_delay=0.5).delays()
    assert [next(custom) for _ in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


@given(st.integers(min_value=0, max_value=50))
def test_jittered_delays_within_bounds(count: int) -> None:
    """Every jittered delay n lies in [0, min(base * 2**n, max_delay)]."""
    policy = RetryPolicy()
    delays = policy.delays()
    for n in range(count):
        delay = next(delays)
        assert 0 <= delay <= min(policy.base * 2**n, policy.max_delay)


# --- Retry-After ------------------------------------------------------------------------


def _http_date(epoch: float) -> str:
    return email.utils.format_datetime(dt.datetime.fromtimestamp(epoch, dt.UTC), usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("5", 5.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),  # negative: do not wait, never a negative sleep
        ("100000", 120.0),  # capped
        ("inf", 120.0),
        ("nan", None),
        ("soon", None),
        ("Mon, 32 Foo 2023 99:99:99 GMT", None),
        (_http_date(NOW + 30), 30.0),
        (_http_date(NOW - 30), 0.0),  # a date in the past
        (_http_date(NOW + 3600), 120.0),  # far future date capped
        ("Tue, 14 Nov 2023 22:13:50", 30.0),  # no zone: read as UTC
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After as delta-seconds or HTTP date, clamped to [0, cap]; garbage gives None."""
    assert parse_retry_after(value, now=NOW, cap=120.0) == expected


@given(st.text(max_size=40))
def test_parse_retry_after_never_out_of_range(value: str) -> None:
    """Whatever the header says, the result is None or within [0, cap]."""
    result = parse_retry_after(value, now=NOW, cap=60.0)
    assert result is None or 0.0 <= result <= 60.0


# --- the retry matrix through the client -------------------------------------------------

ME = {"id": "1001", "name": "Riverside Surgery"}
SENT = {"message_id": "m-1"}
APPOINTMENT = {"id": "300", "practitioner_id": "9", "location_id": "5"}
BATCH = {"id": "b-1", "name": "Flu", "status": "PENDING", "channel": "SMS", "content": "x"}

Call = Callable[[HeroClient], Awaitable[Any]]

# method -> (path, success payload, the SDK call)
CALLS: dict[str, tuple[str, Any, Call]] = {
    "GET": ("/v1/me", ME, lambda h: h.practice_group_info.me()),
    "POST": (
        "/v1/messages/send",
        SENT,
        lambda h: h.messages.send(patient_id="156", message_type="hero", message_string="Hi"),
    ),
    "PATCH": ("/v1/batch_message/b-1/send", None, lambda h: h.batch_messages.send("b-1")),
    "PUT": (
        "/v1/appointments/300",
        APPOINTMENT,
        lambda h: h.appointments.update(
            "300", start_time="2024-05-01T09:30:00Z", duration=15, practitioner_id="9"
        ),
    ),
    "DELETE": ("/v1/webhooks/wh-1", None, lambda h: h.webhooks.delete("wh-1")),
}


def _connector_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.test", 443, True, True, None, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


# failure name -> aioresponses kwargs for the failing answer
FAILURES: dict[str, Callable[[], dict[str, Any]]] = {
    "500": lambda: {"status": 500, "body": "Unknown error"},
    "502": lambda: {"status": 502, "body": "<html>Bad gateway</html>"},
    "503": lambda: {"status": 503, "body": ""},
    "disconnected": lambda: {"exception": aiohttp.ServerDisconnectedError()},
    "read-timeout": lambda: {"exception": aiohttp.SocketTimeoutError("read timed out")},
    "total-timeout": lambda: {"exception": builtins.TimeoutError("timed out")},
    "refused": lambda: {"exception": _connector_error()},
    "connect-timeout": lambda: {"exception": aiohttp.ConnectionTimeoutError("connect")},
    "429": lambda: {"status": 429, "headers": {"Retry-After": "2"}},
    "400": lambda: {
        "status": 400,
        "payload": {"error": True, "statusCode": 400, "message": [{"code": "x", "path": ["a"]}]},
    },
    "404": lambda: {"status": 404, "payload": {"message": "not found"}},
}

RETRIED = "retried"
UNKNOWN = "outcome-unknown"

MATRIX: list[tuple[str, str, str | type[Exception]]] = [
    ("GET", "500", RETRIED),
    ("GET", "502", RETRIED),
    ("GET", "503", RETRIED),
    ("GET", "disconnected", RETRIED),
    ("GET", "read-timeout", RETRIED),
    ("GET", "total-timeout", RETRIED),
    ("GET", "refused", RETRIED),
    ("GET", "429", RETRIED),
    ("GET", "400", BadRequestError),
    ("GET", "404", NotFoundError),
    ("PUT", "503", RETRIED),
    ("PUT", "disconnected", RETRIED),
    ("DELETE", "500", RETRIED),
    ("DELETE", "read-timeout", RETRIED),
    ("POST", "500", UNKNOWN),
    ("POST", "502", UNKNOWN),
    ("POST", "503", UNKNOWN),
    ("POST", "disconnected", UNKNOWN),
    ("POST", "read-timeout", UNKNOWN),
    ("POST", "total-timeout", UNKNOWN),
    ("POST", "refused", RETRIED),
    ("POST", "connect-timeout", RETRIED),
    ("POST", "429", RETRIED),
    ("POST", "400", BadRequestError),
    ("POST", "404", NotFoundError),
    ("PATCH", "500", UNKNOWN),
    ("PATCH", "503", UNKNOWN),
    ("PATCH", "disconnected", UNKNOWN),
    ("PATCH", "refused", RETRIED),
    ("PATCH", "429", RETRIED),
    ("PATCH", "400", BadRequestError),
]


@pytest.mark.parametrize(
    ("method", "failure", "outcome"), MATRIX, ids=[f"{m}-{f}" for m, f, _ in MATRIX]
)
async def test_retry_matrix(
    client: ClientFactory,
    api: FakeHero,
    sleep: RecordingSleep,
    method: str,
    failure: str,
    outcome: str | type[Exception],
) -> None:
    """One failure then success: safe failures are resent once, unsafe ones never."""
    path, payload, call = CALLS[method]
    api.add(method, path, **FAILURES[failure]())
    success: dict[str, Any] = {} if payload is None else {"payload": payload}
    api.add(method, path, **success)
    hero = await client()  # its limiter runs on the fake clock: a 429 pause is instant
    if outcome == RETRIED:
        await call(hero)
        assert api.count(method, path) == 2
    elif outcome == UNKNOWN:
        with pytest.raises(OutcomeUnknownError) as info:
            await call(hero)
        assert api.count(method, path) == 1
        error = info.value
        assert (error.method, error.path, error.practice_group_id) == (method, path, "1001")
        assert "not resent" in str(error)
        assert sleep.delays == []
    else:
        assert isinstance(outcome, type)
        with pytest.raises(outcome):
            await call(hero)
        assert api.count(method, path) == 1
        assert sleep.delays == []


async def test_outcome_unknown_keeps_the_cause(client: ClientFactory, api: FakeHero) -> None:
    """OutcomeUnknownError names the cause and chains the underlying ServerError."""
    api.add("POST", "/v1/messages/send", status=503, headers={"x-request-id": "req-9"})
    hero = await client()
    with pytest.raises(OutcomeUnknownError) as info:
        await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")
    assert isinstance(info.value.__cause__, ServerError)
    assert info.value.__cause__.status == 503
    assert "503" in info.value.cause
    assert "POST /v1/messages/send" in str(info.value)
    assert "1001" in str(info.value)


async def test_outcome_unknown_for_other_group_names_it(
    client: ClientFactory, api: FakeHero
) -> None:
    """A POST that may have reached Hero for another group carries that group's id."""
    api.add("POST", "/v1/booking_links", exception=aiohttp.ServerDisconnectedError())
    hero = await client()
    with pytest.raises(OutcomeUnknownError) as info:
        await hero.practice_group("1002").booking_links.create(
            appointment_type_id="1", location_id="5"
        )
    assert info.value.practice_group_id == "1002"
    assert isinstance(info.value.__cause__, TransportError)
    assert info.value.__cause__.reached_server is True


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
async def test_max_retries_respected(
    client: ClientFactory, api: FakeHero, sleep: RecordingSleep, max_retries: int
) -> None:
    """A GET failing forever is sent max_retries+1 times, then raises ServerError."""
    api.add("GET", "/v1/me", status=500, body="down", repeat=True)
    hero = await client(max_retries=max_retries)
    with pytest.raises(ServerError) as info:
        await hero.practice_group_info.me()
    assert info.value.status == 500
    assert api.count("GET", "/v1/me") == max_retries + 1
    assert len(sleep.delays) == max_retries


@pytest.mark.parametrize("max_retries", [-1, -5])
def test_negative_max_retries_rejected(max_retries: int) -> None:
    """A negative max_retries is refused when the client is built, not at the first request."""
    with pytest.raises(ValueError, match="max_retries"):
        HeroClient("test-key-SECRET", "1001", base_url="https://api.test", max_retries=max_retries)


async def test_default_max_retries_is_three(client: ClientFactory, api: FakeHero) -> None:
    """With defaults a failing GET is tried four times in all."""
    api.add("GET", "/v1/me", exception=aiohttp.ServerDisconnectedError(), repeat=True)
    hero = await client()
    with pytest.raises(TransportError) as info:
        await hero.practice_group_info.me()
    assert api.count("GET", "/v1/me") == 4
    assert (info.value.method, info.value.path, info.value.practice_group_id) == (
        "GET",
        "/v1/me",
        "1001",
    )


async def test_timeouts_surface_as_hero_timeout_error(client: ClientFactory, api: FakeHero) -> None:
    """A GET timing out every time raises hero_async.TimeoutError (also builtins.TimeoutError)."""
    api.add("GET", "/v1/me", exception=aiohttp.SocketTimeoutError("read"), repeat=True)
    hero = await client(max_retries=1)
    with pytest.raises(HeroTimeoutError) as info:
        await hero.practice_group_info.me()
    assert isinstance(info.value, builtins.TimeoutError)
    assert info.value.reached_server is True


async def test_backoff_delays_come_from_injected_sleep(
    client: ClientFactory, api: FakeHero, sleep: RecordingSleep
) -> None:
    """Each retry waits through the injected sleep, within [0, 0.5 * 2**n]."""
    api.add("GET", "/v1/me", status=503, repeat=3)
    api.add("GET", "/v1/me", payload=ME)
    hero = await client()
    await hero.practice_group_info.me()
    assert len(sleep.delays) == 3
    for n, delay in enumerate(sleep.delays):
        assert 0 <= delay <= 0.5 * 2**n


async def test_backoff_delays_capped(
    client: ClientFactory, api: FakeHero, sleep: RecordingSleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With jitter at its maximum, the client's waits double up to 8 s and stay there."""
    monkeypatch.setattr(backoff, "full_jitter", lambda value: value)
    api.add("GET", "/v1/me", status=500, repeat=True)
    hero = await client(max_retries=7)
    with pytest.raises(ServerError):
        await hero.practice_group_info.me()
    assert sleep.delays == [0.5, 1, 2, 4, 8, 8, 8]


@pytest.mark.parametrize(
    ("header", "expected_pause"),
    [
        ("3", 3.0),
        ("0.25", 0.25),
        (_http_date(NOW + 10), 10.0),
        ("99999", 120.0),
        ("garbage", 1.0),  # unreadable: the default pause
        (None, 1.0),  # absent: the default pause
    ],
    ids=["seconds", "fraction", "http-date", "capped", "garbage", "absent"],
)
async def test_retry_after_honoured_on_429(
    client: ClientFactory,
    api: FakeHero,
    clock: FakeClock,
    sleep: RecordingSleep,
    header: str | None,
    expected_pause: float,
) -> None:
    """A 429 pauses for Retry-After (seconds or HTTP date, capped) and adds no backoff."""
    assert clock() == NOW
    headers = {} if header is None else {"Retry-After": header}
    api.add("GET", "/v1/me", status=429, headers=headers)
    api.add("GET", "/v1/me", payload=ME)
    hero = await client()
    await hero.practice_group_info.me()
    assert sleep.delays == [pytest.approx(expected_pause)]
    assert api.count("GET", "/v1/me") == 2


async def test_429_exhausted_raises_rate_limit_error_with_retry_after(
    client: ClientFactory, api: FakeHero, sleep: RecordingSleep
) -> None:
    """When every attempt is a 429, RateLimitError carries the parsed retry_after."""
    api.add("POST", "/v1/messages/send", status=429, headers={"Retry-After": "4"}, repeat=True)
    hero = await client(max_retries=2)
    with pytest.raises(RateLimitError) as info:
        await hero.messages.send(patient_id="156", message_type="hero", message_string="Hi")
    assert info.value.retry_after == 4.0
    assert info.value.status == 429
    assert api.count("POST", "/v1/messages/send") == 3
    assert sleep.delays == [4.0, 4.0]


async def test_non_429_errors_do_not_pause_the_limiter(
    client: ClientFactory, api: FakeHero, clock: FakeClock, sleep: RecordingSleep
) -> None:
    """A 503 backs off only its own call; the shared limiter is not paused."""
    limiter = LocalRateLimiter(clock=clock, sleep=sleep)
    api.add("GET", "/v1/me", status=503)
    api.add("GET", "/v1/me", payload=ME)
    hero = await client(rate_limiter=limiter)
    await hero.practice_group_info.me()
    assert limiter.paused_until == 0.0


# --- what mutation testing found untested (tests/MUTATION.md) ------------------------------


def test_no_answer_means_the_request_may_have_reached_hero_unless_told_otherwise() -> None:
    """The safe default: a POST with no HTTP answer is outcome-unknown, never resent."""
    assert decide(idempotent=False) is Decision.UNKNOWN
    assert decide(idempotent=False, reached_server=False) is Decision.RETRY


def test_retry_after_date_with_an_offset_is_read_in_that_offset() -> None:
    """23:13:50 +0100 is 22:13:50 UTC: 30 s after NOW, not an hour more."""
    assert parse_retry_after("Tue, 14 Nov 2023 23:13:50 +0100", now=NOW, cap=7200.0) == 30.0


def test_retry_after_date_without_zone_is_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        for value in ("Tue, 14 Nov 2023 22:13:50", "Tue, 14 Nov 2023 22:13:50 -0000"):
            assert parse_retry_after(value, now=NOW, cap=7200.0) == 30.0, value
    finally:
        monkeypatch.undo()
        time.tzset()
