"""The standard sandbox world used by ``hero-async --sandbox``, the README and the benchmarks.

* API key ``"sandbox-key"`` with every scope; its home practice group is ``"1001"``.
* Network ``"pcn-north"``: groups ``"1001"``-``"1005"`` (they may act for each other).
* Group ``"2001"`` exists but shares no network with 1001 (cross-organisational 403).
* Every group: appointment types ``"10"`` (Flu jab) and ``"11"`` (Health check), locations
  ``"20"`` (Main site) and ``"21"`` (Branch surgery), practitioners ``"30"`` (type 10) and
  ``"31"`` (type 11), and eight slots: each type at each location, tomorrow (on the fake's
  clock) at 09:00 and 09:30 UTC.
* PDS is permissive: any NHS number with a valid mod-11 check digit and a past dob registers,
  with a mobile and email on record; the same number in the same group always gives the same
  patient_id. Two exceptions, both valid NHS numbers:
  ``SANDBOX_IDENTITY_CHECK_NHS`` (999 000 0018) answers 200 ``{message, login_url}`` and
  ``SANDBOX_NOT_FOUND_NHS`` (999 000 0026) answers 404, whatever the dob.
* Jane Doe (``SANDBOX_PATIENT_NHS``, dob ``SANDBOX_PATIENT_DOB``) is already a patient of 1001,
  so ``GET /v3/patients?last_name=Doe`` finds someone.
* Group 1001 also has three appointments of Jane Doe (type 10, location 20, practitioner 30,
  tomorrow; no slot held), so every appointment operation has something to act on:
  ``SANDBOX_RESERVATION_IDS`` ``"8001"`` (to get or edit) and ``"8002"`` (to book) are
  reservations that never lapse, and ``SANDBOX_APPOINTMENT_ID`` ``"8003"`` is booked (to
  cancel or reschedule). Their ids are outside the fake's sequence (9001 on).
"""

from __future__ import annotations

import datetime as dt
from typing import Final, TypeVar

from hero_async.testing._rules import SCOPES
from hero_async.testing._setup import WorldSetup
from hero_async.testing._state import Appointment

W = TypeVar("W", bound=WorldSetup)

SANDBOX_API_KEY: Final = "sandbox-key"
SANDBOX_PRACTICE_GROUP_ID: Final = "1001"
SANDBOX_NETWORK: Final = "pcn-north"
SANDBOX_NETWORK_GROUP_IDS: Final = ("1001", "1002", "1003", "1004", "1005")
SANDBOX_OUTSIDE_GROUP_ID: Final = "2001"
SANDBOX_IDENTITY_CHECK_NHS: Final = "9990000018"
SANDBOX_NOT_FOUND_NHS: Final = "9990000026"
SANDBOX_PATIENT_NHS: Final = "9434765919"
SANDBOX_PATIENT_DOB: Final = "1980-01-31"
SANDBOX_RESERVATION_IDS: Final = ("8001", "8002")
SANDBOX_APPOINTMENT_ID: Final = "8003"
_NEVER_LAPSES: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()

_NAMES = {
    "1001": "Riverside Surgery",
    "1002": "Hillcrest Medical Centre",
    "1003": "Meadow Lane Practice",
    "1004": "Northgate Health Centre",
    "1005": "Castle View Surgery",
    "2001": "Southbank Clinic",
}
_TYPES = (("10", "Flu jab", 10, "30"), ("11", "Health check", 20, "31"))
_LOCATIONS = (("20", "Main site"), ("21", "Branch surgery"))
_TIMES = (dt.time(9, 0), dt.time(9, 30))


def sandbox_world(fake: W) -> W:
    """Seed ``fake`` with the standard sandbox (once; before or after it starts)."""
    tomorrow = fake.today() + dt.timedelta(days=1)
    for group_id, name in _NAMES.items():
        _seed_group(fake, group_id, name, tomorrow)
    fake.add_network(SANDBOX_NETWORK, SANDBOX_NETWORK_GROUP_IDS)
    fake.add_api_key(SANDBOX_API_KEY, SANDBOX_PRACTICE_GROUP_ID, scopes=SCOPES)
    fake.add_identity_check_patient(SANDBOX_IDENTITY_CHECK_NHS)
    fake.add_pds_not_found(SANDBOX_NOT_FOUND_NHS)
    jane = fake.add_patient(
        SANDBOX_PRACTICE_GROUP_ID,
        nhs_number=SANDBOX_PATIENT_NHS,
        dob=SANDBOX_PATIENT_DOB,
        mobile="07700900123",
        email="jane.doe@example.com",
        first_name="Jane",
        last_name="Doe",
        postcode="LS1 4AP",
    )
    fake.pds_permissive = True
    _seed_appointments(fake, jane, tomorrow)
    return fake


def _seed_appointments(fake: WorldSetup, patient_id: str, day: dt.date) -> None:
    """Hero's appointments can only be made through the API; the sandbox starts with some."""
    booked_at = fake._world.clock()
    appointments = fake._world.groups[SANDBOX_PRACTICE_GROUP_ID].appointments
    for hour, appointment_id in enumerate((*SANDBOX_RESERVATION_IDS, SANDBOX_APPOINTMENT_ID)):
        start = dt.datetime.combine(day, dt.time(11 + hour), dt.UTC)
        appointments[appointment_id] = Appointment(
            appointment_id, "10", "20", "30", 10, start, patient_id, _NEVER_LAPSES,
            confirmed_at=booked_at if appointment_id == SANDBOX_APPOINTMENT_ID else None,
        )  # fmt: skip


def _seed_group(fake: WorldSetup, group_id: str, name: str, day: dt.date) -> None:
    fake.add_practice_group(group_id, name=name)
    for location_id, location_name in _LOCATIONS:
        fake.add_location(group_id, id=location_id, name=location_name)
    for type_id, type_name, minutes, practitioner_id in _TYPES:
        fake.add_appointment_type(group_id, id=type_id, name=type_name, duration=minutes)
        for location_id, _ in _LOCATIONS:
            for start in _TIMES:
                fake.add_slot(
                    group_id,
                    appointment_type_id=type_id,
                    location_id=location_id,
                    practitioner_id=practitioner_id,
                    minutes=minutes,
                    start_time=dt.datetime.combine(day, start, dt.UTC),
                )
