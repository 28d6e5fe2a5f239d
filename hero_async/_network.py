"""Fan-out: one call run for many practice groups at once, each outcome kept apart.

A PCN hub's job touches every practice of its network; one practice outside the network (403)
or one failing (5xx) must not cancel the others. Errors from Hero become Outcomes; cancellation
and programming errors (anything that is not a HeroError) still propagate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from ._errors import HeroError

if TYPE_CHECKING:
    from ._client import HeroClient
    from ._scope import PracticeGroupView

__all__ = ["Outcome", "fan_out"]

T = TypeVar("T")
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
    client: HeroClient,
    practice_group_ids: Iterable[str],
    call: Callable[[PracticeGroupView], Awaitable[T]],
    *,
    concurrency: int = DEFAULT_FAN_OUT_CONCURRENCY,
) -> dict[str, Outcome[T]]:
    """Run ``call(view)`` per group, ``concurrency`` at a time; results keep input order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    groups = list(dict.fromkeys(practice_group_ids))  # de-duplicated, order kept
    views = [client.practice_group(group) for group in groups]  # validates ids before any call
    gate = asyncio.Semaphore(concurrency)

    async def run(view: PracticeGroupView) -> Outcome[T]:
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
