"""SqliteLedger's per-invitation statements come in two shapes (``Shaped``): the usual row
with its NULL columns written as NULL, and every column bound. Whichever shape a row takes,
the file must end up the same: same row, same row count (a claim won or lost)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hero_async.bulk import LedgerEntry, State
from hero_async.bulk._sqlite_schema import CLAIM, INSERT, SETTLE, Shaped, migrate

_TEXT = st.none() | st.sampled_from(["", "x", "link-1", "https://hero.sh/b/L1", "Timeout"])
_PRIOR = LedgerEntry(
    "k", "g", State.LINK_CLAIMED, "p", None, None, None, "link", None, None, "fp", 1, "run-a"
)


@st.composite
def entries(draw: st.DrawFn) -> LedgerEntry:
    state = draw(st.sampled_from(sorted(State.ALL)))
    fields = [draw(_TEXT) for _ in range(7)]  # patient_id .. error
    return LedgerEntry("k", "g", state, *fields, draw(_TEXT), 2, "run-a")


def _run(statement: Shaped, entry: LedgerEntry, quiet: bool, tail: tuple[Any, ...]) -> Any:
    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    if statement is not INSERT:
        row = (*_PRIOR[:11], _PRIOR.epoch, _PRIOR.owner, 0.0)
        db.execute(INSERT.full, row)
    if quiet:
        sql, fields = statement.args(entry)
    else:
        sql, fields = statement.full, entry[statement.first : 11]
    count = db.execute(sql, (*fields, *tail)).rowcount
    return count, db.execute("SELECT * FROM invitations").fetchall()


@given(entries(), st.sampled_from([0, 1]))
def test_every_shape_writes_the_same_row(entry: LedgerEntry, flag: int) -> None:
    tails: dict[str, tuple[Shaped, tuple[Any, ...]]] = {
        "insert": (INSERT, (1, "run-a", 5.0)),
        "claim": (CLAIM, (2, "run-a", 5.0, "k", 1, "run-a", flag, flag, flag)),
        "settle": (SETTLE, (5.0, "k", 1, "run-a", flag)),
    }
    for statement, tail in tails.values():
        assert _run(statement, entry, True, tail) == _run(statement, entry, False, tail)


def test_the_usual_rows_take_the_quiet_shape() -> None:
    """What makes the shapes worth having: a new key's claim, any claim, a sent row."""
    new = LedgerEntry("k", "g", State.LINK_CLAIMED, "p", step="link", fingerprint="fp")
    claimed = new._replace(state=State.MESSAGE_CLAIMED, link_id="l", short_link="s")
    sent = claimed._replace(state=State.SENT, message_id="m")
    for statement, entry in ((INSERT, new), (CLAIM, claimed), (SETTLE, sent)):
        sql, fields = statement.args(entry)
        assert sql == statement.quiet
        assert None not in fields
    failed = sent._replace(state=State.FAILED, error_type="Timeout", error="no answer")
    assert SETTLE.args(failed)[0] == SETTLE.full
