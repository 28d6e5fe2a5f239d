"""The standard sandbox, the pytest plugin, the public surface and the standalone runner."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest
from fakehero_support import Caller

import hero_async.testing
from hero_async.testing import (
    SANDBOX_API_KEY,
    SANDBOX_IDENTITY_CHECK_NHS,
    SANDBOX_NOT_FOUND_NHS,
    FakeHero,
    sandbox_world,
)
from hero_async.testing.__main__ import main
from hero_async.testing._validation import nhs_number_ok
from hero_async.testing.pytest_plugin import hero_fake  # noqa: F401 - the fixture under test

PDS = "/v1/patients/register_pds"


def test_special_nhs_numbers_are_valid() -> None:
    """They must pass mod-11, or they would be refused with 400 before PDS is asked."""
    assert nhs_number_ok(SANDBOX_IDENTITY_CHECK_NHS)
    assert nhs_number_ok(SANDBOX_NOT_FOUND_NHS)


async def test_plugin_fixture_serves_the_sandbox(hero_fake: FakeHero) -> None:  # noqa: F811
    """Key sandbox-key (home 1001), pcn-north 1001-1005, 2001 outside, types/locations/slots."""
    async with aiohttp.ClientSession(hero_fake.url) as session:
        call = Caller(session)
        assert (await call.ok("GET", "/v1/me", key=SANDBOX_API_KEY))["id"] == "1001"
        for group in ("1002", "1005"):
            types = await call.ok("GET", "/v1/appointment_types", key=SANDBOX_API_KEY, group=group)
            assert [(t["id"], t["name"]) for t in types["data"]] == [
                ("10", "Flu jab"),
                ("11", "Health check"),
            ]
        locations = await call.ok("GET", "/v1/locations", key=SANDBOX_API_KEY, group="1003")
        assert [loc["id"] for loc in locations["data"]] == ["20", "21"]
        slots = await call.ok("GET", "/v1/slots/count", key=SANDBOX_API_KEY, group="1004")
        assert slots["count"] == 8
        assert (await call("GET", "/v1/me", key=SANDBOX_API_KEY, group="2001")).status == 403


async def test_sandbox_pds_is_permissive_and_deterministic(hero_fake: FakeHero) -> None:  # noqa: F811
    """Any valid number registers with contacts; same number+group, same id, in any fake."""
    body = {"nhs_number": "9000000017", "dob": "1990-01-01"}
    async with aiohttp.ClientSession(hero_fake.url) as session:
        call = Caller(session)
        first = await call.ok("POST", PDS, body, key=SANDBOX_API_KEY)
        assert await call.ok("POST", PDS, body, key=SANDBOX_API_KEY) == first
        patient = await call.ok("GET", f"/v1/patients/{first['patient_id']}", key=SANDBOX_API_KEY)
        assert patient["mobile"]
        assert patient["email"]
        other = await call.ok("POST", PDS, body, key=SANDBOX_API_KEY, group="1002")
        assert other != first
        check = await call.ok(
            "POST",
            PDS,
            {"nhs_number": SANDBOX_IDENTITY_CHECK_NHS, "dob": "1990-01-01"},
            key=SANDBOX_API_KEY,
        )
        assert set(check) == {"message", "login_url"}
        missing = await call(
            "POST",
            PDS,
            {"nhs_number": SANDBOX_NOT_FOUND_NHS, "dob": "1990-01-01"},
            key=SANDBOX_API_KEY,
        )
        assert missing.status == 404
        future = await call(
            "POST", PDS, {"nhs_number": "9990000042", "dob": "2999-01-01"}, key=SANDBOX_API_KEY
        )
        assert future.status == 404
    again = FakeHero(seed_sandbox=True)
    async with again, aiohttp.ClientSession(again.url) as session:
        assert await Caller(session).ok("POST", PDS, body, key=SANDBOX_API_KEY) == first


def test_sandbox_world_can_seed_an_existing_fake() -> None:
    fake = sandbox_world(FakeHero())
    assert fake.pds_permissive


def test_public_surface_is_pinned() -> None:
    """Tests, the CLI, examples and benchmarks depend on exactly these names."""
    assert hero_async.testing.__all__ == [
        "REQUEST_ID_HEADER",
        "SANDBOX_API_KEY",
        "SANDBOX_IDENTITY_CHECK_NHS",
        "SANDBOX_NETWORK",
        "SANDBOX_NETWORK_GROUP_IDS",
        "SANDBOX_NOT_FOUND_NHS",
        "SANDBOX_OUTSIDE_GROUP_ID",
        "SANDBOX_PATIENT_DOB",
        "SANDBOX_PATIENT_NHS",
        "SANDBOX_PRACTICE_GROUP_ID",
        "SCOPES",
        "Delivery",
        "FakeHero",
        "Fault",
        "FaultHandle",
        "RecordedRequest",
        "SentMessage",
        "sandbox_world",
    ]
    assert all(hasattr(hero_async.testing, name) for name in hero_async.testing.__all__)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com"])  # noqa: S104
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeHero(host=host)
    with pytest.raises(SystemExit) as exit_info:
        main(["--host", host])
    assert exit_info.value.code == 2


async def test_module_runs_standalone_in_its_own_process() -> None:
    """python -m hero_async.testing prints its URL and key, then serves the sandbox."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hero_async.testing", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        second = (await asyncio.wait_for(process.stdout.readline(), 5)).decode()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert SANDBOX_API_KEY in second
        async with aiohttp.ClientSession(url) as session:
            me = await Caller(session).ok("GET", "/v1/me", key=SANDBOX_API_KEY)
        assert me["name"] == "Riverside Surgery"
    finally:
        process.terminate()
        await process.wait()


def test_generated_ids_never_overwrite_seeded_ones() -> None:
    """Sandbox types 10/11 and locations 20/21 survive later id-less additions."""
    fake = FakeHero(seed_sandbox=True)
    new_type = fake.add_appointment_type("1001", name="Smear test")
    new_location = fake.add_location("1001", name="Annexe")
    assert new_type not in ("10", "11")
    assert new_location not in ("20", "21")
    first = fake.add_patient("1001", nhs_number="9000000009", patient_id="100002")
    assert fake.add_patient("1001", nhs_number="9000000017") not in (first, "100001")
