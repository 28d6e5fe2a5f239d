"""The world-building half of ``FakeHero``: groups, keys, networks, patients, reference data.

Setup methods may be called before or after the fake starts. They raise ``ValueError`` for
inputs Hero could never hold (an NHS number failing mod-11, a key for an unknown group), so a
typo in a test fails at the line that made it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hero_async.testing import _pds
from hero_async.testing._records import PdsRecord
from hero_async.testing._rules import DEFAULT_CAPABILITIES, DEFAULT_CONFIGURATION, SCOPES
from hero_async.testing._state import ApiKey, Group, Slot, World
from hero_async.testing._validation import nhs_number_ok, parse_date, parse_datetime


class WorldSetup:
    _world: World

    def today(self) -> dt.date:
        """The fake's date (UTC), on its own clock."""
        return self._world.today()

    @property
    def pds_permissive(self) -> bool:
        """Any valid NHS number with a past dob is found on PDS (on in the sandbox)."""
        return self._world.pds_permissive

    @pds_permissive.setter
    def pds_permissive(self, value: bool) -> None:
        self._world.pds_permissive = value

    def add_practice_group(
        self,
        practice_group_id: str,
        name: str | None = None,
        *,
        sector: str = "nhs",
        cancellation_policy_hours: float = 0.0,
    ) -> None:
        profile = {
            "id": practice_group_id,
            "name": name or f"Practice {practice_group_id}",
            "sector": sector,
            "address": {},
        }
        self._world.groups[practice_group_id] = Group(
            practice_group_id,
            profile,
            dict(DEFAULT_CAPABILITIES),
            dict(DEFAULT_CONFIGURATION),
            cancellation_policy_hours,
        )

    def add_api_key(self, key: str, practice_group_id: str, scopes: Iterable[str] = SCOPES) -> None:
        """A key whose home is ``practice_group_id``, granted ``scopes`` (see ``SCOPES``)."""
        granted = frozenset(scopes)
        if unknown := granted - set(SCOPES):
            raise ValueError(f"unknown scopes {sorted(unknown)}; known: {SCOPES}")
        self._group(practice_group_id)
        self._world.keys[key] = ApiKey(practice_group_id, granted)

    def remove_api_key(self, key: str) -> None:
        """Revoke a key (a practice rotated or disconnected it): it now answers 401."""
        self._world.keys.pop(key, None)

    def add_network(self, name: str, practice_group_ids: Iterable[str]) -> None:
        """Groups in one network may act for each other (cross-organisational calls, §5)."""
        self._world.networks.setdefault(name, set()).update(practice_group_ids)

    def remove_from_network(self, name: str, practice_group_id: str) -> None:
        self._world.networks.get(name, set()).discard(practice_group_id)

    def add_patient(
        self,
        practice_group_id: str,
        nhs_number: str | None = None,
        dob: str = "1980-01-01",
        mobile: str | None = None,
        email: str | None = None,
        patient_id: str | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        postcode: str | None = None,
    ) -> str:
        """A patient of the group; with an NHS number they are also on the fake spine."""
        group = self._group(practice_group_id)
        number = _nhs(nhs_number) if nhs_number else None
        record = PdsRecord(
            number or "",
            _date(dob),
            first_name=first_name,
            last_name=last_name,
            postcode=postcode,
            mobile=mobile,
            email=email,
        )
        if number:
            self._world.pds[number] = record
        new_id = patient_id or self._world.new_patient_id()
        self._world.store_patient(
            group, _pds.patient_person(new_id, record, record.dob, data_source="pds")
        )
        return new_id

    def add_identity_check_patient(self, nhs_number: str, dob: str | None = None) -> None:
        """register_pds answers 200 ``{message, login_url}`` (any dob when ``dob`` is None)."""
        self._world.pds[_nhs(nhs_number)] = PdsRecord(
            _nhs(nhs_number), _date(dob) if dob else None, outcome="identity_check"
        )

    def add_pds_not_found(self, nhs_number: str) -> None:
        """register_pds answers 404 for this number, even in permissive mode."""
        self._world.pds[_nhs(nhs_number)] = PdsRecord(_nhs(nhs_number), None, outcome="not_found")

    def add_appointment_type(
        self,
        practice_group_id: str,
        id: str | None = None,
        name: str = "Appointment",
        *,
        duration: float = 15,
        price: float = 0,
        practitioner_type: str = "GP",
        sector: str = "nhs",
        location_ids: Iterable[str] | None = None,
        video: bool = False,
        in_person: bool = True,
        telephone: bool = False,
    ) -> str:
        """An appointment type (§10 shape); ``location_ids`` None means offered everywhere."""
        group = self._group(practice_group_id)
        type_id = id or self._world.next_id("type", group.appointment_types)
        group.appointment_types[type_id] = {
            "id": type_id,
            "name": name,
            "partner_slot_name": name,
            "next_available_at": None,
            "slot_count": 0,
            "price": price,
            "assignee_id": None,
            "assignee_type": None,
            "sector": sector,
            "duration": duration,
            "video": video,
            "in_person": in_person,
            "telephone": telephone,
            "use_partner_bookable_slots": False,
            "admin_booking_invoice_required": False,
            "form_id": None,
            "practitioner_type": practitioner_type,
        }
        group.type_locations[type_id] = None if location_ids is None else frozenset(location_ids)
        return type_id

    def add_location(
        self,
        practice_group_id: str,
        id: str | None = None,
        name: str = "Main site",
        **extra: object,
    ) -> str:
        """A location; item fields beyond id and name were not captured, so pass any."""
        locations = self._group(practice_group_id).locations
        location_id = id or self._world.next_id("location", locations)
        locations[location_id] = {
            "id": location_id,
            "name": name,
            **extra,
        }
        return location_id

    def add_slot(
        self,
        practice_group_id: str,
        *,
        appointment_type_id: str,
        location_id: str,
        practitioner_id: str,
        start_time: str | dt.datetime,
        minutes: int = 15,
        id: str | None = None,
    ) -> str:
        """A bookable slot; a naive ``start_time`` is taken as UTC."""
        group = self._group(practice_group_id)
        for found, what in (
            (appointment_type_id in group.appointment_types, "type"),
            (location_id in group.locations, "location"),
        ):
            if not found:
                raise ValueError(f"add the appointment {what} to {practice_group_id} first")
        slot_id = id or self._world.next_id("slot", group.slots)
        group.slots[slot_id] = Slot(
            slot_id, appointment_type_id, location_id, practitioner_id, _when(start_time), minutes
        )
        return slot_id

    def _group(self, practice_group_id: str) -> Group:
        try:
            return self._world.groups[practice_group_id]
        except KeyError:
            raise ValueError(f"add_practice_group({practice_group_id!r}) first") from None


def _nhs(value: str) -> str:
    digits = value.replace(" ", "")
    if not nhs_number_ok(digits):
        raise ValueError(f"{value!r} is not a valid NHS number (mod-11)")
    return digits


def _date(value: str) -> dt.date:
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"{value!r} is not an ISO date")
    return parsed


def _when(value: str | dt.datetime) -> dt.datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if parsed is None:
        raise ValueError(f"{value!r} is not an ISO date-time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
