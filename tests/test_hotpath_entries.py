"""The row builders the steps and stores use on every invitation make exactly the row the
field-by-field ``_replace`` they stand for would make."""

from __future__ import annotations

from hero_async.bulk import LedgerEntry, State

FULL = LedgerEntry(
    "key", "1002", State.FAILED, "patient", "link", "short", "message", "link", "Boom",
    "it broke", "ab12-cd34", 7, "owner-1",
)  # fmt: skip


def test_fenced_sets_only_epoch_and_owner() -> None:
    assert FULL.fenced(8, "owner-2") == FULL._replace(epoch=8, owner="owner-2")
    assert FULL.fenced(8, None) == FULL._replace(epoch=8, owner=None)


def test_claimed_sets_state_step_epoch_and_clears_the_error() -> None:
    claimed = FULL.claimed(State.MESSAGE_CLAIMED, "message", 8)
    expected = FULL._replace(
        state=State.MESSAGE_CLAIMED, step="message", error_type=None, error=None, epoch=8
    )
    assert claimed == expected
    assert type(claimed) is LedgerEntry


def test_linked_and_sent_change_only_their_fields() -> None:
    assert FULL.linked("L2", "https://hero.sh/b/2") == FULL._replace(
        link_id="L2", short_link="https://hero.sh/b/2"
    )
    assert FULL.linked("L2", None) == FULL._replace(link_id="L2", short_link=None)
    assert FULL.sent("M2") == FULL._replace(state=State.SENT, message_id="M2", step=None)
    assert FULL.sent("M2").owner == "owner-1"
