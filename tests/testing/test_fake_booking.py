"""Slots and appointments (§11): paging, the reservation hold, book, edit, cancel, reschedule."""

from __future__ import annotations

from typing import Any

from fakehero_support import TOMORROW_9AM, Caller, ManualClock

from hero_async.testing import FakeHero

NINE = "2025-06-16T09:00:00.000Z"
NINE_THIRTY = "2025-06-16T09:30:00.000Z"


def _reserve(start: str = NINE, **extra: Any) -> dict[str, Any]:
    return {
        "appointment_type_id": "10",
        "location_id": "20",
        "practitioner_id": "30",
        "duration": 10,
        "start_time": start,
        **extra,
    }


async def test_slots_are_paged_sorted_and_filtered(hero: Caller) -> None:
    page = await hero.ok("GET", "/v1/slots", params={"page_size": 4, "page_index": 1})
    assert page["count"] == 6
    assert len(page["data"]) == 2
    filtered = await hero.ok(
        "GET", "/v1/slots", params={"location_id": "21", "end_date": "2025-06-16"}
    )
    assert [s["location_id"] for s in filtered["data"]] == ["21"] * 3
    assert [s["start_time"] for s in filtered["data"]][:2] == [NINE, NINE_THIRTY]
    assert await hero.ok("GET", "/v1/slots/count", params={"location_id": "20"}) == {"count": 3}
    slot = filtered["data"][0]
    assert await hero.ok("GET", f"/v1/slots/{slot['id']}") == slot
    assert set(slot) == {
        "id",
        "practitioner_id",
        "appointment_type_id",
        "location_id",
        "start_time",
        "finish_time",
    }


async def test_reservation_holds_its_slot_for_fifteen_minutes(
    clock: ManualClock, hero: Caller
) -> None:
    """A held slot leaves the list and cannot be reserved again until the hold lapses."""
    held = await hero.ok("POST", "/v1/appointments", _reserve(patient_id="501"))
    assert held["reserved_until"] == "2025-06-15T15:21:40.000Z"
    assert (await hero.ok("GET", "/v1/slots/count"))["count"] == 5
    assert (await hero("POST", "/v1/appointments", _reserve())).status == 400
    clock.advance(15 * 60)
    assert (await hero.ok("GET", "/v1/slots/count"))["count"] == 6
    assert (await hero("POST", "/v1/appointments", _reserve())).status == 200
    assert (await hero("PATCH", f"/v1/appointments/{held['id']}/book")).status == 400


async def test_no_slot_at_that_time_is_refused_unless_check_suppressed(hero: Caller) -> None:
    odd = _reserve("2025-06-16T09:10:00Z")
    assert (await hero("POST", "/v1/appointments", odd)).status == 400
    assert (
        await hero("POST", "/v1/appointments", {**odd, "suppress_availability_check": True})
    ).status == 200


async def test_reserve_validation_and_missing_references(hero: Caller) -> None:
    reply = await hero("POST", "/v1/appointments", {})
    assert [i["path"][0] for i in reply.body["message"]] == [
        "appointment_type_id",
        "location_id",
        "practitioner_id",
        "duration",
        "start_time",
    ]
    assert (await hero("POST", "/v1/appointments", _reserve(patient_id="601"))).status == 404


async def test_book_then_edit_is_refused(fake: FakeHero, hero: Caller) -> None:
    """PUT works only before confirmation; book sets booking_confirmed_at."""
    held = await hero.ok("POST", "/v1/appointments", _reserve())
    path = f"/v1/appointments/{held['id']}"
    moved = await hero.ok(
        "PUT", path, {"start_time": NINE_THIRTY, "duration": 10, "practitioner_id": "30"}
    )
    assert moved["start_time"] == NINE_THIRTY
    no_patient = await hero("PATCH", f"{path}/book")
    assert no_patient.body["message"][0]["path"] == ["patient_id"]
    booked = await hero.ok("PATCH", f"{path}/book", {"patient_id": "501"})
    assert booked["booking_confirmed_at"] == "2025-06-15T15:06:40.000Z"
    assert booked["reserved_until"] is None
    assert fake.appointment("1001", held["id"])["state"] == "confirmed"
    edit = {"start_time": NINE, "duration": 10, "practitioner_id": "30"}
    assert (await hero("PUT", path, edit)).status == 400
    assert (await hero("PATCH", f"{path}/book", {"patient_id": "501"})).status == 400


async def test_cancel_frees_the_slot(fake: FakeHero, hero: Caller) -> None:
    held = await hero.ok("POST", "/v1/appointments", _reserve(patient_id="501"))
    path = f"/v1/appointments/{held['id']}"
    await hero.ok("PATCH", f"{path}/book")
    cancelled = await hero.ok("PATCH", f"{path}/cancel")
    assert cancelled["can_be_cancelled"] is False
    assert fake.appointment("1001", held["id"])["state"] == "cancelled"
    assert (await hero("PATCH", f"{path}/cancel")).status == 400
    assert (await hero("POST", "/v1/appointments", _reserve())).status == 200


async def test_cancellation_policy_can_be_suppressed(fake: FakeHero, hero: Caller) -> None:
    fake.add_practice_group("1003", cancellation_policy_hours=48)
    fake.add_appointment_type("1003", id="10")
    fake.add_location("1003", id="20")
    fake.add_slot(
        "1003",
        appointment_type_id="10",
        location_id="20",
        practitioner_id="30",
        start_time=TOMORROW_9AM,
    )
    fake.add_patient("1003", nhs_number="9990000034", dob="1970-01-01", patient_id="701")
    fake.add_network("pcn", ["1003"])
    held = await hero.ok("POST", "/v1/appointments", _reserve(patient_id="701"), group="1003")
    path = f"/v1/appointments/{held['id']}"
    await hero.ok("PATCH", f"{path}/book", group="1003")
    assert (await hero("PATCH", f"{path}/cancel", group="1003")).status == 400
    await hero.ok("PATCH", f"{path}/cancel", {"suppress_cancellation_policy": True}, group="1003")


async def test_reschedule_moves_a_booked_appointment(hero: Caller) -> None:
    held = await hero.ok("POST", "/v1/appointments", _reserve(patient_id="501"))
    path = f"/v1/appointments/{held['id']}"
    assert (await hero("PATCH", f"{path}/reschedule", {"start_time": NINE_THIRTY})).status == 400
    await hero.ok("PATCH", f"{path}/book")
    moved = await hero.ok("PATCH", f"{path}/reschedule", {"start_time": NINE_THIRTY})
    assert moved["start_time"] == NINE_THIRTY
    assert (await hero("POST", "/v1/appointments", _reserve())).status == 200  # 9:00 is free
    taken = await hero("POST", "/v1/appointments", _reserve(NINE_THIRTY))
    assert taken.status == 400


async def test_appointment_of_another_group_is_404(hero: Caller) -> None:
    held = await hero.ok("POST", "/v1/appointments", _reserve())
    assert (await hero("GET", f"/v1/appointments/{held['id']}", group="1002")).status == 404
    assert (await hero("GET", "/v1/appointments/1")).status == 404
