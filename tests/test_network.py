"""fan_out: one call per practice group, each outcome kept apart, against the sandbox fake."""

from __future__ import annotations

import asyncio

import pytest
from bulk_support import LINKS, OUTSIDE, sandbox

from hero_async import (
    CrossOrganisationDeniedError,
    Outcome,
    PracticeGroupView,
    ValidationError,
)
from hero_async.testing import SANDBOX_NETWORK_GROUP_IDS, Fault


def _no_other_tasks() -> bool:
    return asyncio.all_tasks() == {asyncio.current_task()}


async def test_outcomes_keep_input_order_and_values() -> None:
    """Every group gets an Outcome with its value, keyed in the order the ids were given."""
    groups = ["1004", "1001", "1003", "1002"]
    async with sandbox() as (fake, hero):
        outcomes = await hero.fan_out(groups, lambda g: g.locations.list())
    assert list(outcomes) == groups
    for group, outcome in outcomes.items():
        assert outcome.practice_group_id == group
        assert outcome.ok
        assert outcome.error is None
        assert {loc.id for loc in outcome.unwrap().data} == {"20", "21"}
    assert fake.count(path="/v1/locations") == len(groups)


async def test_group_outside_network_is_an_error_outcome_others_succeed() -> None:
    """A 403 for the group outside the network becomes its Outcome; the others still succeed."""
    groups = ["1002", OUTSIDE, "1003"]
    async with sandbox() as (fake, hero):
        outcomes = await hero.fan_out(groups, lambda g: g.locations.list())
    assert list(outcomes) == groups
    denied = outcomes[OUTSIDE]
    assert not denied.ok
    assert denied.value is None
    assert isinstance(denied.error, CrossOrganisationDeniedError)
    assert denied.error.status == 403
    assert denied.error.practice_group_id == OUTSIDE
    with pytest.raises(CrossOrganisationDeniedError):
        denied.unwrap()
    assert outcomes["1002"].ok
    assert outcomes["1003"].ok
    assert fake.count(practice_group_id=OUTSIDE) == 1


async def test_server_error_on_one_group_does_not_cancel_the_others() -> None:
    """A 503 (outcome unknown for a POST) is one group's Outcome; the other groups' links exist."""
    async with sandbox() as (fake, hero):
        fake.add_fault(Fault(method="POST", path=LINKS, practice_group_id="1003", status=503))

        async def create(view: PracticeGroupView) -> str:
            link = await view.booking_links.create(appointment_type_id="10", location_id="20")
            return link.id

        outcomes = await hero.fan_out(["1002", "1003", "1004"], create)
    assert not outcomes["1003"].ok
    assert outcomes["1002"].ok
    assert outcomes["1004"].ok
    assert {link["practice_group_id"] for link in fake.booking_links} == {"1002", "1004"}


async def test_programming_error_propagates_and_cancels_the_rest() -> None:
    """A non-Hero exception in one call propagates as itself; the other calls are cancelled and
    no task is left pending."""
    cancelled: list[str] = []
    started: list[str] = []
    others_waiting = asyncio.Event()

    async def call(view: PracticeGroupView) -> None:
        started.append(view.practice_group_id)
        if len(started) == 3:
            others_waiting.set()
        if view.practice_group_id == "1003":
            await others_waiting.wait()  # the other two are running (and blocked) by now
            raise ValueError("bug in the caller's code")
        try:
            await asyncio.Event().wait()  # would block forever
        except asyncio.CancelledError:
            cancelled.append(view.practice_group_id)
            raise

    async with sandbox() as (_, hero):
        with pytest.raises(ValueError, match="bug in the caller's code"):
            await hero.fan_out(["1002", "1003", "1004"], call)
        assert sorted(cancelled) == ["1002", "1004"]
        assert _no_other_tasks()


async def test_cancelling_fan_out_cancels_every_call() -> None:
    """Cancelling the task running fan_out raises CancelledError and cancels every call."""
    running = asyncio.Event()
    started: list[str] = []
    cancelled: list[str] = []

    async def call(view: PracticeGroupView) -> None:
        started.append(view.practice_group_id)
        if len(started) == 3:
            running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(view.practice_group_id)
            raise

    async with sandbox() as (_, hero):
        task = asyncio.create_task(hero.fan_out(["1002", "1003", "1004"], call))
        await running.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert sorted(cancelled) == ["1002", "1003", "1004"]
        assert _no_other_tasks()


async def test_concurrency_bound_is_respected() -> None:
    """No more than ``concurrency`` calls run at once, and every group still gets its turn."""
    in_call = peak = 0

    async def call(view: PracticeGroupView) -> str:
        nonlocal in_call, peak
        in_call += 1
        peak = max(peak, in_call)
        try:
            await view.locations.list()
            for _ in range(3):  # give the other calls every chance to overlap
                await asyncio.sleep(0)
            return view.practice_group_id
        finally:
            in_call -= 1

    groups = [*SANDBOX_NETWORK_GROUP_IDS, OUTSIDE]
    async with sandbox() as (_, hero):
        outcomes = await hero.fan_out(groups, call, concurrency=2)
    assert peak == 2
    assert [o.value for o in outcomes.values() if o.ok] == list(SANDBOX_NETWORK_GROUP_IDS)
    assert not outcomes[OUTSIDE].ok


async def test_duplicate_ids_are_called_once() -> None:
    """Repeated group ids are de-duplicated: one call and one Outcome per distinct group."""
    calls: list[str] = []

    async def call(view: PracticeGroupView) -> str:
        calls.append(view.practice_group_id)
        return view.practice_group_id

    async with sandbox() as (_, hero):
        outcomes = await hero.fan_out(["1002", "1003", "1002", "1003", "1002"], call)
    assert list(outcomes) == ["1002", "1003"]
    assert sorted(calls) == ["1002", "1003"]
    assert all(isinstance(o, Outcome) and o.ok for o in outcomes.values())


@pytest.mark.parametrize("bad", ["", "10\n02", " 1002"])
async def test_invalid_group_id_raises_before_any_request(bad: str) -> None:
    """An invalid practice group id raises ValidationError and no call or request happens."""
    calls: list[str] = []

    async def call(view: PracticeGroupView) -> None:
        calls.append(view.practice_group_id)
        await view.locations.list()

    async with sandbox() as (fake, hero):
        with pytest.raises(ValidationError) as caught:
            await hero.fan_out(["1002", bad], call)
        assert caught.value.field == "practice_group_id"
        assert calls == []
        assert fake.count() == 0


async def test_concurrency_below_one_is_refused() -> None:
    """concurrency=0 is a ValueError, not a hang."""

    async def call(view: PracticeGroupView) -> None:
        return None

    async with sandbox() as (fake, hero):
        with pytest.raises(ValueError, match="concurrency"):
            await hero.fan_out(["1002"], call, concurrency=0)
        assert fake.count() == 0
