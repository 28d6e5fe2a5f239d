"""SqliteLedger's per-invitation statements come in two shapes (``Shaped``): the usual row
with its NULL columns written as NULL, and every column bound. Whichever shape a row takes,
the file must end up the same: same row, same row count (a claim won or lost).

The statements are built afresh here with ``shapes()``, not read from the module's
constants: those are built at import, where mutation testing cannot reach the builders."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hero_async.bulk import LedgerEntry, State
from hero_async.bulk._sqlite_schema import Shaped, migrate, shapes

INSERT, CLAIM, SETTLE = shapes()
# What every SqliteLedger before the shapes ran. Processes of two SDK versions may share a
# ledger file, and a claim's rules are its SQL: the full shapes must not drift from these.
_RULES = (
    "INSERT INTO invitations (key, practice_group_id, state, patient_id, link_id, short_link, "
    "message_id, step, error_type, error, fingerprint, epoch, owner, updated_at) VALUES (?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
    "UPDATE invitations SET practice_group_id = ?, state = ?, patient_id = ?, link_id = ?, "
    "short_link = ?, message_id = ?, step = ?, error_type = ?, error = ?, fingerprint = ?, "
    "epoch = ?, owner = ?, updated_at = ? WHERE key = ? AND epoch = ? AND state <> 'sent' AND "
    "(state NOT IN ('link_claimed', 'message_claimed') OR (owner = ? AND state = 'link_claimed' "
    "AND ?)) AND (state <> 'outcome_unknown' OR ?) AND (link_id IS NULL OR ?)",
    "UPDATE invitations SET practice_group_id = ?, state = ?, patient_id = ?, link_id = ?, "
    "short_link = ?, message_id = ?, step = ?, error_type = ?, error = ?, fingerprint = ?, "
    "updated_at = ? WHERE key = ? AND epoch = ? AND ((state IN ('link_claimed', "
    "'message_claimed') AND owner = ?) OR state = 'outcome_unknown') AND (step = 'link' OR ?)",
)

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


def test_the_full_shapes_are_the_statements_earlier_versions_ran() -> None:
    assert (INSERT.full, CLAIM.full, SETTLE.full) == _RULES


def test_the_module_runs_the_shapes_built_here() -> None:
    from hero_async.bulk import _sqlite_schema

    used = (_sqlite_schema.INSERT, _sqlite_schema.CLAIM, _sqlite_schema.SETTLE)
    assert [list(map(repr, shape)) for shape in used] == [list(map(repr, s)) for s in shapes()]


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
