"""Fixtures for the fake's own tests: a small, fully known world on a manual clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import pytest
from fakehero_support import DOB, HOME, KEY, NHS, TOMORROW_9AM, Caller, ManualClock

from hero_async.testing import FakeHero
from hero_async.testing.pytest_plugin import (  # noqa: F401 - the plugin's fixtures, under test
    _hero_fake_server,
    hero_fake,
    hero_fake_session,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> FakeHero:
    """1001 (home of key-1) and 1002 share network pcn; 2001 stands alone."""
    fake = FakeHero(clock=clock)
    for group in ("1001", "1002", "2001"):
        fake.add_practice_group(group, name=f"Practice {group}")
        fake.add_appointment_type(group, id="10", name="Flu jab", duration=10)
        fake.add_location(group, id="20", name="Main site")
    fake.add_location(HOME, id="21", name="Branch")
    fake.add_api_key(KEY, practice_group_id=HOME)
    fake.add_api_key("links-only", practice_group_id=HOME, scopes=("booking_links",))
    fake.add_api_key("key-2001", practice_group_id="2001")
    fake.add_network("pcn", [HOME, "1002"])
    fake.add_patient(HOME, nhs_number=NHS, dob=DOB, mobile="07700900123", patient_id="501")
    fake.add_patient(
        HOME, nhs_number="9000000009", dob="1990-05-05", email="a@example.com", patient_id="502"
    )
    fake.add_patient(
        "1002", nhs_number="9000000017", dob="1991-06-06", mobile="07700900999", patient_id="601"
    )
    for minutes in (0, 30, 60):
        for location in ("20", "21"):
            fake.add_slot(
                HOME,
                appointment_type_id="10",
                location_id=location,
                practitioner_id="30",
                start_time=TOMORROW_9AM + dt.timedelta(minutes=minutes),
            )
    return fake


@pytest.fixture
async def fake(world: FakeHero) -> AsyncIterator[FakeHero]:
    async with world:
        yield world


@pytest.fixture
async def hero(fake: FakeHero) -> AsyncIterator[Caller]:
    async with aiohttp.ClientSession(fake.url) as session:
        yield Caller(session)
