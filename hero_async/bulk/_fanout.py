"""Fan-out: one call run for many practice groups at once, each outcome kept apart.

A PCN hub's job touches every practice of its network; one practice outside the network (403)
or one failing (5xx) must not cancel the others. Errors from Hero become Outcomes; cancellation
and programming errors (anything that is not a HeroError) still propagate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

import attrs

from .._errors import HeroError
from ..resources import Requester

__all__ = ["Outcome", "fan_out"]

T = TypeVar("T")
V = TypeVar("V", bound=Requester)
DEFAULT_FAN_OUT_CONCURRENCY = 10


@attrs.frozen
class Outcome(Generic[T]):
    """What one practice group's call produced: ``value`` or ``error``, never both."""

    practice_group_id: str
    value: T | None = None
    error: HeroError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> T:
        """The value, or raise the group's error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None is a legitimate value here


async def fan_out(
    view_for: Callable[[str], V],
    practice_group_ids: Iterable[str],
    call: Callable[[V], Awaitable[T]],
    *,
    concurrency: int = DEFAULT_FAN_OUT_CONCURRENCY,
) -> dict[str, Outcome[T]]:
    """Run ``call(view_for(group))`` per group, ``concurrency`` at a time; results keep input
    order. ``view_for`` validates each id before any call is made."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    groups = list(dict.fromkeys(practice_group_ids))  # de-duplicated, order kept
    views = [view_for(group) for group in groups]
    gate = asyncio.Semaphore(concurrency)

    async def run(view: V) -> Outcome[T]:
        async with gate:
            try:
                return Outcome(view.practice_group_id, value=await call(view))
            except HeroError as exc:
                return Outcome(view.practice_group_id, error=exc)

    tasks = [asyncio.ensure_future(run(view)) for view in views]
    try:
        outcomes = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return {outcome.practice_group_id: outcome for outcome in outcomes}
