"""The client workloads: the SDK's bulk pipeline and the hand-written aiohttp it competes with.

Every workload sends, per invitation, exactly the SDK's two requests with the SDK's headers and
bodies: ``POST /v1/booking_links`` then ``POST /v1/messages/send`` with the link's id as
``short_link_id``. Each also makes the one ``POST /v1/access_token`` per practice group that the
SDK's pre-flight makes; that call is not counted in requests (2 per invitation, exactly).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

GROUP = "1001"
API_KEY = "sandbox-key"
TEMPLATE = "Your GP practice invites you to book an appointment: {link}"
HEADERS = {  # byte for byte what HeroClient sends (hero_async/_client.py, _headers_for)
    "x-api-key": API_KEY,
    "x-practice-group-id": GROUP,
    "content-type": "application/json",
    "accept": "application/json",
    "user-agent": "hero-async",
}
Dumps = Callable[[Any], bytes]
Loads = Callable[[bytes], Any]


def std_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def patient_id(i: int) -> str:
    return str(500_000 + i)


# -- the SDK ---------------------------------------------------------------------------------
def invitations(n: int) -> Iterator[Any]:
    """A generator: the job is never held in memory as a list."""
    from hero_async import Invitation

    for i in range(n):
        yield Invitation(
            key=f"inv-{i}",
            practice_group_id=GROUP,
            appointment_type_id="10",
            location_id="20",
            patient_id=patient_id(i),
        )


async def sdk_invitations(
    base_url: str,
    n: int,
    concurrency: int,
    ledger: Path | Any = None,
    request_timeout: float = 30.0,
) -> dict[str, int]:
    """``ledger``: None (the default a user gets), a SQLite path, or a Ledger object.
    ``request_timeout``: per request (both clients use 30 s; runs under callgrind need more)."""
    from hero_async import HeroClient

    async with HeroClient(
        API_KEY, GROUP, base_url=base_url, max_connections=concurrency, timeout=request_timeout
    ) as hero:
        report = await hero.send_invitations(invitations(n), concurrency=concurrency, ledger=ledger)
        with report:
            return dict(report.counts)


# -- hand-written aiohttp, the fastest plain way: one session, a fixed pool of workers -------
def _session(concurrency: int, total: float = 30.0) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, keepalive_timeout=30, ttl_dns_cache=300
    )
    timeout = aiohttp.ClientTimeout(total=total, connect=5)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


async def _post(session: aiohttp.ClientSession, url: str, data: bytes | None, loads: Loads) -> Any:
    async with session.post(url, data=data, headers=HEADERS) as response:
        body = await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{url} answered {response.status}: {body[:200]!r}")
        return loads(body)


async def _invite(
    session: aiohttp.ClientSession, base_url: str, i: int, dumps: Dumps, loads: Loads
) -> dict[str, Any]:
    pid = patient_id(i)
    link_body = {"appointment_type_id": "10", "location_id": "20", "patient_id": pid}
    link = await _post(session, base_url + "/v1/booking_links", dumps(link_body), loads)
    message = {
        "patient_id": pid,
        "message_type": "sms",
        "message_string": TEMPLATE.replace("{link}", link["short_link"]),
        "short_link_id": link["id"],
    }
    result: dict[str, Any] = await _post(
        session, base_url + "/v1/messages/send", dumps(message), loads
    )
    return result


async def raw_invitations(
    base_url: str,
    n: int,
    concurrency: int,
    dumps: Dumps = std_dumps,
    loads: Loads = json.loads,
    request_timeout: float = 30.0,
) -> dict[str, int]:
    sent = 0
    async with _session(concurrency, request_timeout) as session:
        await _post(session, base_url + "/v1/access_token", None, loads)  # same pre-flight
        todo = iter(range(n))

        async def worker() -> None:
            nonlocal sent
            for i in todo:  # shared iterator: each worker takes the next invitation
                await _invite(session, base_url, i, dumps, loads)
                sent += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"sent": sent}


async def naive_invitations(base_url: str, n: int, concurrency: int) -> dict[str, int]:
    """The common hand-written shape: one task per invitation, all created up front."""
    gate = asyncio.Semaphore(concurrency)
    async with _session(concurrency) as session:
        await _post(session, base_url + "/v1/access_token", None, json.loads)

        async def one(i: int) -> dict[str, Any]:
            async with gate:
                return await _invite(session, base_url, i, std_dumps, json.loads)

        results = await asyncio.gather(*[one(i) for i in range(n)])
    return {"sent": len(results)}
