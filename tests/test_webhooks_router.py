"""WebhookRouter and Deduplicator: routing, at-least-once de-duplication, failing handlers."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hero_async.webhooks import Deduplicator, DispatchResult, WebhookEvent, WebhookRouter


def event(name: str = "appointment.confirmed", id_: str = "156") -> WebhookEvent:
    return WebhookEvent(object="Appointment", id=id_, practice_group_id="42", event=name)


class Clock:
    """A settable monotonic clock, so TTL tests never wait."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_routes_by_event_name_in_registration_order() -> None:
    router = WebhookRouter()
    calls: list[str] = []

    @router.on("appointment.confirmed")
    async def first(e: WebhookEvent) -> None:
        calls.append(f"first {e.id}")

    @router.on("appointment.confirmed")
    async def second(e: WebhookEvent) -> None:
        calls.append(f"second {e.id}")

    @router.on("appointment.cancelled")
    async def cancelled(e: WebhookEvent) -> None:
        calls.append("cancelled")

    assert await router.dispatch(event()) is DispatchResult.HANDLED
    assert calls == ["first 156", "second 156"]


async def test_on_any_runs_for_every_event_after_specific_handlers() -> None:
    router = WebhookRouter()
    calls: list[str] = []

    @router.on_any
    async def audit(e: WebhookEvent) -> None:
        calls.append(f"any {e.event}")

    @router.on("appointment.confirmed")
    async def confirmed(e: WebhookEvent) -> None:
        calls.append("confirmed")

    await router.dispatch(event())
    await router.dispatch(event("prescription.issued", "9"))
    assert calls == ["confirmed", "any appointment.confirmed", "any prescription.issued"]


async def test_unhandled_event_reported_and_not_remembered() -> None:
    router = WebhookRouter()
    assert await router.dispatch(event("brand.new-event")) is DispatchResult.UNHANDLED
    assert router.dedupe is not None
    assert len(router.dedupe) == 0


def test_sync_handler_refused_at_registration() -> None:
    router = WebhookRouter()

    def not_async(e: WebhookEvent) -> None: ...

    with pytest.raises(TypeError, match="async def"):
        router.on("appointment.confirmed")(not_async)  # type: ignore[arg-type]


async def test_replayed_event_is_handled_once() -> None:
    router = WebhookRouter()
    calls: list[WebhookEvent] = []

    @router.on("appointment.confirmed")
    async def handle(e: WebhookEvent) -> None:
        calls.append(e)

    assert await router.dispatch(event()) is DispatchResult.HANDLED
    assert await router.dispatch(event()) is DispatchResult.DUPLICATE
    assert len(calls) == 1


async def test_concurrent_copies_of_one_event_run_the_handler_once() -> None:
    router = WebhookRouter()
    release = asyncio.Event()
    calls = 0

    @router.on("appointment.confirmed")
    async def handle(e: WebhookEvent) -> None:
        nonlocal calls
        calls += 1
        await release.wait()

    first = asyncio.create_task(router.dispatch(event()))
    second = asyncio.create_task(router.dispatch(event()))
    assert await second is DispatchResult.DUPLICATE
    release.set()
    assert await first is DispatchResult.HANDLED
    assert calls == 1


async def test_different_events_for_the_same_object_are_not_duplicates() -> None:
    router = WebhookRouter()
    seen: list[str] = []

    @router.on_any
    async def handle(e: WebhookEvent) -> None:
        seen.append(e.event)

    await router.dispatch(event("appointment.confirmed"))
    await router.dispatch(event("appointment.cancelled"))
    await router.dispatch(event("appointment.confirmed", id_="157"))
    assert seen == ["appointment.confirmed", "appointment.cancelled", "appointment.confirmed"]


async def test_dedupe_can_be_turned_off() -> None:
    router = WebhookRouter(dedupe=None)
    calls = 0

    @router.on_any
    async def handle(e: WebhookEvent) -> None:
        nonlocal calls
        calls += 1

    await router.dispatch(event())
    await router.dispatch(event())
    assert calls == 2


