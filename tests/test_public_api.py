"""The public surface: hero_async.__all__ is pinned, and importing the package does no I/O."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin, get_type_hints, is_typeddict

import hero_async

EXPECTED_ALL = [
    "APIError",
    "AccessToken",
    "AiohttpTransport",
    "Appointment",
    "AppointmentState",
    "AppointmentType",
    "AssigneeType",
    "AttachmentLink",
    "AuthenticationError",
    "BadRequestError",
    "BatchChannel",
    "BatchMessage",
    "BookingLink",
    "BulkReport",
    "ClientClosedError",
    "CrossOrganisationDeniedError",
    "DataSource",
    "FallbackMessageType",
    "FieldError",
    "HeroClient",
    "HeroError",
    "IdentityCheckRequired",
    "InMemoryTokenStore",
    "Invitation",
    "InvitationResult",
    "Ledger",
    "LedgerEntry",
    "LocalRateLimiter",
    "Location",
    "MalformedResponseError",
    "MessageType",
    "NhsNumberRecipient",
    "NotFoundError",
    "Outcome",
    "OutcomeUnknownError",
    "Page",
    "Patient",
    "PatientLookupField",
    "PatientRecipient",
    "PatientSummary",
    "PdsRegistration",
    "PermissionDeniedError",
    "PracticeGroup",
    "PracticeGroupView",
    "RateLimitError",
    "RateLimiter",
    "RawResponse",
    "RecipientStatus",
    "RegisteredPatient",
    "Reservation",
    "SentMessage",
    "ServerError",
    "Sex",
    "Slot",
    "SqliteLedger",
    "TimeoutError",
    "Timeouts",
    "TokenStore",
    "Transport",
    "TransportError",
    "ValidationError",
    "Webhook",
    "WebhookEventType",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "__version__",
]


def test_all_is_pinned_and_sorted() -> None:
    """__all__ is exactly the agreed list, sorted, without duplicates."""
    assert hero_async.__all__ == EXPECTED_ALL
    assert sorted(hero_async.__all__) == hero_async.__all__
    assert len(set(hero_async.__all__)) == len(hero_async.__all__)


def test_every_public_name_is_importable() -> None:
    """Every name in __all__ resolves on the package (and star-import yields exactly them)."""
    for name in hero_async.__all__:
        assert getattr(hero_async, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from hero_async import *", namespace)  # noqa: S102 - a fixed literal
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == EXPECTED_ALL


def _literals_and_typed_dicts(annotation: object) -> Iterator[object]:
    """The Literal types and TypedDicts inside an annotation (through unions, generics)."""
    if get_origin(annotation) is Literal or is_typeddict(annotation):
        yield annotation
    for arg in get_args(annotation):
        if get_origin(annotation) is not Literal:
            yield from _literals_and_typed_dicts(arg)


def test_every_literal_and_typed_dict_in_a_public_signature_is_exported() -> None:
    """A caller can annotate what they pass (``kind: hero_async.MessageType``) without
    reaching into private modules: every Literal and TypedDict a resource method or a model
    property takes or returns is importable from ``hero_async``."""
    from hero_async.resources import _bound

    exported = [getattr(hero_async, name) for name in hero_async.__all__]

    def getters(cls: type) -> list[Any]:
        return [prop.fget for prop in vars(cls).values() if isinstance(prop, property)]

    resources = [get_type_hints(getter)["return"] for getter in getters(_bound.Resources)]
    functions = [
        member
        for resource in resources
        for name, member in inspect.getmembers(resource, inspect.isfunction)
        if not name.startswith("_")
    ]
    functions += getters(hero_async.Appointment)
    found = [
        hint
        for function in functions
        for annotation in get_type_hints(function, localns=vars(hero_async)).values()
        for hint in _literals_and_typed_dicts(annotation)
    ]
    assert len(found) > 10  # the walk did reach the signatures
    missing = {repr(hint) for hint in found if not any(hint == e for e in exported)}
    assert missing == set()


def test_exported_literals_list_the_values_checked_at_run_time() -> None:
    """mypy's list and the runtime check's list are the same list."""
    from hero_async import _validate as v

    assert get_args(hero_async.MessageType) == v.MESSAGE_TYPES
    assert get_args(hero_async.WebhookEventType) == v.WEBHOOK_EVENT_TYPES
    assert "EMAIL" in get_args(hero_async.BatchChannel)
    assert hero_async.NhsNumberRecipient.__required_keys__ == {"nhs_number", "dob"}
    assert hero_async.PatientRecipient.__required_keys__ == {"patient_id"}


def test_version_is_a_string() -> None:
    """__version__ is a non-empty string."""
    assert isinstance(hero_async.__version__, str)
    assert hero_async.__version__


def test_timeout_error_is_also_the_builtin() -> None:
    """hero_async.TimeoutError is catchable as the builtin TimeoutError too."""
    assert issubclass(hero_async.TimeoutError, TimeoutError)
    assert hero_async.TimeoutError is not TimeoutError


_PROBE = textwrap.dedent(
    """
    import asyncio, gc, json, sys, threading

    events = []
    WATCH = ("socket.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.fork",
             "urllib.", "http.")

    def hook(event, args):
        if event.startswith(WATCH):
            events.append(event)
        elif event == "open" and len(args) > 1 and isinstance(args[1], str):
            if any(flag in args[1] for flag in "wax+"):
                events.append(f"open-for-write {args[0]!r}")

    sys.addaudithook(hook)
    threads_before = threading.active_count()

    import hero_async  # noqa: the import under test

    import aiohttp
    sessions = [o for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession)]
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    print(json.dumps({
        "events": events,
        "sessions": len(sessions),
        "running_loop": running,
        "policy_created": asyncio.events._event_loop_policy is not None,
        "threads": threading.active_count() - threads_before,
        "loaded": "hero_async" in sys.modules,
    }))
    """
)


def test_import_does_no_io() -> None:
    """A fresh `import hero_async` opens no socket, writes no file, starts no loop or session."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "events": [],
        "sessions": 0,
        "running_loop": False,
        "policy_created": False,
        "threads": 0,
        "loaded": True,
    }
