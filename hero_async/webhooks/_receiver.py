"""The aiohttp.web endpoint: cap, verify, parse, answer at once, dispatch in the background.

Answering before handlers run keeps Hero's delivery fast whatever the handlers do (fetching the
appointment, writing to a database). The backlog of unfinished dispatches is bounded
(``max_in_flight``): while it is full, or the receiver is closing, deliveries are answered 503
*before* anything is accepted (checked again once the body is read, with no await between that
check and the dispatch starting), so Hero redelivers later -- a delivery is never answered 200
and then dropped for lack of room or missed by close(). The router's per-handler timeout keeps
hung handlers from holding slots for ever. The receiver owns the handler tasks: it keeps a
strong reference to each, logs any exception, and drains them when the application shuts
down, so nothing is destroyed while pending and no exception goes unretrieved.

A service that reacts to Hero events (REFERENCE §12) needs only this::

    from aiohttp import web
    from hero_async.webhooks import WebhookEvent, WebhookRouter, webhook_app

    router = WebhookRouter()

    @router.on("appointment.confirmed")
    async def confirmed(event: WebhookEvent) -> None:
        ...  # fetch the appointment: the payload only names it (object, id, practice group)

    web.run_app(webhook_app(signing_key, router))  # POST /hero/webhooks

What the receiver does, safe by default:

* caps the body (64 KiB, else 413) before anything else;
* checks ``X-Herohealth-Signature`` = HMAC-SHA256 of ``"{X-Herohealth-Timestamp}.{body}"``
  (hex or base64, constant time) and rejects timestamps more than 5 minutes away (401);
* parses the four-field payload, keeping ``event`` as a string (400 when malformed);
* answers 200 at once and runs the handlers in a background task it owns;
* skips a redelivered ``(event, id)`` seen in the last 5 minutes (bounded memory);
* logs a failing handler on the ``hero_async.webhooks`` logger and still runs the others.

The pieces work on their own too: :func:`verify_signature` and :func:`parse_event` for another
web framework, :meth:`WebhookRouter.dispatch` to feed events from a queue, and
:func:`webhook_handler` to mount the endpoint in an existing aiohttp application. In tests,
``await app[WEBHOOK_RECEIVER].drain()`` waits until the handlers have run.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .._errors import ValidationError
from ._events import WebhookEvent, WebhookPayloadError, WebhookSignatureError, parse_event
from ._router import WebhookRouter
from ._signature import DEFAULT_TOLERANCE, verify_signature

__all__ = ["WEBHOOK_RECEIVER", "WebhookReceiver", "webhook_app", "webhook_handler"]

logger = logging.getLogger("hero_async.webhooks")

TIMESTAMP_HEADER = "X-Herohealth-Timestamp"
SIGNATURE_HEADER = "X-Herohealth-Signature"
# The payload is four short strings (~200 bytes); 64 KiB leaves room for growth while a
# flood of large bodies cannot exhaust memory before the signature is even checked.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Past this many unfinished dispatches we answer 503 so Hero redelivers later (assumed).
DEFAULT_MAX_IN_FLIGHT = 1_000


class WebhookReceiver:
    """Receives Hero deliveries; mount :meth:`handle`. Create it with :func:`webhook_handler`."""

    def __init__(
        self,
        signing_key: str | bytes | None,
        router: WebhookRouter,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        require_signature: bool = True,
        tolerance: float | None = DEFAULT_TOLERANCE,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        if require_signature and not signing_key:
            raise ValidationError("signing_key", "required unless require_signature=False")
        self._key = signing_key or b""
        self._router = router
        self._max_body_bytes = max_body_bytes
        self._require_signature = require_signature
        self._tolerance = tolerance
        self._max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task[object]] = set()
        self._closing = False

    def __repr__(self) -> str:  # never show the signing key
        return f"<WebhookReceiver in_flight={len(self._tasks)} closing={self._closing}>"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp request handler: 200 queued, 401, 400, 413, 405 or 503 (busy/closing)."""
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        if self._full():  # cheap: before reading a body we would refuse anyway
            return web.Response(status=503, text="busy, retry later")
        body = await _read_capped(request, self._max_body_bytes)
        if body is None:
            return web.Response(status=413, text="webhook body too large")
        # Again: close() or other deliveries may have come while the body was read. From here
        # to _start nothing awaits, so a delivery answered 200 is one drain()/close() waits for.
        if self._full():
            return web.Response(status=503, text="busy, retry later")
        try:
            if self._require_signature:
                self._verify(request, body)
            event = parse_event(body)
        except WebhookSignatureError as exc:
            logger.warning("webhook rejected (%s): %s", exc.reason, exc)
            return web.Response(status=401, text="webhook signature rejected")
        except WebhookPayloadError as exc:
            logger.warning("webhook rejected: %s", exc)
            return web.Response(status=400, text=str(exc))
        self._start(event)
        return web.Response(status=200)

    async def drain(self) -> None:
        """Wait until every dispatch started so far (and any started meanwhile) has finished."""
        while self._tasks:
            # asyncio.wait, unlike gather, does not cancel the handlers if drain is cancelled.
            await asyncio.wait(set(self._tasks))

    async def close(self, grace: float = 10.0) -> None:
        """Refuse new deliveries (503), give running handlers ``grace`` s, cancel the rest."""
        self._closing = True
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("cancelled %d webhook handler run(s) at shutdown", len(pending))
            await asyncio.wait(pending)

    def _full(self) -> bool:
        """Closing, or the backlog is full: answer 503 so Hero redelivers later."""
        return self._closing or len(self._tasks) >= self._max_in_flight

    def _verify(self, request: web.Request, body: bytes) -> None:
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        verify_signature(self._key, timestamp, body, signature, tolerance=self._tolerance)

    def _start(self, event: WebhookEvent) -> None:
        task: asyncio.Task[object] = asyncio.create_task(self._router.dispatch(event))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        # dispatch() already logs handler errors; this catches bugs around them.
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("webhook dispatch crashed", exc_info=exc)


