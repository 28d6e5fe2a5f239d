"""A faithful fake of the Hero Health Public API, for tests, demos and benchmarks."""

from hero_async.testing._fake import FakeHero
from hero_async.testing._faults import Fault, FaultHandle
from hero_async.testing._records import Delivery, RecordedRequest, SentMessage
from hero_async.testing._rules import REQUEST_ID_HEADER, SCOPES
from hero_async.testing._sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_IDENTITY_CHECK_NHS,
    SANDBOX_NETWORK,
    SANDBOX_NETWORK_GROUP_IDS,
    SANDBOX_NOT_FOUND_NHS,
    SANDBOX_OUTSIDE_GROUP_ID,
    SANDBOX_PATIENT_DOB,
    SANDBOX_PATIENT_NHS,
    SANDBOX_PRACTICE_GROUP_ID,
    sandbox_world,
)

__all__ = [
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
