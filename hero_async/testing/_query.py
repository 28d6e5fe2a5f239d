"""Query-string reading (filters, paging) and the ``{data, count}`` list envelope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from multidict import MultiMapping

from hero_async.testing._rules import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from hero_async.testing._validation import Issue, Reject, issue, parse_datetime

T = TypeVar("T")


class Query:
    """Reads query parameters, collecting Hero-style issues like ``Fields`` does for bodies."""

    __slots__ = ("issues", "query")

    def __init__(self, query: MultiMapping[str]) -> None:
        self.query = query
        self.issues: list[Issue] = []

    def done(self) -> None:
        if self.issues:
            raise Reject(400, self.issues)

    def text(self, key: str, choices: Sequence[str] = ()) -> str | None:
        value = self.query.get(key)
        if value is not None and choices and value not in choices:
            self.issues.append(
                issue([key], "invalid_enum_value", " | ".join(f"'{c}'" for c in choices))
            )
            return None
        return value

    def many(self, key: str) -> list[str]:
        """Array parameters: repeated keys, ``key[]`` and comma lists are all read.

        UNVERIFIED: the array serialisation style is not documented, so all three are taken.
        """
        values = [*self.query.getall(key, ()), *self.query.getall(key + "[]", ())]
        return [part for value in values for part in value.split(",") if part]

    def flag(self, key: str) -> bool | None:
        value = self.query.get(key)
        if value is None:
            return None
        if value not in ("true", "false"):
            self.issues.append(issue([key], "invalid_type", "boolean"))
            return None
        return value == "true"

    def integer(self, key: str, default: int, minimum: int, maximum: int | None = None) -> int:
        value = self.query.get(key)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()):  # "²" and "٣" are not page sizes
            self.issues.append(issue([key], "invalid_type", "integer"))
            return default
        number = int(value)
        if number < minimum:
            self.issues.append(issue([key], "too_small", f">= {minimum}"))
        elif maximum is not None and number > maximum:
            self.issues.append(issue([key], "too_big", f"<= {maximum}"))
        return number

    def when(self, key: str) -> dt.datetime | None:
        value = self.query.get(key)
        if value is None:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            self.issues.append(issue([key], "invalid_date", "ISO 8601 date or date-time"))
        return parsed

    def page(self) -> tuple[int, int]:
        """Zero-based ``page_index`` and ``page_size`` (bounds are guesses, see _rules)."""
        index = self.integer("page_index", 0, 0)
        size = self.integer("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        return index, size


def envelope(
    items: Sequence[T], page: tuple[int, int], render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """One page of ``items`` as ``{data, count}``; ``count`` is the total across pages."""
    index, size = page
    start = index * size
    return {"data": [render(item) for item in items[start : start + size]], "count": len(items)}
