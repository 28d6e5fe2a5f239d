"""Requests/s of the fake's hot paths, with a raw aiohttp client (not collected by pytest).

    python tests/testing/bench_fake.py                 # fake in this process
    python tests/testing/bench_fake.py --url URL       # fake already running elsewhere, e.g.
                                                       # python -m hero_async.testing --fast

Sends a bounded number of POST /v1/messages/send and POST /v1/booking_links with a fixed
number in flight and prints requests/s for each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from hero_async.testing import SANDBOX_API_KEY, FakeHero

HEADERS = {"x-api-key": SANDBOX_API_KEY, "x-practice-group-id": "1001"}


@contextlib.asynccontextmanager
async def _target(url: str | None) -> AsyncIterator[str]:
    if url:
        yield url
        return
    async with FakeHero(seed_sandbox=True, fast=True) as fake:
        yield fake.url


async def _drive(
    session: aiohttp.ClientSession, path: str, body: dict[str, Any], total: int, in_flight: int
) -> float:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.post(path, json=body) as response:
                await response.read()
                assert response.status == 200, response.status

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return total / (time.perf_counter() - started)


async def main(url: str | None, total: int, in_flight: int) -> None:
    async with (
        _target(url) as base,
        aiohttp.ClientSession(
            base, headers=HEADERS, connector=aiohttp.TCPConnector(limit=in_flight)
        ) as session,
    ):
        async with session.post(
            "/v1/patients/register_pds", json={"nhs_number": "9434765919", "dob": "1980-01-31"}
        ) as response:
            patient_id = (await response.json())["patient_id"]
        send = {"patient_id": patient_id, "message_type": "sms", "message_string": "Book now"}
        link = {"appointment_type_id": "10", "location_id": "20", "patient_id": patient_id}
        await _drive(session, "/v1/messages/send", send, 500, in_flight)  # warm up
        rate = await _drive(session, "/v1/messages/send", send, total, in_flight)
        print(f"POST /v1/messages/send: {rate:,.0f} requests/s")
        rate = await _drive(session, "/v1/booking_links", link, total, in_flight)
        print(f"POST /v1/booking_links: {rate:,.0f} requests/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.total, args.in_flight))
