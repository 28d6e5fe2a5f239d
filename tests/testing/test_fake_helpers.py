"""Library-user helpers: reset(), clear_requests(), assert_called() and the session fixture."""

from __future__ import annotations

import pytest
from fakehero_support import Caller

from hero_async import HeroClient
from hero_async.testing import SANDBOX_API_KEY, SANDBOX_PATIENT_NHS, FakeHero, Fault

LINK = {"appointment_type_id": "10", "location_id": "20"}


async def test_clear_requests_empties_the_log_and_counters_but_keeps_the_world(
    fake: FakeHero, hero: Caller
) -> None:
    link = await hero.ok("POST", "/v1/booking_links", LINK)
    fake.clear_requests()
    assert fake.requests == []
    assert fake.count() == 0
    assert (await hero.ok("GET", f"/v1/booking_links/{link['id']}"))["id"] == link["id"]


async def test_reset_restores_the_world_as_it_was_at_start(fake: FakeHero, hero: Caller) -> None:
    first = await hero.ok("POST", "/v1/booking_links", LINK)
    await hero.ok("POST", "/v1/messages/send", {"patient_id": "501", "message_type": "sms",
                                                "message_string": "hi"})  # fmt: skip
    fake.add_fault(Fault(method="GET", path="/v1/me", status=503))
    fake.reset()
    assert fake.requests == []
    assert fake.messages == []
    assert fake.message_count == 0
    assert fake.booking_links == []
    assert (await hero("GET", f"/v1/booking_links/{first['id']}")).status == 404
    assert (await hero("GET", "/v1/me")).status == 200  # faults are gone
    again = await hero.ok("POST", "/v1/booking_links", LINK)
    assert again["id"] == first["id"]  # ids start over: runs stay reproducible
    patient = await hero.ok("GET", "/v1/patients/501")  # seeded before start: still there
    assert patient["id"] == "501"


async def test_assert_called_matches_method_path_and_body_fields(
    fake: FakeHero, hero: Caller
) -> None:
    link = await hero.ok("POST", "/v1/booking_links", {**LINK, "maximum_use_count": 2})
    found = fake.assert_called("POST", "/v1/booking_links", maximum_use_count=2)
    assert found.body["location_id"] == "20"
    await hero.ok("GET", f"/v1/booking_links/{link['id']}")
    fake.assert_called("GET", "/v1/booking_links/{id}")  # a route template matches too
    fake.assert_called("GET", f"/v1/booking_links/{link['id']}")


async def test_assert_called_failure_says_what_was_seen(fake: FakeHero, hero: Caller) -> None:
    await hero.ok("POST", "/v1/booking_links", LINK)
    with pytest.raises(AssertionError, match=r"maximum_use_count") as info:
        fake.assert_called("POST", "/v1/booking_links", maximum_use_count=5)
    assert "POST /v1/booking_links" in str(info.value)
    with pytest.raises(AssertionError, match="no DELETE"):
        fake.assert_called("DELETE", "/v1/webhooks/{id}")


async def test_assert_called_does_not_echo_body_values(fake: FakeHero, hero: Caller) -> None:
    """Bodies hold patient data: the failure names fields, not their values."""
    await hero.ok("POST", "/v1/patients/register_pds", {"nhs_number": SANDBOX_PATIENT_NHS,
                                                         "dob": "1980-01-31"})  # fmt: skip
    with pytest.raises(AssertionError) as info:
        fake.assert_called("POST", "/v1/patients/register_pds", dob="1999-01-01")
    assert SANDBOX_PATIENT_NHS not in str(info.value)
    assert "1980-01-31" not in str(info.value)


@pytest.mark.asyncio(loop_scope="session")
async def test_session_fixture_is_reset_between_tests_first(
    hero_fake_session: FakeHero,
) -> None:
    async with HeroClient(SANDBOX_API_KEY, "1001", base_url=hero_fake_session.url) as client:
        await client.booking_links.create(appointment_type_id="10", location_id="20")
    assert hero_fake_session.count("POST", "/v1/booking_links") == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_session_fixture_is_reset_between_tests_second(
    hero_fake_session: FakeHero,
) -> None:
    assert hero_fake_session.requests == []
    assert hero_fake_session.booking_links == []
