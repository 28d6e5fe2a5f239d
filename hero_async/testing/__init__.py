"""A faithful fake of the Hero Health Public API, for tests, demos and benchmarks.

``FakeHero`` is an aiohttp.web server on 127.0.0.1 (loopback only) that follows the offline
reference strictly: Hero's auth headers, scopes, the cross-organisational network rule,
400 bodies in Hero's shape, ``{data, count}`` lists, real HS256 access tokens, reservations
that hold a slot, the batch lifecycle and signed webhook deliveries. It builds every JSON
answer by hand from the reference's shapes and imports nothing else from hero_async, so an
SDK converter bug cannot hide by round-tripping. ::

    from hero_async.testing import FakeHero, Fault

    async with FakeHero() as fake:
        fake.add_practice_group("1001", name="Riverside Surgery")
        fake.add_api_key("key-1", practice_group_id="1001")
        patient_id = fake.add_patient("1001", nhs_number="9434765919", dob="1980-01-31",
                                      mobile="07700900123")
        fake.add_fault(Fault(method="POST", path="/v1/messages/send", drop="after"))
        ...  # point the client at fake.url, then assert on fake.messages / fake.count(...)

``FakeHero(seed_sandbox=True)``, ``sandbox_world(fake)``, ``python -m hero_async.testing``
and the ``hero_fake`` fixture of ``hero_async.testing.pytest_plugin`` give the standard
sandbox: key ``"sandbox-key"`` (all scopes, home group ``"1001"``), network ``"pcn-north"`` =
1001-1005, an outside group 2001, and a permissive PDS in which every valid NHS number
registers except ``SANDBOX_IDENTITY_CHECK_NHS`` = ``"9990000018"`` (200 ``{message,
login_url}``) and ``SANDBOX_NOT_FOUND_NHS`` = ``"9990000026"`` (404). Details in
``hero_async/testing/_sandbox.py``.

Choices where the reference is silent (each a one-line change in ``_rules.py`` unless noted):
missing ``x-practice-group-id`` answers 401; unknown group, missing scope and cross-org
denial answer 403; unknown body keys are accepted; a missing or ``null`` body where the
description requires one, ``null`` in a field it does not mark nullable, and a body under a
non-JSON Content-Type answer 400; unset optional fields are left out of answers, not null;
ids named in a body that the acting group lacks (patient, short link, attachment, type,
location) answer 404; a taken slot answers
400; the request-id header is ``x-request-id``; pages default to 20 and refuse more than 100.

For tests that share one fake: ``reset()`` (the world as at start), ``clear_requests()``
and ``assert_called(method, path, **body_fields)``. Drive the fake with an async client in
the same event loop; a sync client (FastAPI's ``TestClient``) blocks the loop and deadlocks.

Speed (measured with ``tests/testing/bench_fake.py``: raw aiohttp client, 20,000-30,000
requests, 64 in flight, 2-vCPU container, CPython 3.11, no uvloop): ``POST /v1/messages/send``
and ``POST /v1/booking_links`` each run at about 8,000 requests/s against
``python -m hero_async.testing --fast`` in its own process, and about 4,000 requests/s when
the client shares the fake's event loop. For million-request runs use ``FakeHero(fast=True)``
(no request log, no message records; ``count()`` and ``message_count`` stay exact) or a
``log_limit``. Patients and links are world state and stay in memory: about 1.3 KB per
registered patient plus booking link.
"""

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
