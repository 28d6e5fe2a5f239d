"""The SQL of PostgresLedger, one statement per operation (the rules are in the WHERE clauses).

The claim rules are SqliteLedger's and RunLedger's, exactly: a row that is ``sent`` is never
claimed; a live claim is never claimed again, except by its owner's link -> message advance;
an ``outcome_unknown`` row only with the caller's ``from_unknown``; and once a link is made
(``link_id`` set: ``linked``, or ``failed`` after the link) no link claim takes the row, only a
message claim. A settle is fenced by epoch and owner, and ``linked`` only answers a link claim.
"""

from __future__ import annotations

__all__ = [
    "BEGIN_RUN",
    "CAMPAIGN",
    "CLAIM",
    "COUNTS",
    "END_RUN",
    "ENTRIES",
    "GET",
    "INSERT",
    "RENEW",
    "RESOLVE",
    "SETTLE",
    "SWEEP",
    "UNKNOWN",
]

FIELDS = (
    "practice_group_id, state, patient_id, link_id, short_link, message_id, step, "
    "error_type, error, fingerprint"
)
ROW = f"key, {FIELDS}, epoch, owner"
_NOW = "coalesce(%(now)s::timestamptz, clock_timestamp())"
_CLAIMS = "('link_claimed', 'message_claimed')"
_SET = ", ".join(f"{name} = %({name})s" for name in FIELDS.split(", "))
_KEY = "ledger = %(ledger)s AND key = %(key)s"

INSERT = f"""INSERT INTO hero_fleet.entries (ledger, {ROW}, updated_at)
VALUES (%(ledger)s, %(key)s, {", ".join(f"%({n})s" for n in FIELDS.split(", "))},
        1, %(me)s, {_NOW})
ON CONFLICT DO NOTHING RETURNING epoch"""
# %(advance)s: the caller's entry is a message claim (the owner's link -> message step).
CLAIM = f"""UPDATE hero_fleet.entries SET {_SET}, epoch = epoch + 1, owner = %(me)s,
    updated_at = {_NOW}
WHERE {_KEY} AND epoch = %(expect)s AND state <> 'sent'
  AND (state NOT IN {_CLAIMS} OR (owner = %(me)s AND state = 'link_claimed' AND %(advance)s))
  AND (state <> 'outcome_unknown' OR %(from_unknown)s)
  AND (link_id IS NULL OR %(advance)s)
RETURNING epoch"""
# %(any_step)s: the answer is not "linked" (which only answers a link claim).
SETTLE = f"""UPDATE hero_fleet.entries SET {_SET}, updated_at = {_NOW}
WHERE {_KEY} AND epoch = %(epoch)s AND owner = %(me)s
  AND state IN ('link_claimed', 'message_claimed', 'outcome_unknown')
  AND (step = 'link' OR %(any_step)s)"""
SWEEP = f"""UPDATE hero_fleet.entries e SET state = 'outcome_unknown',
    error_type = 'Interrupted', error = 'the run holding this claim ended or stopped renewing',
    step = coalesce(e.step, CASE e.state WHEN 'link_claimed' THEN 'link' ELSE 'message' END),
    updated_at = {_NOW}
WHERE e.ledger = %(ledger)s AND e.state IN {_CLAIMS} AND NOT EXISTS (
    SELECT 1 FROM hero_fleet.runs r
    WHERE r.owner = e.owner AND NOT r.ended AND r.lease_until >= {_NOW})"""
BEGIN_RUN = f"""INSERT INTO hero_fleet.runs VALUES (%(owner)s, %(ledger)s, %(host)s,
    %(pid)s, %(started)s, {_NOW} + %(lease)s, false)
ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until, ended = false"""
RENEW = f"""UPDATE hero_fleet.runs SET lease_until = {_NOW} + %(lease)s
WHERE owner = %(me)s AND NOT ended"""
END_RUN = "UPDATE hero_fleet.runs SET ended = true WHERE owner = %(me)s"
GET = f"SELECT {ROW} FROM hero_fleet.entries WHERE {_KEY}"
ENTRIES = f'SELECT {ROW} FROM hero_fleet.entries WHERE ledger = %(ledger)s ORDER BY key COLLATE "C"'
UNKNOWN = (
    f"SELECT {ROW} FROM hero_fleet.entries WHERE ledger = %(ledger)s"
    " AND state = 'outcome_unknown' ORDER BY key COLLATE \"C\""
)
COUNTS = "SELECT state, count(*) FROM hero_fleet.entries WHERE ledger = %(ledger)s GROUP BY state"
CAMPAIGN = """SELECT campaign_name, campaign_fingerprint FROM hero_fleet.ledgers
WHERE name = %(ledger)s AND campaign_name IS NOT NULL"""
RESOLVE = f"""UPDATE hero_fleet.entries SET epoch = epoch + 1, error = %(note)s,
    state = %(state)s, updated_at = {_NOW},
    link_id = CASE WHEN %(clear)s AND step = 'link' THEN NULL ELSE link_id END,
    short_link = CASE WHEN %(clear)s AND step = 'link' THEN NULL ELSE short_link END
WHERE {_KEY} AND state = 'outcome_unknown'
RETURNING {ROW}"""
