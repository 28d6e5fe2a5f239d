"""Patients (§9): register_pds outcomes, register, the two searches, get one, paging."""

from __future__ import annotations

from fakehero_support import DOB, NHS, Caller

from hero_async.testing import FakeHero

PDS = "/v1/patients/register_pds"


async def test_register_pds_finds_a_seeded_patient(hero: Caller) -> None:
    assert await hero.ok("POST", PDS, {"nhs_number": NHS, "dob": DOB}) == {"patient_id": "501"}


async def test_register_pds_with_the_wrong_dob_finds_nobody(hero: Caller) -> None:
    assert (await hero("POST", PDS, {"nhs_number": NHS, "dob": "1980-02-01"})).status == 404


async def test_register_pds_outside_sandbox_knows_only_seeded_people(
    fake: FakeHero, hero: Caller
) -> None:
    """404 for a valid unknown number, until the spine is made permissive."""
    body = {"nhs_number": "9990000034", "dob": "1975-03-03"}
    assert (await hero("POST", PDS, body)).status == 404
    fake.pds_permissive = True
    first = await hero.ok("POST", PDS, body)
    assert await hero.ok("POST", PDS, body) == first
    patient = await hero.ok("GET", f"/v1/patients/{first['patient_id']}")
    assert (patient["nhs_number"], patient["dob"], patient["data_source"]) == (
        "9990000034",
        "1975-03-03",
        "pds",
    )
    assert patient["mobile"]
    assert patient["email"]


async def test_register_pds_in_another_group_creates_that_groups_patient(hero: Caller) -> None:
    """Hero patients belong to a practice group: same person, new id in 1002."""
    other = await hero.ok("POST", PDS, {"nhs_number": NHS, "dob": DOB}, group="1002")
    assert other["patient_id"] != "501"
    assert (await hero("GET", f"/v1/patients/{other['patient_id']}")).status == 404
    assert (await hero("GET", f"/v1/patients/{other['patient_id']}", group="1002")).status == 200


async def test_identity_check_and_not_found_specials(fake: FakeHero, hero: Caller) -> None:
    fake.add_identity_check_patient(nhs_number="9990000018")
    fake.add_pds_not_found(nhs_number="9990000026")
    fake.pds_permissive = True
    check = await hero.ok("POST", PDS, {"nhs_number": "9990000018", "dob": "2000-01-01"})
    assert set(check) == {"message", "login_url"}
    assert (await hero("POST", PDS, {"nhs_number": "9990000026", "dob": DOB})).status == 404


async def test_register_pds_by_demographics(fake: FakeHero, hero: Caller) -> None:
    """Shape 2 needs all four fields and matches case-blind on seeded people."""
    fake.add_patient(
        "1001",
        nhs_number="9990000042",
        dob="1970-07-07",
        mobile="07700900777",
        first_name="Ada",
        last_name="Lovelace",
        postcode="LS1 4AP",
    )
    body = {"forename": "ada", "surname": "LOVELACE", "dob": "1970-07-07", "postcode": "ls14ap"}
    assert (await hero.ok("POST", PDS, body))["patient_id"]
    partial = await hero("POST", PDS, {"forename": "Ada", "dob": "1970-07-07"})
    assert [i["path"] for i in partial.body["message"]] == [["surname"], ["postcode"]]


async def test_register_creates_then_updates_by_nhs_number_and_dob(hero: Caller) -> None:
    body = {
        "nhs_number": "9990000042",
        "dob": "1970-07-07",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "mobile": "07700900777",
        "sex": "Female",
    }
    created = await hero.ok("POST", "/v1/patients/register", body)
    updated = await hero.ok("POST", "/v1/patients/register", {**body, "mobile": "07700900778"})
    assert created == updated
    patient = await hero.ok("GET", f"/v1/patients/{created['patient_id']}")
    assert (patient["mobile"], patient["data_source"], patient["sex"]) == (
        "07700900778",
        "hero",
        "Female",
    )
    missing = await hero("POST", "/v1/patients/register", {"dob": "1970-07-07"})
    assert [i["path"] for i in missing.body["message"]] == [
        ["first_name"],
        ["last_name"],
        ["mobile"],
    ]


async def test_field_search_and_paging(hero: Caller) -> None:
    """count is the total across pages; page_index is zero-based."""
    found = await hero.ok(
        "GET", "/v1/patients", params={"field": "nhs_number", "search": "943 476 5919"}
    )
    assert [p["id"] for p in found["data"]] == ["501"]
    page = await hero.ok("GET", "/v1/patients", params={"page_index": 1, "page_size": 1})
    assert (page["count"], [p["id"] for p in page["data"]]) == (2, ["502"])
    bad = await hero("GET", "/v1/patients", params={"field": "shoe_size", "search": "9"})
    assert bad.status == 400
    too_big = await hero("GET", "/v1/patients", params={"page_size": 1000})
    assert too_big.status == 400


async def test_v3_search_needs_a_filter_and_matches_all_given(hero: Caller) -> None:
    assert (await hero("GET", "/v3/patients")).status == 400
    found = await hero.ok("GET", "/v3/patients", params={"nhs_number": NHS, "dob": DOB})
    assert [p["id"] for p in found["data"]] == ["501"]
    assert "ods_code" in found["data"][0]
    none = await hero.ok("GET", "/v3/patients", params={"nhs_number": NHS, "dob": "1999-01-01"})
    assert none == {"data": [], "count": 0}


async def test_get_patient_has_the_documented_required_fields(hero: Caller) -> None:
    patient = await hero.ok("GET", "/v1/patients/501")
    assert {"id", "dob", "data_source", "status"} <= set(patient)
    assert patient["status"] == "unarchived"
    assert (await hero("GET", "/v1/patients/999999")).status == 404
