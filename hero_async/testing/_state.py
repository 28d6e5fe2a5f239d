"""The fake's in-memory world: practice groups, keys, networks and everything created.

Plain mutable dataclasses and dicts, no I/O. Handlers render them to JSON by hand; patients,
locations, appointment types and webhooks are stored directly in their response shape.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Callable, Container, Mapping
from typing import Any

from multidict import MultiMapping

from hero_async.testing._records import Event, PdsRecord, SentMessage

Json = dict[str, Any]


def iso_utc(ts: float) -> str:
    """Epoch seconds as Hero-style ISO 8601 UTC with milliseconds (``...T12:00:00.000Z``)."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclasses.dataclass(slots=True)
class ApiKey:
    home: str
    scopes: frozenset[str]


@dataclasses.dataclass(slots=True)
class Slot:
    id: str
    appointment_type_id: str
    location_id: str
    practitioner_id: str
    start: dt.datetime
    minutes: int
    holder: str | None = None  # appointment holding or booking it (may have lapsed)


@dataclasses.dataclass(slots=True)
class Appointment:
    id: str
    appointment_type_id: str
    location_id: str
    practitioner_id: str
    duration: float
    start: dt.datetime | None
    patient_id: str | None
    reserved_until: float | None
    slot_id: str | None = None
    confirmed_at: float | None = None
    cancelled_at: float | None = None
    suppress_mail: bool = False


@dataclasses.dataclass(slots=True)
class Link:
    id: str
    code: str
    appointment_type_ids: tuple[str, ...]
    location_ids: tuple[str, ...]
    practitioner_ids: tuple[str, ...]
    patient_id: str | None = None
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    expiry_date: dt.date | None = None
    maximum_uses: int | None = None
    active: bool = True


@dataclasses.dataclass(slots=True)
class Batch:
    id: str
    name: str
    channel: str
    subject: str | None
    content: str
    recipients: list[Json]
    status: str = "CREATED"
    messages: list[SentMessage] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class Group:
    """One practice group and everything that belongs to it (all keyed by id)."""

    id: str
    profile: Json
    capabilities: Json
    configuration: Json
    cancellation_policy_hours: float = 0.0
    appointment_types: dict[str, Json] = dataclasses.field(default_factory=dict)
    type_locations: dict[str, frozenset[str] | None] = dataclasses.field(default_factory=dict)
    locations: dict[str, Json] = dataclasses.field(default_factory=dict)
    patients: dict[str, Json] = dataclasses.field(default_factory=dict)
    patient_by_nhs: dict[str, str] = dataclasses.field(default_factory=dict)
    links: dict[str, Link] = dataclasses.field(default_factory=dict)
    attachments: dict[str, Json] = dataclasses.field(default_factory=dict)
    slots: dict[str, Slot] = dataclasses.field(default_factory=dict)
    appointments: dict[str, Appointment] = dataclasses.field(default_factory=dict)
    batches: dict[str, Batch] = dataclasses.field(default_factory=dict)
    webhooks: dict[str, Json] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True)
class Call:
    """What a handler sees of one request: the world, the acting group, and the input."""

    world: World
    group: Group
    body: Any
    query: MultiMapping[str]
    params: Mapping[str, str]
    now: float


# First value of each id sequence; distinct ranges make ids easy to tell apart in logs.
_ID_STARTS = {
    "patient": 100001,
    "link": 5001,
    "message": 700001,
    "appointment": 9001,
    "slot": 40001,
    "type": 10,
    "location": 20,
}


_SHARED = frozenset({"clock", "on_event"})  # wired to the fake's clock and deliverer


class World:
    """Every piece of fake state, plus the rules that span practice groups."""

    def __init__(self, clock: Callable[[], float], rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.groups: dict[str, Group] = {}
        self.keys: dict[str, ApiKey] = {}
        self.networks: dict[str, set[str]] = {}
        self.pds: dict[str, PdsRecord] = {}
        self.pds_permissive = False
        self.batch_auto_advance = True
        self.messages: list[SentMessage] = []
        self.message_count = 0
        self.keep_messages = True  # False in fast mode: count sends, keep no record
        self.on_event: Callable[[Event], None] = lambda event: None
        self.jwt_secret = rng.randbytes(32)
        self._ids = dict(_ID_STARTS)  # next value per sequence (ints: snapshots deep-copy)

    def next_id(self, kind: str, taken: Container[str] = ()) -> str:
        """The next id of a sequence, skipping any a test seeded explicitly."""
        while True:
            number = self._ids[kind]
            self._ids[kind] = number + 1
            if (candidate := str(number)) not in taken:
                return candidate

    def snapshot(self) -> dict[str, Any]:
        """Everything but the clock and the event hook, deep-copied (for ``restore``)."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k not in _SHARED})

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.__dict__.update(copy.deepcopy(snapshot))

    def new_patient_id(self) -> str:
        """Patient ids are global (a patient of one group is a 404 in another)."""
        while self.find_patient_anywhere(candidate := self.next_id("patient")):
            pass
        return candidate

    def uuid(self) -> str:
        """A UUID4 string from the seeded RNG (batch, webhook and attachment ids)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()

    def may_act(self, home: str, target: str) -> bool:
        """The cross-organisational rule (§5): own group, or one sharing a network."""
        if home == target:
            return True
        return any(home in members and target in members for members in self.networks.values())

    def find_patient_anywhere(self, patient_id: str) -> bool:
        return any(patient_id in g.patients for g in self.groups.values())

    def record_message(self, message: SentMessage) -> None:
        self.message_count += 1
        if self.keep_messages:
            self.messages.append(message)

    def store_patient(self, group: Group, patient: Json) -> None:
        group.patients[patient["id"]] = patient
        if patient.get("nhs_number"):
            group.patient_by_nhs[patient["nhs_number"]] = patient["id"]


def slot_is_free(group: Group, slot: Slot, now: float, ignore: str | None = None) -> bool:
    """Free unless held by a live reservation or a confirmed, uncancelled appointment."""
    if slot.holder is None or slot.holder == ignore:
        return True
    holder = group.appointments.get(slot.holder)
    if holder is None or holder.cancelled_at is not None:
        return True
    if holder.confirmed_at is not None:
        return False
    return holder.reserved_until is None or holder.reserved_until <= now  # lapsed hold
