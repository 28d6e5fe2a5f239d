"""The pool gate: a first-come-first-served count of free connection slots.

``Core`` takes a slot before the rate gates (see ``Core.request``), so a request queued for a
connection still sees a 429 pause that began while it waited. A plain counter rather than an
``asyncio.Semaphore``: taking a free slot is a plain call, where ``Semaphore.acquire`` is a
coroutine on every request (the bulk path makes two requests per invitation).
"""

from __future__ import annotations

import asyncio
import collections

__all__ = ["Slots"]


class Slots:
    """``take`` a slot, ``wait`` for it if none is free, ``give_back`` when done."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def take(self) -> asyncio.Future[None] | None:
        """None: a slot is the caller's. Else a future to ``wait`` for: none is free, or
        earlier callers queue for one (no overtaking)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return None
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    async def wait(self, waiter: asyncio.Future[None]) -> None:
        try:
            await waiter
        except BaseException:
            if not waiter.cancelled():  # handed a slot just as it was cancelled: pass it on
                self.give_back()
            raise

    def give_back(self) -> None:
        """Hand the slot to the first live waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter is skipped
                waiter.set_result(None)
                return
        self._free += 1
