"""Fault injection, the per-key rate limit and concurrency observation."""

from __future__ import annotations

import asyncio
import json
import random

import aiohttp
import pytest
from fakehero_support import Caller, ManualClock

from hero_async.testing import FakeHero, Fault
from hero_async.testing._faults import FaultBook

SEND = "/v1/messages/send"
MESSAGE = {"patient_id": "501", "message_type": "sms", "message_string": "hi"}


async def test_drop_after_records_the_message_but_the_client_never_hears(
    fake: FakeHero, hero: Caller
) -> None:
    """The duplicate-SMS case: Hero sent it, the client saw a dead connection."""
    fake.add_fault(Fault(method="POST", path=SEND, drop="after"))
    with pytest.raises(aiohttp.ClientConnectionError):
        await hero("POST", SEND, MESSAGE)
    assert len(fake.messages) == 1
    assert (fake.requests[-1].status, fake.requests[-1].fault) == (0, "drop_after")
    await hero.ok("POST", SEND, MESSAGE)  # times=1: the next one goes through
    assert len(fake.messages) == 2


async def test_drop_before_sends_nothing(fake: FakeHero, hero: Caller) -> None:
    fake.add_fault(Fault(method="POST", path=SEND, drop="before"))
    with pytest.raises(aiohttp.ClientConnectionError):
        await hero("POST", SEND, MESSAGE)
    assert fake.messages == []
    assert fake.requests[-1].fault == "drop_before"
    assert fake.count(path=SEND, status=0) == 1


async def test_status_faults_answer_without_processing(fake: FakeHero, hero: Caller) -> None:
    """503 looks like a proxy (HTML); 500 is Hero-style JSON; 429 carries Retry-After."""
    fake.add_fault(Fault(path=SEND, status=503))
    fake.add_fault(Fault(path=SEND, status=500))
    fake.add_fault(Fault(path=SEND, status=429, retry_after=2))
    replies = [await hero("POST", SEND, MESSAGE) for _ in range(3)]
    assert [r.status for r in replies] == [503, 500, 429]
    assert replies[0].headers["Content-Type"].startswith("text/html")
    assert replies[1].body == {"error": True, "statusCode": 500, "message": "Unknown error"}
    assert replies[2].headers["Retry-After"] == "2"
    assert fake.messages == []
    assert [r.fault for r in fake.requests] == ["status"] * 3


async def test_malformed_json_is_a_truncated_200(fake: FakeHero, hero: Caller) -> None:
    fake.add_fault(Fault(path=SEND, malformed_json=True))
    reply = await hero("POST", SEND, MESSAGE)
    assert reply.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.text)
    assert len(fake.messages) == 1


async def test_faults_match_method_path_and_group(fake: FakeHero, hero: Caller) -> None:
    """Template or literal path; a group filter spares other groups; times counts firings."""
    link = await hero.ok(
        "POST", "/v1/booking_links", {"appointment_type_id": "10", "location_id": "20"}
    )
    literal = f"/v1/booking_links/{link['id']}"
    fake.add_fault(Fault(method="GET", path=literal, status=500))
    fake.add_fault(Fault(path="/v1/me", practice_group_id="1002", status=502, times=2))
    assert (await hero("GET", literal)).status == 500
    assert (await hero("GET", literal)).status == 200
    assert (await hero("GET", "/v1/me")).status == 200
    codes = [(await hero("GET", "/v1/me", group="1002")).status for _ in range(3)]
    assert codes == [502, 502, 200]


async def test_fault_handles_remove_and_clear(fake: FakeHero, hero: Caller) -> None:
    handle = fake.add_fault(Fault(path="/v1/me", status=500, times=None))
    assert (await hero("GET", "/v1/me")).status == 500
    assert (handle.hits, handle.remaining, handle.active) == (1, None, True)
    handle.remove()
    assert (await hero("GET", "/v1/me")).status == 200
    fake.add_fault(Fault(path="/v1/me", status=500, times=None))
    fake.clear_faults()
    assert (await hero("GET", "/v1/me")).status == 200


def test_probability_uses_the_seeded_rng() -> None:
    """Same seed, same firings; about half fire at probability 0.5."""

    def pattern(seed: int) -> list[bool]:
        book = FaultBook(random.Random(seed))
        book.add(Fault(status=500, times=None, probability=0.5))
        return [book.take("GET", "/v1/me", "/v1/me", "1001") is not None for _ in range(200)]

    assert pattern(7) == pattern(7)
    assert 70 < sum(pattern(7)) < 130


def test_a_fault_that_does_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="does nothing"):
        Fault(path=SEND)
    with pytest.raises(ValueError, match="one of"):
        Fault(status=500, drop="after")


async def test_latency_overlaps_requests_and_peak_concurrency_is_seen(
    fake: FakeHero, hero: Caller
) -> None:
    """Five requests held by a latency fault are in flight together."""
    fake.add_fault(Fault(path="/v1/me", latency=0.2, times=None))
    loop = asyncio.get_running_loop()
    started = loop.time()
    replies = await asyncio.gather(*(hero("GET", "/v1/me") for _ in range(5)))
    assert [r.status for r in replies] == [200] * 5
    assert loop.time() - started >= 0.2
    assert fake.max_concurrent_requests == 5


async def test_rate_limit_answers_429_with_retry_after(
    clock: ManualClock, fake: FakeHero, hero: Caller
) -> None:
    """Per key, on the fake's clock: a frozen clock never refills the bucket."""
    fake.set_rate_limit(per_second=2)
    codes = [(await hero("GET", "/v1/me")).status for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = await hero("GET", "/v1/me")
    assert limited.headers["Retry-After"] == "1"
    assert fake.requests[-1].fault == "rate_limit"
    assert (await hero("GET", "/v1/me", key="key-2001", group="2001")).status == 200
    clock.advance(1)
    assert (await hero("GET", "/v1/me")).status == 200
    fake.set_rate_limit(None)
    assert all([(await hero("GET", "/v1/me")).status == 200 for _ in range(5)])
