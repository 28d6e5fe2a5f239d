"""A small service that receives Hero's ``appointment.confirmed`` and fetches the appointment.

    export HERO_API_KEY=... HERO_PRACTICE_GROUP_ID=...  # read by HeroClient()
    export HERO_WEBHOOK_SIGNING_KEY=...                 # the signing_key of your subscription
    python examples/webhook_service.py                  # serves POST :8080/hero/webhooks

Subscribe once with ``POST /v1/webhooks`` (``event_type`` "appointment.confirmed", ``url``
pointing at this service, the same ``signing_key``). Hero's payload only names the appointment,
so the handler fetches it. The HeroClient is opened once at startup and shared by every
delivery, because it pools connections; it closes only after running handlers have finished.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

from aiohttp import web

from hero_async import HeroClient
from hero_async.webhooks import WebhookEvent, WebhookRouter, webhook_app

log = logging.getLogger("webhook_service")

HERO = web.AppKey("hero", HeroClient)


def build_app(signing_key: str) -> web.Application:
    """The receiver, its handlers and the shared HeroClient, ready for ``web.run_app``."""
    router = WebhookRouter()
    app = webhook_app(signing_key, router)
    app.cleanup_ctx.append(hero_client)

    @router.on("appointment.confirmed")
    async def appointment_confirmed(event: WebhookEvent) -> None:
        hero = app[HERO]
        appt = await hero.practice_group(event.practice_group_id).appointments.get(event.id)
        log.info("appointment %s confirmed, starts at %s", appt.id, appt.start_time)

    return app


async def hero_client(app: web.Application) -> AsyncIterator[None]:
    """Open one HeroClient for the life of the service."""
    async with HeroClient() as hero:
        app[HERO] = hero
        yield


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    app = build_app(os.environ["HERO_WEBHOOK_SIGNING_KEY"])
    web.run_app(app, port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
