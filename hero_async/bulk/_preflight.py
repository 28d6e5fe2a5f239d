"""The pre-flight check of a practice group, and the verdicts that stop a group early.

A group outside the network (a cross-organisational 403) or whose token is refused (a 401)
would fail every one of its invitations: the check makes that cost one token fetch, and
later invitations of the group fail fast instead of costing one request each.
"""

from __future__ import annotations

import asyncio

from .._errors import AuthenticationError, CrossOrganisationDeniedError, HeroError
from ..resources import Requester

__all__ = ["Preflight"]


class Preflight:
    def __init__(self) -> None:
        self._denied: dict[str, HeroError] = {}
        self._checks: dict[str, asyncio.Future[HeroError | None]] = {}
        self.checked: set[str] = set()  # groups whose check ended: ``denied`` is the verdict

    def denied(self, group: str) -> HeroError | None:
        """The verdict of a group in ``checked``, without a coroutine (once per invitation):
        a check's own verdict is ``_denied``'s entry, and a step's 401 adds to it."""
        return self._denied.get(group)

    async def verdict(self, view: Requester) -> HeroError | None:
        """Check a group once (its token fetch is cheap). One check task per group, so
        invitations starting while it runs wait for its verdict instead of asking again.
        A group in ``checked`` needs no coroutine: the pipeline reads ``denied`` at once."""
        group = view.practice_group_id
        check = self._checks.get(group)
        if check is None:
            check = self._checks[group] = asyncio.ensure_future(self._check(view))
        await asyncio.shield(check)  # its verdict is _denied's entry, which only ever grows
        return self.denied(group)

    def deny(self, group: str, error: HeroError) -> None:
        """A step's error: a 401 or cross-organisational 403 stops the group."""
        if isinstance(error, AuthenticationError | CrossOrganisationDeniedError):
            self._denied.setdefault(group, error)

    async def close(self) -> None:
        """The checks run outside the job's task group: never leave one behind."""
        for check in self._checks.values():
            check.cancel()
        await asyncio.gather(*self._checks.values(), return_exceptions=True)

    async def _check(self, view: Requester) -> HeroError | None:
        # Only the cross-organisational 403 is a verdict on the group. Anything else (a 401,
        # a scope 403 on our own group, a flaky endpoint) may be about the token endpoint
        # alone; the real steps will tell, and their 401s still stop the group (deny).
        try:
            await view.access_token()
        except CrossOrganisationDeniedError as exc:
            self.deny(view.practice_group_id, exc)
        except HeroError:
            pass
        self.checked.add(view.practice_group_id)
        return self._denied.get(view.practice_group_id)
