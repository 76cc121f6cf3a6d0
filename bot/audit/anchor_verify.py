"""Check the stored chain against published anchors: each anchored record must still be there,
unchanged. What the chain alone cannot show (its newest records, or all of them, deleted), an
anchor published before the deletion does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.audit.anchor import Anchor, iso
from bot.store import Store

# Kinds of finding, most serious first; `vigil audit verify --anchors` exits with their code.
TRUNCATED = "truncated"  # records after an anchor deleted, perhaps all of them
CHANGED = "changed"  # the anchored record is there with another hash, or missing inside the chain
FOREIGN = "foreign"  # the anchor's HMAC is not this audit key's: not published by this Vigil
SHOWN = 20


@dataclass(frozen=True)
class Finding:
    anchor: Anchor
    kind: str
    detail: str


@dataclass(frozen=True)
class AnchorReport:
    checked: int
    newest: int  # the highest anchored seq
    head_seq: int  # 0 when the log is empty
    findings: tuple[Finding, ...]

    @property
    def consistent(self) -> bool:
        return not self.findings

    def kinds(self) -> set[str]:
        return {finding.kind for finding in self.findings}

    def lines(self) -> list[str]:
        if self.consistent:
            return [
                f"anchors: {self.checked} checked, all consistent"
                f" (newest anchored seq {self.newest}, head now seq {self.head_seq})"
            ]
        shown = [f"anchors: {finding.detail}" for finding in self.findings[:SHOWN]]
        if len(self.findings) > SHOWN:
            shown.append(f"anchors: ... and {len(self.findings) - SHOWN} more findings")
        return shown


async def check_anchors(store: Store, key: bytes, anchors: Sequence[Anchor]) -> AnchorReport:
    """Compare every anchor with the stored record at its seq. Anchors beyond the head make one
    finding, named after the newest of them (the most records shown missing)."""
    head_seq = int(await store.fetchval("SELECT COALESCE(MAX(seq), 0) FROM audit_log") or 0)
    findings = []
    beyond: Anchor | None = None
    for anchor in anchors:
        if not anchor.signed_by(key):
            findings.append(Finding(anchor, FOREIGN, _foreign(anchor)))
        elif anchor.seq > head_seq:
            beyond = anchor if beyond is None or anchor.seq > beyond.seq else beyond
        else:
            finding = await _compare(store, anchor, head_seq)
            if finding is not None:
                findings.append(finding)
    if beyond is not None:
        findings.insert(0, Finding(beyond, TRUNCATED, _truncated(beyond, head_seq)))
    newest = max((anchor.seq for anchor in anchors), default=0)
    return AnchorReport(len(anchors), newest, head_seq, tuple(findings))


async def _compare(store: Store, anchor: Anchor, head_seq: int) -> Finding | None:
    stored = await store.fetchval("SELECT hash FROM audit_log WHERE seq = ?", anchor.seq)
    if stored is None:
        detail = f"anchored record seq {anchor.seq} deleted (head now seq {head_seq})"
        return Finding(anchor, CHANGED, detail)
    if stored != anchor.hash:
        return Finding(anchor, CHANGED, f"anchored record seq {anchor.seq} changed (hash differs)")
    return None


def _truncated(anchor: Anchor, head_seq: int) -> str:
    when = f", anchored {iso(anchor.anchored_at)}" if anchor.anchored_at is not None else ""
    if head_seq == 0:
        return f"all records deleted (the log is empty; anchored seq {anchor.seq}{when})"
    return (
        f"records after anchor seq {anchor.seq} deleted"
        f" (head now seq {head_seq} < anchored seq {anchor.seq}{when})"
    )


def _foreign(anchor: Anchor) -> str:
    return f"anchor of seq {anchor.seq} is not signed by this audit key (forged, or another key)"
