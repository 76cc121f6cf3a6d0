"""The text of Vigil's response policy zone: render it, and parse it back strictly.

The file is the only state (two processes may share it), so every write re-reads it. Each record
line carries the approval ids that asked for it, so a rollback removes exactly its own share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADER = (
    "; Vigil response policy zone (RPZ). Written by Vigil: a line it did not write stops it\n"
    "; from writing, so nothing is lost; remove blocks with Rollback on the approval card.\n"
)
_ORIGIN = re.compile(r"\$ORIGIN ([a-z0-9.-]+)\.")
_TTL = re.compile(r"\$TTL (\d{1,10})")
_SOA = re.compile(r"@ IN SOA (\S+) (\S+) (\d{1,10}) 3600 600 604800 (\d{1,10})")
_NS = re.compile(r"@ IN NS (\S+)")
_RECORD = re.compile(r"((?:\*\.)?[a-z0-9.-]{1,253}) CNAME \. ; ((?:[A-Za-z0-9:-]{1,80} ?)+)")
APPROVAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:-]{0,79}")
MAX_SERIAL = 2**32 - 1


class ZoneCorrupt(ValueError):
    """The file holds something Vigil did not write; the message names the line."""


@dataclass
class Zone:
    origin: str
    ttl: int = 300
    serial: int = 0
    ns: str = "localhost."
    # owner name (relative) -> approval ids, in the order they asked
    records: dict[str, list[str]] = field(default_factory=dict)

    def add(self, owner: str, approval_id: str) -> None:
        ids = self.records.setdefault(owner, [])
        if approval_id not in ids:
            ids.append(approval_id)

    def remove(self, approval_id: str) -> list[str]:
        """Drop this approval's share of every record; the owners that no longer block."""
        gone = []
        for owner in list(self.records):
            ids = self.records[owner]
            if approval_id in ids:
                ids.remove(approval_id)
                if not ids:
                    del self.records[owner]
                    gone.append(owner)
        return gone

    def owners_of(self, approval_id: str) -> list[str]:
        mine = [owner for owner, ids in self.records.items() if approval_id in ids]
        return sorted(mine, key=lambda owner: (owner.startswith("*."), owner))

    def bump(self, now: int) -> None:
        """A serial greater than the last one: epoch seconds, or last + 1 within one second."""
        self.serial = max(self.serial + 1, now) % (MAX_SERIAL + 1) or 1

    def render(self) -> str:
        lines = [
            HEADER.rstrip("\n"),
            f"$ORIGIN {self.origin}.",
            f"$TTL {self.ttl}",
            f"@ IN SOA {self.ns} hostmaster.{self.origin}. {self.serial} 3600 600 604800 "
            f"{self.ttl}",
            f"@ IN NS {self.ns}",
        ]
        for owner in sorted(self.records, key=_sort_key):
            lines.append(f"{owner} CNAME . ; {' '.join(self.records[owner])}")
        return "\n".join(lines) + "\n"


def _sort_key(owner: str) -> tuple[str, str]:
    # Group a name with its wildcard, so the file reads name by name.
    return (owner.removeprefix("*."), owner)


def parse(text: str, origin: str) -> Zone:
    """The zone in `text`, or ZoneCorrupt naming the first line Vigil did not write."""
    zone = Zone(origin)
    seen_soa = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if match := _ORIGIN.fullmatch(stripped):
            if match.group(1) != origin:
                raise ZoneCorrupt(f"line {number}: zone {match.group(1)}, expected {origin}")
        elif match := _TTL.fullmatch(stripped):
            zone.ttl = int(match.group(1))
        elif match := _SOA.fullmatch(stripped):
            zone.ns, zone.serial, seen_soa = match.group(1), int(match.group(3)), True
        elif _NS.fullmatch(stripped):
            continue
        elif match := _RECORD.fullmatch(stripped):
            for approval_id in match.group(2).split():
                zone.add(match.group(1), approval_id)
        else:
            raise ZoneCorrupt(f"line {number} was not written by Vigil: {stripped[:80]!r}")
    if text.strip() and not seen_soa:
        raise ZoneCorrupt("no SOA record")
    return zone
