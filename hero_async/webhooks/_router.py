"""Route verified events to coroutine handlers, with a bounded de-duplication memory.

Hero's delivery guarantees are undocumented (REFERENCE §12.4), so we assume at-least-once: the
same event may arrive twice. The payload carries no delivery id, so a redelivery is recognised
by ``(event, id)`` within a time window; handlers should still be idempotent.

Every handler run has a time limit (``handler_timeout``): a handler stuck on a dead database
connection is cancelled and logged, so its receiver slot is freed and the bounded backlog keeps
draining instead of filling with hung runs until every delivery is refused.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

import attrs

from ._events import WebhookEvent

__all__ = ["Deduplicator", "DispatchResult", "Handler", "WebhookRouter"]

logger = logging.getLogger("hero_async.webhooks")

Handler = Callable[[WebhookEvent], Awaitable[None]]
# Seconds one handler may run for one event. Generous for a database write or an API call or
# two; a handler that needs longer should queue the work and return.
DEFAULT_HANDLER_TIMEOUT = 30.0


class DispatchResult(enum.StrEnum):
    """What :meth:`WebhookRouter.dispatch` did with one event."""

    HANDLED = "handled"  # every handler returned
    FAILED = "failed"  # at least one handler raised (logged); the others still ran
    DUPLICATE = "duplicate"  # seen within the de-duplication window; no handler ran
    UNHANDLED = "unhandled"  # no handler is registered for this event name


class Deduplicator:
    """Remembers up to ``max_size`` keys for ``ttl`` seconds (``None``: until evicted).

    The window runs from the first sighting and is not extended by repeats, so entries expire
    in insertion order and the oldest is evicted first when full.
    """

    # ttl defaults to the signature tolerance: a replayed request is caught here while it is
    # fresh and by the timestamp check afterwards. A longer window also swallows real repeats
    # (an appointment rescheduled twice within it), which is worse than running a handler twice.
    def __init__(
        self,
        max_size: int = 10_000,
        ttl: float | None = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive, or None for no expiry")
        self.max_size = max_size
        self.ttl = ttl
        self._clock = clock
        self._expiry: OrderedDict[Hashable, float] = OrderedDict()

    def __len__(self) -> int:
        self._purge_expired()
        return len(self._expiry)

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; return ``False`` when it was already remembered (a duplicate)."""
        self._purge_expired()
        if key in self._expiry:
            return False
        self._expiry[key] = float("inf") if self.ttl is None else self._clock() + self.ttl
        if len(self._expiry) > self.max_size:
            self._expiry.popitem(last=False)
        return True

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` so its next delivery is handled again."""
        self._expiry.pop(key, None)

    def _purge_expired(self) -> None:
        now = self._clock()
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)


@attrs.define
class WebhookRouter:
    """Coroutine handlers per event name; ``dedupe=None`` turns de-duplication off;
    ``handler_timeout`` (seconds, ``None``: no limit) bounds each handler run."""

    dedupe: Deduplicator | None = attrs.field(factory=Deduplicator, kw_only=True)
    handler_timeout: float | None = attrs.field(default=DEFAULT_HANDLER_TIMEOUT, kw_only=True)
    _handlers: dict[str, list[Handler]] = attrs.field(factory=dict, init=False)
    _any: list[Handler] = attrs.field(factory=list, init=False)

    def on(self, event: str) -> Callable[[Handler], Handler]:
        """Decorator: run the coroutine function for each ``event`` ("appointment.confirmed")."""

        def register(handler: Handler) -> Handler:
            self._handlers.setdefault(event, []).append(_checked(handler))
            return handler

        return register

    def on_any(self, handler: Handler) -> Handler:
        """Decorator: run the coroutine function for every event, after the specific handlers."""
        self._any.append(_checked(handler))
        return handler

    async def dispatch(self, event: WebhookEvent) -> DispatchResult:
        """Run the event's handlers one after another; a failing handler never stops the rest."""
        handlers = [*self._handlers.get(event.event, ()), *self._any]
        if not handlers:
            logger.info("no webhook handler for %s %s", event.event, event.id)
            return DispatchResult.UNHANDLED
        # Marked on receipt, before any await, so two concurrent deliveries cannot both run.
        # We answer Hero before handlers finish, so Hero cannot redeliver because a handler
        # failed; forgetting the key on failure still lets any later redelivery try again.
        if self.dedupe is not None and not self.dedupe.add(event.dedupe_key):
            logger.info("duplicate webhook %s %s skipped", event.event, event.id)
            return DispatchResult.DUPLICATE
        try:
            failures = [h for h in handlers if not await _run(h, event, self.handler_timeout)]
        except asyncio.CancelledError:  # shut down mid-run: a redelivery must run it again
            if self.dedupe is not None:
                self.dedupe.forget(event.dedupe_key)
            raise
        if not failures:
            return DispatchResult.HANDLED
        if self.dedupe is not None:
            self.dedupe.forget(event.dedupe_key)
        return DispatchResult.FAILED


def _checked(handler: Handler) -> Handler:
    # A plain function would only fail at the first delivery, long after deployment.
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"webhook handler {handler!r} must be an async def function")
    return handler


async def _run(handler: Handler, event: WebhookEvent, seconds: float | None) -> bool:
    name = getattr(handler, "__qualname__", repr(handler))
    limit = asyncio.timeout(seconds)
    try:
        async with limit:
            await handler(event)
    except TimeoutError:
        if not limit.expired():  # the handler's own timeout (an HTTP call, say): a failure
            logger.exception("webhook handler %s failed on %s %s", name, event.event, event.id)
        else:
            logger.error(
                "webhook handler %s on %s %s still running after %s s: cancelled",
                name, event.event, event.id, seconds,
            )  # fmt: skip
        return False
    except Exception:
        logger.exception("webhook handler %s failed on %s %s", name, event.event, event.id)
        return False
    return True
