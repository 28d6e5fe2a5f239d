"""Write the sandbox example CSVs: ``python examples/make_invitations.py [N]``.

* ``examples/invitations.csv``: N clean rows spread over the sandbox network (practice groups
  1001-1005); every one is sent, so the quickstart exits 0.
* ``examples/invitations-with-problems.csv``: the same kind of job written the way Excel
  writes a practice's export (BOM, CRLF, "NHS Number"/"Date of birth" headers, DD/MM/YYYY
  dates, extra "First name"/"Surname"/"Postcode" columns, trailing ",,,," rows), where a few
  rows are wrong on purpose: a practice outside the network, a bad NHS number, a bad phone,
  a template without {link}, a future and an impossible date of birth, a patient who must
  verify their identity, one PDS cannot find. Its run exits 1 and the report shows every kind.

``--stdout`` prints the clean file instead. Deterministic for a given N and --seed.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

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
HERE = Path(__file__).resolve().parent
# The problems file's header, as a practice's spreadsheet names its columns.
EXCEL_NAMES = {"nhs_number": "NHS Number", "dob": "Date of birth", "key": "Key"}
EXTRA = ["First name", "Surname", "Postcode"]


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(0 if check == 11 else check)


def rows(n: int, seed: int) -> list[dict[str, str]]:
    """N clean rows: every one is sent by the sandbox."""
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
    return out


def problem_rows(n: int, seed: int) -> list[dict[str, str]]:
    out = rows(n, seed)
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
        ("dob", "31/02/1980"),  # no such day
    ]
    for (field, value), row in zip(specials, out[-len(specials) :], strict=False):
        row[field] = value
    return out


def write_excel_like(path: Path, data: list[dict[str, str]]) -> None:
    """UTF-8 with BOM, CRLF, spreadsheet headers, DD/MM/YYYY dates, blank rows at the end."""
    header = [EXCEL_NAMES.get(name, name) for name in COLUMNS] + EXTRA
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for n, row in enumerate(data):
            cells = [_uk_date(row[name]) if name == "dob" else row[name] for name in COLUMNS]
            writer.writerow([*cells, "Test", f"Patient{n}", "LS1 4AP"])
        writer.writerows([[""] * len(header)] * 3)  # Excel's trailing ",,,," rows


def _uk_date(iso: str) -> str:
    parts = iso.split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else iso


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rows", type=int, nargs="?", default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--stdout", action="store_true", help="print the clean file only")
    args = parser.parse_args()
    if args.stdout:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows(args.rows, args.seed))
        return
    with open(HERE / "invitations.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows(args.rows, args.seed))
    write_excel_like(HERE / "invitations-with-problems.csv", problem_rows(args.rows, args.seed))


if __name__ == "__main__":
    main()
