"""Webhook delivery: POST the thin payload (§12.2) to matching subscriptions, signed (§12.3).

Each delivery runs in a background task the fake owns; ``wait`` awaits them all and the fake
awaits them on close. One attempt per event (Hero's retry policy is not documented). Only
loopback URLs are contacted: any other URL is recorded as refused, never sent to.

Signature (encoding and timestamp format UNVERIFIED, §12.3): ``X-Herohealth-Timestamp`` is
epoch seconds on the fake's clock, ``X-Herohealth-Signature`` is the hex HMAC-SHA256, keyed
with the subscription's ``signing_key``, of ``f"{timestamp}."`` bytes + the raw body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Callable

import aiohttp
import yarl

from hero_async.testing._records import Delivery, Event
from hero_async.testing._rules import SIGNATURE_HEADER, TIMESTAMP_HEADER
from hero_async.testing._state import Json, World

_TIMEOUT = aiohttp.ClientTimeout(total=5)  # a stuck receiver must not stall close() for long


def sign(signing_key: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def is_loopback(url: str) -> bool:
    host = yarl.URL(url).host or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Deliverer:
    def __init__(self, world: World, clock: Callable[[], float]) -> None:
        self.deliveries: list[Delivery] = []
        self._world = world
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=_TIMEOUT)

    async def wait(self) -> None:
        """Until every delivery started so far (and any they cause) has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.wait()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def announce(self, event: Event) -> None:
        """World callback: start one delivery per matching subscription of the group."""
        group = self._world.groups.get(event.practice_group_id)
        hooks = (
            []
            if group is None
            else [h for h in group.webhooks.values() if h["event_type"] == event.event]
        )
        if not hooks:
            return
        body = json.dumps(event.payload(), separators=(",", ":")).encode()
        loop = asyncio.get_running_loop()
        for hook in hooks:
            task = loop.create_task(self._deliver(hook, event.event, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook: Json, event: str, body: bytes) -> None:
        url: str = hook["url"]
        if not is_loopback(url) or self._session is None:
            self.deliveries.append(
                Delivery(
                    url, event, hook["id"], error="refused: the fake only delivers to loopback"
                )
            )
            return
        try:
            headers = self._headers(hook, body)
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
            outcome = Delivery(url, event, hook["id"], status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = Delivery(url, event, hook["id"], error=f"{type(exc).__name__}: {exc}")
        self.deliveries.append(outcome)

    def _headers(self, hook: Json, body: bytes) -> dict[str, str]:
        headers = dict(hook.get("headers") or {})  # the subscription's own headers go first
        headers["Content-Type"] = "application/json"
        signing_key = hook.get("signing_key")
        if signing_key:
            timestamp = str(int(self._clock()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(signing_key, timestamp, body)
        return headers
