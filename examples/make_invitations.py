"""Write a sandbox invitation CSV: ``python examples/make_invitations.py N > file.csv``.

Rows spread over the sandbox network (practice groups 1001-1005); a few go to 2001, which is
outside the network, and a few are wrong on purpose (bad NHS number, bad phone, a template
without {link}, a patient who must verify their identity, one PDS cannot find) so the report
shows every outcome. Deterministic for a given N and --seed.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys

from hero_async.testing import (
    SANDBOX_IDENTITY_CHECK_NHS,
    SANDBOX_NETWORK_GROUP_IDS,
    SANDBOX_NOT_FOUND_NHS,
    SANDBOX_OUTSIDE_GROUP_ID,
)

COLUMNS = [
    "key",
    "practice_group_id",
    "nhs_number",
    "dob",
    "appointment_type_id",
    "location_id",
    "expiry_date",
    "maximum_use_count",
    "message_type",
    "message_template",
    "recipient_contact_detail",
]
TEMPLATE = "Your practice invites you to book your flu jab: {link}"


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(0 if check == 11 else check)


def rows(n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        group = SANDBOX_NETWORK_GROUP_IDS[i % len(SANDBOX_NETWORK_GROUP_IDS)]
        out.append(
            {
                "key": f"flu-2026/{i:06d}",
                "practice_group_id": group,
                "nhs_number": nhs_number(rng),
                "dob": f"{rng.randrange(1940, 2005)}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
                "appointment_type_id": "10",
                "location_id": rng.choice(["20", "21"]),
                "expiry_date": "2027-01-31",
                "maximum_use_count": "1",
                "message_type": "sms",
                "message_template": TEMPLATE,
                "recipient_contact_detail": "",
            }
        )
    for i, row in enumerate(out[: max(n // 25, 1)]):  # a practice outside the network
        if i % 2 == 0:
            row["practice_group_id"] = SANDBOX_OUTSIDE_GROUP_ID
    specials = [
        ("nhs_number", "9434765918"),  # wrong check digit
        ("nhs_number", SANDBOX_IDENTITY_CHECK_NHS),
        ("nhs_number", SANDBOX_NOT_FOUND_NHS),
        ("recipient_contact_detail", "0800 123"),  # not a mobile number
        ("message_template", "Please book soon"),  # no {link}
        ("dob", "2099-01-01"),  # in the future
    ]
    for (field, value), row in zip(specials, out[-len(specials) :], strict=False):
        row[field] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rows", type=int, nargs="?", default=300)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(args.rows, args.seed))


if __name__ == "__main__":
    main()
