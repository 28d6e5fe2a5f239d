"""The request log, its bound, and the counters that outlive the bound."""

from __future__ import annotations

import aiohttp
import pytest
from fakehero_support import KEY, Caller

from hero_async.testing import FakeHero


async def test_requests_are_recorded_in_order_with_their_context(
    fake: FakeHero, hero: Caller
) -> None:
    await hero("GET", "/v1/slots", params={"page_size": "2"})
    await hero("POST", "/v1/booking_links", {"appointment_type_id": "10"})
    first, second = fake.requests
    assert (first.method, first.path, first.route, first.status) == (
        "GET",
        "/v1/slots",
        "/v1/slots",
        200,
    )
    assert first.query["page_size"] == "2"
    assert (second.body, second.status, second.practice_group_id) == (
        {"appointment_type_id": "10"},
        400,
        "1001",
    )
    assert first.request_id != second.request_id


async def test_count_filters_by_route_template_or_literal_path(
    fake: FakeHero, hero: Caller
) -> None:
    link = await hero.ok(
        "POST", "/v1/booking_links", {"appointment_type_id": "10", "location_id": "20"}
    )
    await hero("GET", f"/v1/booking_links/{link['id']}")
    await hero("GET", "/v1/booking_links/999")
    await hero("GET", "/v1/me", group="1002")
    assert fake.count(path="/v1/booking_links/{id}") == 2
    assert fake.count(path=f"/v1/booking_links/{link['id']}") == 1
    assert fake.count(method="GET", status=404) == 1
    assert fake.count(practice_group_id="1002") == 1
    assert fake.count() == 4
    assert fake.route_counts()[("GET", "/v1/booking_links/{id}")] == 2
    assert fake.practice_group_counts() == {"1001": 3, "1002": 1}


async def test_bounded_log_keeps_the_last_entries_and_exact_counters(world: FakeHero) -> None:
    bounded = FakeHero(log_limit=3)
    bounded.add_practice_group("1001")
    bounded.add_api_key(KEY, "1001")
    async with bounded, aiohttp.ClientSession(bounded.url) as session:
        caller = Caller(session)
        for _ in range(10):
            await caller("GET", "/v1/me")
    assert len(bounded.requests) == 3
    assert bounded.count(method="GET", path="/v1/me") == 10
    with pytest.raises(ValueError, match="bounded log"):
        bounded.count(path="/v1/nowhere/1")


async def test_log_limit_zero_keeps_only_counters() -> None:
    fake = FakeHero(log_limit=0)
    fake.add_practice_group("1001")
    fake.add_api_key(KEY, "1001")
    async with fake, aiohttp.ClientSession(fake.url) as session:
        await Caller(session)("GET", "/v1/me")
    assert fake.requests == []
    assert fake.count(path="/v1/me", status=200) == 1


async def test_fast_mode_counts_but_keeps_no_history() -> None:
    """For benchmarks: no request log, no message records; counts stay exact."""
    fake = FakeHero(fast=True)
    fake.add_practice_group("1001")
    fake.add_api_key(KEY, "1001")
    fake.add_patient("1001", nhs_number="9434765919", mobile="07700900123", patient_id="501")
    body = {"patient_id": "501", "message_type": "sms", "message_string": "hi"}
    async with fake, aiohttp.ClientSession(fake.url) as session:
        for _ in range(3):
            await Caller(session).ok("POST", "/v1/messages/send", body)
    assert (fake.requests, list(fake.messages)) == ([], [])
    assert fake.message_count == 3
    assert fake.count(method="POST", path="/v1/messages/send") == 3
