"""BulkReport: every invitation key with its final state, kept off the heap.

A million-row job must not hold a million results in memory, so results are appended to a
spooled temporary file (in memory while small, on disk past a few MB), 64 rows at a time as
one JSON array per line, encoded in one call; only the counts live on the heap. Like the
ledger, the report holds Hero ids and error text only — no NHS numbers, contact details or
message bodies.
"""

from __future__ import annotations

import csv
import json
import operator
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import attrs

from .. import _json
from .._frozen import quick_init

__all__ = ["SENT", "BulkReport", "InvitationResult"]

SENT, FAILED, SKIPPED, UNKNOWN = "sent", "failed", "skipped", "outcome_unknown"
STATES = (SENT, FAILED, SKIPPED, UNKNOWN)
_SPOOL_IN_MEMORY_BYTES = 4 * 1024 * 1024
_BATCH_ROWS = 64


@quick_init
@attrs.frozen
class InvitationResult:
    key: str
    practice_group_id: str
    state: str  # sent | failed | skipped | outcome_unknown
    step: str | None = None  # register | link | message: where it failed or may have acted
    patient_id: str | None = None
    link_id: str | None = None
    short_link: str | None = None
    message_id: str | None = None
    error_type: str | None = None
    error: str | None = None
    retryable: bool = False  # failed, but Hero provably did not act: a re-run will try again


FIELDS = [field.name for field in attrs.fields(InvitationResult)]
_row = operator.attrgetter(*FIELDS)


def _printable(value: object) -> object:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


class BulkReport:
    """Counts plus a stream of results. Counts always add up to the invitations read."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(STATES, 0)
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - see close()
            max_size=_SPOOL_IN_MEMORY_BYTES, mode="w+b"
        )
        self._batch: list[tuple[object, ...]] = []  # rows not yet in the spool

    def add(self, result: InvitationResult) -> None:
        self.counts[result.state] += 1
        batch = self._batch
        batch.append(_row(result))  # far cheaper than attrs.astuple
        if len(batch) >= _BATCH_ROWS:
            self._write_batch()

    def _write_batch(self) -> None:
        """Rows go to the spool in batches: one seek and one write per ``_BATCH_ROWS``."""
        batch = self._batch
        if batch:
            try:
                line = _json.dumps(batch)
            except (TypeError, ValueError):  # e.g. a lone surrogate in a rejected row's key
                line = _json.dumps([[_printable(value) for value in row] for row in batch])
            self._spool.seek(0, 2)  # a half-read results() iterator may have moved it
            self._spool.write(line + b"\n")
            batch.clear()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    sent = property(lambda self: self.counts[SENT])
    failed = property(lambda self: self.counts[FAILED])
    skipped = property(lambda self: self.counts[SKIPPED])
    outcome_unknown = property(lambda self: self.counts[UNKNOWN])

    def results(self) -> Iterator[InvitationResult]:
        """Every result, in the order invitations finished (those added while this is
        being read may or may not be included)."""
        self._write_batch()
        self._spool.flush()
        self._spool.seek(0)
        for line in self._spool:
            for row in _json.loads(line):
                yield InvitationResult(*row)
        self._spool.seek(0, 2)  # back to the end for further writes

    def write_json(self, path: str | Path) -> None:
        with open(path, "w", encoding="utf-8") as out:
            out.write('{"counts": ' + json.dumps(self.counts) + ', "results": [\n')
            for n, result in enumerate(self.results()):
                out.write(("," if n else "") + json.dumps(attrs.asdict(result)) + "\n")
            out.write("]}\n")

    def write_csv(self, path: str | Path) -> None:
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(FIELDS)
            for result in self.results():
                writer.writerow(["" if v is None else v for v in attrs.astuple(result)])

    def write(self, path: str | Path) -> None:
        """Write JSON or CSV, chosen by the file's suffix."""
        (self.write_csv if str(path).endswith(".csv") else self.write_json)(path)

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> BulkReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Closing here keeps a forgotten report from raising ResourceWarning at exit.
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()

    def __repr__(self) -> str:
        counts = ", ".join(f"{state}={n}" for state, n in self.counts.items())
        return f"BulkReport(total={self.total}, {counts})"
