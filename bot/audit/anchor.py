"""An anchor: the audit chain's head (seq, hash, HMAC, time) as published outside the database.

The chain shows an edit, a deletion inside it or a reordering, but not that its newest records,
or all of them, were deleted: what is left is still a good chain. A head published where the
database's writers cannot reach (an append-only file, a Teams channel, an HTTPS endpoint) shows
it: the anchored record must still be there, unchanged. `anchor_verify` checks that.

An anchor is one JSON line, or, where only text survives (a Teams channel export), its token
`vigil-audit-anchor seq=N hash=H mac=M`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from bot.audit.log import record_hash, record_mac, tail
from bot.store import Store

KIND = "vigil-audit-anchor"
TOKEN = re.compile(rf"{KIND} seq=(\d{{1,18}}) hash=([0-9a-f]{{64}}) mac=([0-9a-f]{{64}})")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AnchorRefused(Exception):
    """The head does not verify under the audit key: anchoring it would vouch for a forgery."""


class NothingToAnchor(AnchorRefused):
    """The audit log is empty."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    mac: str
    time: float | None = None  # the head record's time; a token does not carry it
    anchored_at: float | None = None

    def token(self) -> str:
        return f"{KIND} seq={self.seq} hash={self.hash} mac={self.mac}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "seq": self.seq,
            "hash": self.hash,
            "mac": self.mac,
            "time": iso(self.time),
            "anchored_at": iso(self.anchored_at),
        }

    def line(self) -> str:
        """The JSON line an anchor file holds."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True) + "\n"

    def signed_by(self, key: bytes) -> bool:
        """True when the HMAC is this audit key's: the anchor came from this Vigil."""
        return hmac.compare_digest(record_mac(key, self.hash), self.mac)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="microseconds")


async def current_anchor(store: Store, key: bytes, now: float) -> Anchor:
    """The stored head as an anchor, after checking the head record's own hash and HMAC, so an
    anchor never vouches for a record written without the key."""
    newest = await tail(store, 1)
    if not newest:
        raise NothingToAnchor("the audit log is empty: there is no head to anchor")
    head = newest[0]
    if record_hash(asdict(head)) != head.hash or not hmac.compare_digest(
        record_mac(key, head.hash), head.mac
    ):
        raise AnchorRefused(
            f"the head record {head.seq} does not verify (run `vigil audit verify`); not anchored"
        )
    return Anchor(head.seq, head.hash, head.mac, head.time, now)


def read_anchors(text: str) -> list[Anchor]:
    """Anchors in an anchor file (JSON lines) or in any export holding their tokens (a Teams
    channel's messages as JSON or text), each once, in seq order."""
    found: dict[tuple[int, str], Anchor] = {}
    for line in text.splitlines():
        anchor = _from_json_line(line)
        if anchor is not None:
            found.setdefault((anchor.seq, anchor.hash), anchor)
    for match in TOKEN.finditer(text):
        anchor = Anchor(int(match[1]), match[2], match[3])
        found.setdefault((anchor.seq, anchor.hash), anchor)
    return sorted(found.values(), key=lambda anchor: (anchor.seq, anchor.anchored_at or 0.0))


def _from_json_line(line: str) -> Anchor | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if not isinstance(item, dict) or item.get("kind") != KIND:
        return None
    seq, digest, mac = item.get("seq"), item.get("hash"), item.get("mac")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return None
    if not all(isinstance(v, str) and _HEX64.fullmatch(v) for v in (digest, mac)):
        return None
    return Anchor(seq, digest, mac, _epoch(item.get("time")), _epoch(item.get("anchored_at")))


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else None
