"""``--dry-run``: what a run would do, as a summary on stdout; nothing is sent or written.
Its exit code is the run's: 1 if a row would fail or the ledger holds an unknown outcome.

The file was already read and checked (``_check``); this adds what the ledger holds, since a
re-run skips what was sent and stops at what may have been.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from ..bulk import SqliteLedger, State
from ._campaigns import CampaignIndex, campaign_for, check_ledger, is_file
from ._check import FileCheck, valid_invitations
from ._output import line, out

# What a run does with a valid row, by its key's ledger state.
_WOULD = {
    None: "would send",
    State.FAILED: "would send (failed before)",
    State.LINKED: "would send (link made before)",
    State.REGISTERED: "would send",
    State.SENT: "would skip (already sent)",
    State.UNKNOWN: "would report unknown (Hero may have sent it)",
    State.LINK_CLAIMED: "would skip (another run holds it)",
    State.MESSAGE_CLAIMED: "would skip (another run holds it)",
}


async def dry_run(args: argparse.Namespace, check: FileCheck, ledger: Path | None) -> int:
    states: dict[str, str] = {}
    if ledger is not None:
        index = CampaignIndex()
        try:
            fingerprint = campaign_for(args.file, check.keys).fingerprint
            fresh = args.new_campaign
            await check_ledger(index, args.file.resolve(), fingerprint, ledger, new_campaign=fresh)
        finally:
            index.close()
        states = await _ledger_states(ledger)
    outcomes: collections.Counter[str] = collections.Counter()
    seen: set[str] = set()
    for invitation in valid_invitations(args.file, args.date_format, args.encoding, []):
        if invitation.key in seen:
            outcomes["would skip (key repeated in the file)"] += 1
            continue
        seen.add(invitation.key)
        state = states.get(invitation.key)
        if state == State.UNKNOWN and args.retry_unknown:
            outcomes["would RESEND (--retry-unknown: may text twice)"] += 1
        else:
            outcomes[_WOULD.get(state, "would send")] += 1
    out(f"dry run of {args.file}:")
    for outcome, n in outcomes.most_common():
        out(f"  {n:>7}  {outcome}")
    if check.invalid:
        out(f"  {check.invalid:>7}  would fail (problems above)")
    _show_ledger(ledger, states)
    out("nothing was sent")
    unknown = outcomes[_WOULD[State.UNKNOWN]]
    if unknown and ledger is not None:
        keys = "1 key" if unknown == 1 else f"{unknown} keys"
        line(
            f"the ledger {ledger} holds {keys} with an unknown outcome: a run would not resend "
            f"them and would exit 1. Check with the practice, then record what happened:\n"
            f"  hero-async ledger resolve {ledger} KEY sent|not-sent"
        )
    # The run's exit code (see --help): 1 if an invitation would fail or stay unknown.
    return 0 if check.invalid == 0 and unknown == 0 else 1


async def _ledger_states(path: Path) -> dict[str, str]:
    if not is_file(path):
        return {}
    store = SqliteLedger(path)
    try:
        return {entry.key: entry.state for entry in await store.entries()}
    finally:
        await store.close()


def _show_ledger(ledger: Path | None, states: dict[str, str]) -> None:
    if ledger is None:
        out("ledger: none (the sandbox uses a temporary one)")
    elif not states:
        out(f"ledger: {ledger} (none yet: a run creates it)")
    else:
        counts = collections.Counter(states.values())
        out(f"ledger: {ledger} holds " + ", ".join(f"{n} {s}" for s, n in counts.items()))
