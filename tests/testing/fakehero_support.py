"""Helpers for the fake's own tests: a manual clock and a thin raw-aiohttp caller."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

START = 1_750_000_000.0  # 2025-06-15T15:06:40Z: a fixed "now" for every test world
KEY = "key-1"
HOME = "1001"
NHS = "9434765919"
DOB = "1980-01-31"

TOMORROW_9AM = dt.datetime(2025, 6, 16, 9, 0, tzinfo=dt.UTC)  # the first seeded slot

_UNSET: Any = object()


class ManualClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    text: str
    headers: CIMultiDictProxy[str]

    @property
    def body(self) -> Any:
        return json.loads(self.text)


class Caller:
    """Sends one request with Hero's two headers (each overridable or omittable with None)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = _UNSET,
        *,
        key: str | None = KEY,
        group: str | None = HOME,
        params: dict[str, Any] | list[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> Reply:
        headers = {}
        if key is not None:
            headers["x-api-key"] = key
        if group is not None:
            headers["x-practice-group-id"] = group
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if body is not _UNSET:
            kwargs["json"] = body
        if data is not None:
            kwargs["data"] = data
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, path, **kwargs) as response:
            return Reply(response.status, await response.text(), response.headers)

    async def ok(self, method: str, path: str, body: Any = _UNSET, **kwargs: Any) -> Any:
        """The parsed body of a request that must answer 200."""
        reply = await self(method, path, body, **kwargs)
        assert reply.status == 200, (reply.status, reply.text)
        return reply.body
