"""The request log (optionally bounded) and counters that survive the bound."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import Any

from hero_async.testing._records import RecordedRequest

# (method, route template, practice group, status) -> requests. The key space stays small even
# over millions of requests because routes are templates, not literal paths with ids.
CountKey = tuple[str, str, str | None, int]


class RequestLog:
    """Keeps the last ``limit`` requests (all when None, none when 0) and counts every one."""

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("log_limit must be >= 0 or None")
        self.limit = limit
        self.entries: deque[RecordedRequest] = deque(maxlen=limit)
        self.total = 0
        self._counts: Counter[CountKey] = Counter()

    def record(self, entry: RecordedRequest) -> None:
        self.total += 1
        self._counts[(entry.method, entry.route, entry.practice_group_id, entry.status)] += 1
        if self.limit != 0:
            self.entries.append(entry)

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        practice_group_id: str | None = None,
        status: int | None = None,
    ) -> int:
        """Requests matching every given filter; ``path`` is a route template or a literal.

        Counting by a literal path that contains ids (``/v1/booking_links/5001``) reads the
        log, so it needs the whole log: it raises if the bound already dropped entries.
        """
        if path is not None and "{" not in path and not self._is_route(path):
            return self._count_literal(method, path, practice_group_id, status)
        return sum(
            n
            for (m, route, group, code), n in self._counts.items()
            if (method is None or m == method)
            and (path is None or route == path)
            and (practice_group_id is None or group == practice_group_id)
            and (status is None or code == status)
        )

    def by_route(self) -> dict[tuple[str, str], int]:
        totals: Counter[tuple[str, str]] = Counter()
        for (method, route, _, _), n in self._counts.items():
            totals[(method, route)] += n
        return dict(totals)

    def by_practice_group(self) -> dict[str | None, int]:
        totals: Counter[str | None] = Counter()
        for (_, _, group, _), n in self._counts.items():
            totals[group] += n
        return dict(totals)

    def clear(self) -> None:
        self.entries.clear()
        self._counts.clear()
        self.total = 0

    def _is_route(self, path: str) -> bool:
        return any(route == path for (_, route, _, _) in self._counts)

    def _count_literal(
        self, method: str | None, path: str, group: str | None, status: int | None
    ) -> int:
        if len(self.entries) < self.total:
            raise ValueError(
                f"cannot count literal path {path!r}: the bounded log dropped "
                f"{self.total - len(self.entries)} requests; count by route template instead"
            )
        return sum(
            1
            for e in self.entries
            if e.path == path
            and (method is None or e.method == method)
            and (group is None or e.practice_group_id == group)
            and (status is None or e.status == status)
        )


def assert_called(
    entries: Iterable[RecordedRequest], method: str, path: str, fields: Mapping[str, Any]
) -> RecordedRequest:
    """See ``FakeHero.assert_called``. The failure lists routes and body keys only: bodies
    carry patient data, and test output ends up in CI logs."""
    same = [e for e in entries if e.method == method and path in (e.path, e.route)]
    for entry in reversed(same):
        body = entry.body if isinstance(entry.body, Mapping) else {}
        if all(key in body and body[key] == value for key, value in fields.items()):
            return entry
    if not same:
        raise AssertionError(f"no {method} {path} in the request log")
    seen = "; ".join(
        f"{e.method} {e.path} -> {e.status} body keys "
        f"{sorted(e.body) if isinstance(e.body, Mapping) else type(e.body).__name__}"
        for e in same[-5:]
    )
    wanted = ", ".join(sorted(fields))
    raise AssertionError(f"no {method} {path} with matching {wanted}; seen: {seen}")