WEBHOOK_RECEIVER = web.AppKey("hero_webhook_receiver", WebhookReceiver)


def webhook_handler(
    signing_key: str | bytes | None,
    router: WebhookRouter,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    require_signature: bool = True,
    tolerance: float | None = DEFAULT_TOLERANCE,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
) -> WebhookReceiver:
    """A receiver for your app: ``add_post(path, r.handle)``, ``await r.close()`` on shutdown."""
    return WebhookReceiver(
        signing_key,
        router,
        max_body_bytes=max_body_bytes,
        require_signature=require_signature,
        tolerance=tolerance,
        max_in_flight=max_in_flight,
    )


def webhook_app(
    signing_key: str | bytes | None,
    router: WebhookRouter,
    *,
    path: str = "/hero/webhooks",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    require_signature: bool = True,
    tolerance: float | None = DEFAULT_TOLERANCE,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
) -> web.Application:
    """An application serving ``POST path``; ``app[WEBHOOK_RECEIVER]`` is the receiver."""
    receiver = webhook_handler(
        signing_key,
        router,
        max_body_bytes=max_body_bytes,
        require_signature=require_signature,
        tolerance=tolerance,
        max_in_flight=max_in_flight,
    )
    app = web.Application()
    app[WEBHOOK_RECEIVER] = receiver
    app.router.add_post(path, receiver.handle)
    # on_shutdown runs before cleanup contexts close what handlers use (a HeroClient), so
    # handlers finish (within the grace period) while their resources still work. on_cleanup is
    # a no-op backstop for runners that skip shutdown.
    app.on_shutdown.append(lambda _app: receiver.close())
    app.on_cleanup.append(lambda _app: receiver.close())
    return app


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds ``limit`` (Content-Length can be absent or lie)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
