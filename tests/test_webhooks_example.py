"""examples/webhook_service.py: a confirmed appointment is fetched through the shared client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import json
import logging
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from aiohttp import test_utils

from hero_async.webhooks import WEBHOOK_RECEIVER

EXAMPLE = Path(__file__).parent.parent / "examples" / "webhook_service.py"
KEY = "whsec_example"
BODY = json.dumps(
    {
        "object": "Appointment",
        "id": "156",
        "practice_group_id": "42",
        "event": "appointment.confirmed",
    }
).encode()


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(KEY.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Herohealth-Timestamp": ts, "X-Herohealth-Signature": digest}


class StubHero:
    """Stands in for HeroClient: records fetches, can hold them, knows when it was closed."""

    def __init__(self) -> None:
        self.fetched: list[tuple[str, str, bool]] = []  # (group, id, client still open)
        self.closed = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def __aenter__(self) -> StubHero:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True

    def practice_group(self, group: str) -> Any:
        async def get(appointment_id: str) -> Any:
            await self.gate.wait()
            self.fetched.append((group, appointment_id, not self.closed))
            return SimpleNamespace(id=appointment_id, start_time="2025-01-01T09:00:00Z")

        return SimpleNamespace(appointments=SimpleNamespace(get=get))


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, StubHero]:
    spec = importlib.util.spec_from_file_location("webhook_service", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stub = StubHero()
    monkeypatch.setattr(module, "HeroClient", lambda: stub)
    return module, stub


async def test_confirmed_appointment_is_fetched(
    service: tuple[ModuleType, StubHero], caplog: pytest.LogCaptureFixture
) -> None:
    module, stub = service
    app = module.build_app(KEY)
    async with test_utils.TestClient(test_utils.TestServer(app, host="127.0.0.1")) as client:
        with caplog.at_level(logging.INFO, logger="webhook_service"):
            response = await client.post("/hero/webhooks", data=BODY, headers=signed(BODY))
            assert response.status == 200
            await app[WEBHOOK_RECEIVER].drain()
    assert stub.fetched == [("42", "156", True)]
    assert "appointment 156 confirmed" in caplog.text
    assert stub.closed


async def test_client_stays_open_until_running_handlers_finish_at_shutdown(
    service: tuple[ModuleType, StubHero],
) -> None:
    """Handlers drain on shutdown, before cleanup contexts close the shared client."""
    module, stub = service
    stub.gate.clear()
    app = module.build_app(KEY)
    async with test_utils.TestClient(test_utils.TestServer(app, host="127.0.0.1")) as client:
        response = await client.post("/hero/webhooks", data=BODY, headers=signed(BODY))
        assert response.status == 200
        asyncio.get_running_loop().call_soon(stub.gate.set)
        await app.shutdown()
        assert stub.fetched == [("42", "156", True)]
        assert not stub.closed
    assert stub.closed
