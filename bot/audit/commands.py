"""The `audit [N]` chat command: the last records of the audit log, for admins."""

from __future__ import annotations

import cards
from bot.kernel import timefmt
from bot.kernel.commands import CommandSet, Invocation, Param, Reply, UsageError
from bot.kernel.rbac import Role

COMMANDS = CommandSet("audit")
MAX_SHOWN = 50


@COMMANDS.command(
    "audit",
    summary="Show the last N audit records and whether the chain is intact",
    role=Role.ADMIN,
    params=(Param("count", required=False),),
    examples=("audit", "audit 20"),
)
async def audit_command(call: Invocation) -> Reply:
    raw = call.args.get("count") or "10"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SHOWN:
        raise UsageError(f"count must be a number from 1 to {MAX_SHOWN}")
    log = await call.services.audit.log()
    verified = await log.verify()
    records = await log.tail(int(raw))
    data = {
        "title": f"Audit log: last {len(records)} records",
        "chainStatus": verified.summary(),
        "entries": [
            {
                "at": timefmt.date_time(record.time, seconds=True, label=False),
                "actor": record.actor_name or record.actor_id,
                "action": record.action,
                "target": record.target,
                "outcome": record.result,
            }
            for record in reversed(records)
        ],
    }
    return Reply(card=cards.render("audit_list", data), audit_target=raw)
