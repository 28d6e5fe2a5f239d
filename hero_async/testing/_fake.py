"""``FakeHero``: lifecycle, routes, observation and fault controls of the fake server.

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

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from hero_async.testing import _app, _jwt
from hero_async.testing._delivery import Deliverer
from hero_async.testing._dispatch import Dispatcher
from hero_async.testing._faults import Fault, FaultBook, FaultHandle, RateLimiter
from hero_async.testing._log import RequestLog, assert_called
from hero_async.testing._records import Delivery, RecordedRequest, SentMessage
from hero_async.testing._sandbox import sandbox_world
from hero_async.testing._setup import WorldSetup
from hero_async.testing._state import Json, World
from hero_async.testing.handlers import _appointments, _batches, _links


class FakeHero(WorldSetup):
    """A faithful fake of the Hero Public API on 127.0.0.1, for ``async with``."""

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        log_limit: int | None = None,
        seed_sandbox: bool = False,
        *,
        seed: int = 0,
        fast: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """``fast`` is for benchmarks: no request log (unless ``log_limit`` is given) and no
        ``messages`` records, only ``message_count`` and the request counters."""
        self.clock: Callable[[], float] = clock or time.time
        self._host, self._port = _app.loopback_host(host), port
        self._world = World(self.clock, random.Random(seed))
        self._world.keep_messages = not fast
        self._log = RequestLog(0 if fast and log_limit is None else log_limit)
        self._faults = FaultBook(random.Random(f"{seed}:faults"))  # own stream: ids stay put
        self._limiter = RateLimiter(self.clock)
        self._dispatcher = Dispatcher(self._world, self._log, self._faults, self._limiter)
        self._deliverer = Deliverer(self._world, self.clock)
        self._world.on_event = self._deliverer.announce
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._initial: dict[str, Any] | None = None
        if seed_sandbox:
            sandbox_world(self)

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeHero is already running")
        sock, url = _app.bind(self._host, self._port)
        self._runner = await _app.serve(_app.build_app(self._dispatcher), sock)
        await self._deliverer.start()
        self._url = url
        self._initial = self._world.snapshot()

    async def close(self) -> None:
        """Stop serving, then finish webhook deliveries. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._deliverer.close()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeHero is not started: use `async with FakeHero() as fake`")
        return self._url

    # -- world switches -------------------------------------------------------------------
    @property
    def batch_auto_advance(self) -> bool:
        """Each GET of a sent batch moves it one lifecycle step (default True)."""
        return self._world.batch_auto_advance

    @batch_auto_advance.setter
    def batch_auto_advance(self, value: bool) -> None:
        self._world.batch_auto_advance = value

    def advance_batches(self) -> None:
        """Move every sent, unfinished batch one lifecycle step."""
        for group in self._world.groups.values():
            for batch in group.batches.values():
                _batches.advance(self._world, group, batch, self.clock())

    def reset(self) -> None:
        """Back to the world as it was at ``start()`` (seeded data kept, everything the API
        created forgotten, id sequences restarted), with no requests, faults, rate limit or
        deliveries. For one fake shared by many tests (``hero_fake_session``)."""
        if self._initial is not None:
            self._world.restore(self._initial)
        self.clear_requests()
        self.clear_faults()
        self._limiter.configure(None)
        self._deliverer.deliveries.clear()

    def clear_requests(self) -> None:
        """Empty the request log and its counters; the world is untouched."""
        self._log.clear()

    # -- observation ----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """The request log, oldest first (the last ``log_limit`` when bounded)."""
        return list(self._log.entries)

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        practice_group_id: str | None = None,
        status: int | None = None,
    ) -> int:
        """Requests matching every given filter (see ``RequestLog.count``)."""
        return self._log.count(method, path, practice_group_id, status)

    def assert_called(self, method: str, path: str, **body_fields: Any) -> RecordedRequest:
        """The latest logged request with ``method`` and ``path`` (literal, or a route
        template such as ``/v1/booking_links/{id}``) whose JSON body has every given field
        with that value. Raises AssertionError naming what was seen (fields, not values)."""
        return assert_called(self._log.entries, method, path, body_fields)

    def route_counts(self) -> dict[tuple[str, str], int]:
        return self._log.by_route()

    def practice_group_counts(self) -> dict[str | None, int]:
        return self._log.by_practice_group()

    @property
    def messages(self) -> Sequence[SentMessage]:
        """Every message actually sent, in order (read-only view; not copied)."""
        return self._world.messages

    @property
    def message_count(self) -> int:
        """Messages sent so far, also counted in ``fast`` mode."""
        return self._world.message_count

    @property
    def booking_links(self) -> list[Json]:
        """Every booking link created, in its current GET shape."""
        today = self._world.today()
        links = [
            (int(link.id), g.id, link)
            for g in self._world.groups.values()
            for link in g.links.values()
        ]
        return [_links.render_link(g, link, today) for _, g, link in sorted(links)]

    def appointment(self, practice_group_id: str, appointment_id: str) -> Json:
        """An appointment's GET shape plus ``"state"``: reserved, lapsed, confirmed, cancelled."""
        group = self._group(practice_group_id)
        found = group.appointments[appointment_id]
        state = (
            "cancelled"
            if found.cancelled_at is not None
            else "confirmed"
            if found.confirmed_at is not None
            else "reserved"
            if (found.reserved_until or 0) > self.clock()
            else "lapsed"
        )
        return {**_appointments.render(group, found), "state": state}

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self._deliverer.deliveries)

    async def wait_deliveries(self) -> None:
        """Return once every webhook delivery started so far has finished."""
        await self._deliverer.wait()

    @property
    def max_concurrent_requests(self) -> int:
        return self._dispatcher.peak

    @property
    def jwt_secret(self) -> bytes:
        return self._world.jwt_secret

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """Verify a token this fake issued and return its claims."""
        return _jwt.decode(token, self._world.jwt_secret)

    # -- faults ---------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> FaultHandle:
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.handles.clear()

    def set_rate_limit(self, per_second: float | None) -> None:
        """Per-API-key limit; beyond it Hero-style 429 with ``Retry-After`` (None = off)."""
        self._limiter.configure(per_second)
