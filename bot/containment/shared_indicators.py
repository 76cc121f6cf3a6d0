"""Defender for Endpoint keeps one indicator per value: its submit is "submit or update", so
every approval that blocks the same value shares that one indicator. Like the RPZ file's
per-record approval ids, each approval holds a share, kept here in the store:

- a submit's `expirationTime` is the latest lapse time of the approvals still standing on that
  value and its own (none when any of them has no expiry), so a later block never shortens one;
- a rollback or lapse deletes the indicator only when no other approval still stands on it.

The rollback claim (`rollback_state` executing, a compare-and-set) is written before the other
approvals are read, so of two concurrent rollbacks of the last two shares at least one sees the
other claimed and deletes: at worst both delete (the second DELETE answers 404, already gone),
never both keep.
"""

from __future__ import annotations

from bot.containment.approvals import records
from bot.containment.approvals.records import Approval
from bot.containment.connector import Action, ConnectorError, Outcome, Provenance, Result
from bot.containment.mde_shapes import indicator_of
from bot.store import Store

# Connectors whose blocks of one value are one object on their side, shared by every approval.
SHARED_BY_VALUE = frozenset({"mde"})


def indicator_key(approval: Approval) -> tuple[str, str] | None:
    """(indicatorType, value) as Defender gets it: case, a trailing dot, IPv6 forms folded."""
    action = Action(approval.action)
    if not action.is_block:
        return None
    try:
        return indicator_of(action, approval.target)
    except ConnectorError:
        return None


async def sharers(store: Store, approval: Approval, connector: str) -> list[Approval]:
    """The other approvals whose block of the same indicator still stands; oldest first."""
    if connector not in SHARED_BY_VALUE:
        return []
    key = indicator_key(approval)
    if key is None:
        return []
    standing = await records.standing_blocks(store, approval.action, connector)
    return [other for other in standing if other.id != approval.id and indicator_key(other) == key]


def shared_expiry(own: float | None, others: list[Approval]) -> float | None:
    """The latest lapse time among `others` and this one; None when any of them never lapses."""
    times = [own, *(other.lapse_at for other in others)]
    if any(when is None for when in times):
        return None
    return max(when for when in times if when is not None)


def kept(approval: Approval, others: list[Approval], connector: str) -> Result:
    """This approval's share is given up; the indicator stays for the approvals still on it."""
    kind, value = indicator_key(approval) or ("indicator", approval.target)
    names = ", ".join(other.id for other in others[:3])
    if len(others) > 3:
        names += f" and {len(others) - 3} more"
    verb = "blocks" if len(others) == 1 else "block"
    which = f" {approval.external_id}" if approval.external_id else ""
    detail = (
        f"indicator{which} ({kind} {value}) stays in Defender because {names} still {verb} it;"
        " not deleted"
    )
    return Result(
        Outcome.SUCCEEDED,
        detail,
        external_id=approval.external_id,
        provenance=Provenance(connector=connector),
    )