async def test_handler_exception_logged_other_handlers_and_events_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = WebhookRouter()
    calls: list[str] = []

    @router.on("appointment.confirmed")
    async def broken(e: WebhookEvent) -> None:
        raise RuntimeError(f"database down for {e.id}")

    @router.on("appointment.confirmed")
    async def fine(e: WebhookEvent) -> None:
        calls.append(e.id)

    with caplog.at_level(logging.ERROR, logger="hero_async.webhooks"):
        assert await router.dispatch(event()) is DispatchResult.FAILED
        assert await router.dispatch(event(id_="157")) is DispatchResult.FAILED
    assert calls == ["156", "157"]
    failures = [r for r in caplog.records if r.name == "hero_async.webhooks"]
    assert len(failures) == 2
    assert "broken" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert "database down for 156" in str(failures[0].exc_info[1])


async def test_failed_event_is_forgotten_so_a_redelivery_retries() -> None:
    router = WebhookRouter()
    attempts = 0

    @router.on("appointment.confirmed")
    async def flaky(e: WebhookEvent) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("transient")

    assert await router.dispatch(event()) is DispatchResult.FAILED
    assert await router.dispatch(event()) is DispatchResult.HANDLED
    assert await router.dispatch(event()) is DispatchResult.DUPLICATE


def test_deduplicator_bounded_evicts_oldest() -> None:
    dedupe = Deduplicator(max_size=3, ttl=None)
    assert all(dedupe.add(k) for k in "abcd")
    assert len(dedupe) == 3
    assert dedupe.add("a")  # evicted, so new again (which in turn evicts "b")
    assert not dedupe.add("d")
    assert dedupe.add("b")


def test_deduplicator_ttl_uses_injected_clock_and_repeats_do_not_extend_it() -> None:
    clock = Clock()
    dedupe = Deduplicator(ttl=10, clock=clock)
    assert dedupe.add("k")
    clock.now = 9.9
    assert not dedupe.add("k")
    clock.now = 10.0
    assert dedupe.add("k")
    assert len(dedupe) == 1


@pytest.mark.parametrize(("max_size", "ttl"), [(0, 1.0), (1, 0.0), (1, -5.0)])
def test_deduplicator_rejects_nonsense_settings(max_size: int, ttl: float) -> None:
    with pytest.raises(ValueError, match=r"max_size|ttl"):
        Deduplicator(max_size=max_size, ttl=ttl)


async def test_a_hung_handler_is_cancelled_logged_and_the_rest_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The handler never returns (a dead database connection): whatever the machine's speed,
    it is cancelled at handler_timeout, logged, the event counts as failed and is forgotten so a
    redelivery tries again, and the next handler still runs."""
    router = WebhookRouter(handler_timeout=0.01)
    cancelled = asyncio.Event()
    after: list[str] = []

    @router.on("appointment.confirmed")
    async def hung(event: WebhookEvent) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    @router.on_any
    async def audit(event: WebhookEvent) -> None:
        after.append(event.id)

    with caplog.at_level(logging.ERROR, logger="hero_async.webhooks"):
        assert await router.dispatch(event()) is DispatchResult.FAILED
    assert cancelled.is_set()
    assert after == ["156"]
    assert "still running after 0.01 s: cancelled" in caplog.text
    assert "hung" in caplog.text
    router.handler_timeout = None
    hung_task = asyncio.ensure_future(router.dispatch(event()))  # forgotten: runs again
    await asyncio.sleep(0)
    assert not hung_task.done()
    hung_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hung_task


async def test_a_handlers_own_timeout_error_is_a_failure_not_our_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = WebhookRouter()

    @router.on_any
    async def calls_out(event: WebhookEvent) -> None:
        raise TimeoutError("the practice system did not answer")

    with caplog.at_level(logging.ERROR, logger="hero_async.webhooks"):
        assert await router.dispatch(event()) is DispatchResult.FAILED
    assert "failed on appointment.confirmed 156" in caplog.text
    assert "did not answer" in caplog.text
    assert "still running" not in caplog.text


def test_the_default_handler_timeout_is_bounded() -> None:
    assert WebhookRouter().handler_timeout == 30.0


async def test_a_dispatch_cancelled_mid_run_is_forgotten_so_a_redelivery_runs() -> None:
    """Cancelled (shutdown, or the receiver giving up): the event was not handled, so the
    de-duplication memory must not swallow Hero's redelivery."""
    router = WebhookRouter()
    started = asyncio.Event()
    runs: list[str] = []

    @router.on_any
    async def slow(event: WebhookEvent) -> None:
        runs.append(event.id)
        started.set()
        if len(runs) == 1:
            await asyncio.Event().wait()

    first = asyncio.ensure_future(router.dispatch(event()))
    await started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await router.dispatch(event()) is DispatchResult.HANDLED
    assert runs == ["156", "156"]
