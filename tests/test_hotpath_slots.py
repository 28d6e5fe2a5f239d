"""The connection-pool gate: at most ``max_connections`` requests at the transport at once,
taken first come first served, and a request cancelled while it waits for a slot (or just as
it is handed one) never loses the slot for the others."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from hero_async import HeroClient, RawResponse, Timeouts
from hero_async._slots import Slots

API = "http://127.0.0.1:9"


class HeldTransport:
    """Every send waits until the test lets it answer; records the order sends arrived."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.in_flight = 0
        self.most = 0
        self.gates: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Event()

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | None,
        params: list[tuple[str, str]] | None,
        timeouts: Timeouts,
    ) -> RawResponse:
        name = url.rsplit("/", 1)[-1]
        self.arrived.append(name)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        gate = self.gates.setdefault(name, asyncio.Event())
        self.changed.set()
        try:
            await gate.wait()
        finally:
            self.in_flight -= 1
        return RawResponse(200, {}, b'{"name": "' + name.encode() + b'"}')

    async def aclose(self) -> None:
        return None

    async def until(self, count: int) -> None:
        while len(self.arrived) < count:
            self.changed.clear()
            await self.changed.wait()

    def answer(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


async def _settle() -> None:
    for _ in range(20):  # let every ready task run its next step (no time passes)
        await asyncio.sleep(0)


async def test_at_most_max_connections_in_flight_first_come_first_served() -> None:
    transport = HeldTransport()
    async with HeroClient(
        "k", "1001", base_url=API, transport=transport, max_connections=2
    ) as hero:
        calls = [asyncio.create_task(hero.request("GET", f"/v1/r{i}")) for i in range(6)]
        await transport.until(2)
        await _settle()
        assert transport.arrived == ["r0", "r1"]  # the others wait for a slot
        for i in range(6):
            transport.answer(f"r{i}")
        assert [await call for call in calls] == [{"name": f"r{i}"} for i in range(6)]
    assert transport.arrived == [f"r{i}" for i in range(6)]
    assert transport.most == 2


async def test_a_request_cancelled_while_waiting_for_a_slot_frees_nothing_it_did_not_hold() -> None:
    transport = HeldTransport()
    async with HeroClient(
        "k", "1001", base_url=API, transport=transport, max_connections=1
    ) as hero:
        first = asyncio.create_task(hero.request("GET", "/v1/a"))
        await transport.until(1)
        waiting = asyncio.create_task(hero.request("GET", "/v1/b"))
        later = asyncio.create_task(hero.request("GET", "/v1/c"))
        await _settle()
        waiting.cancel()
        await _settle()
        assert transport.arrived == ["a"]  # the cancelled waiter took no slot from "a"
        transport.answer("a")
        transport.answer("c")
        assert await first == {"name": "a"}
        assert await later == {"name": "c"}
        assert waiting.cancelled()
        transport.answer("d")
        assert await hero.request("GET", "/v1/d") == {"name": "d"}  # the slot is free again
    assert transport.arrived == ["a", "c", "d"]
    assert transport.most == 1


async def test_a_waiter_cancelled_just_as_it_is_handed_the_slot_passes_it_on() -> None:
    slots = Slots(1)
    assert slots.take() is None  # the one slot, held
    handed = slots.take()
    assert handed is not None
    waiting = asyncio.create_task(slots.wait(handed))
    await _settle()
    queued = slots.take()
    assert queued is not None
    slots.give_back()  # to the first waiter, whose task has not run since
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queued.done()  # the slot went on to the next waiter, not lost
    slots.give_back()
    assert slots.take() is None  # and came back free once that one was done
