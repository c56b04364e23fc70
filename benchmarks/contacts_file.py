"""Write N synthetic contacts as JSON Lines or CSV (for `openrespond contacts import`).

python benchmarks/contacts_file.py 1000000 contacts.jsonl
"""

from __future__ import annotations

import csv
import json
import sys

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Radia", "Tim", "Margaret"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Perlman"]


def contact(i: int) -> dict[str, object]:
    row: dict[str, object] = {
        "firstName": FIRST[i % len(FIRST)],
        "lastName": LAST[i % len(LAST)],
        "email": f"user{i}@example.com",
        # +1 202 555 01xx-style numbers are not all valid; these +44 7700 9xxxxx are.
        "phone": f"+4477009{i % 100000:05d}" if i < 100000 else f"+6012{i:07d}",
        "language": "en",
    }
    if i % 3 == 0:
        row["tags"] = ["vip"] if i % 2 else ["lead", "newsletter"]
    return row


def main() -> None:
    count, path = int(sys.argv[1]), sys.argv[2]
    with open(path, "w", encoding="utf-8", newline="") as f:
        if path.endswith(".csv"):
            w = csv.writer(f)
            w.writerow(["firstName", "lastName", "email", "phone", "language", "tags"])
            for i in range(count):
                c = contact(i)
                w.writerow(
                    [
                        c["firstName"],
                        c["lastName"],
                        c["email"],
                        c["phone"],
                        c["language"],
                        json.dumps(c.get("tags", [])),
                    ]
                )
        else:
            for i in range(count):
                f.write(json.dumps(contact(i)) + "\n")


if __name__ == "__main__":
    main()
