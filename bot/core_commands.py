"""The commands every Vigil has: help, ping, whoami."""

from __future__ import annotations

from typing import Any

import cards
from bot.commands import Command, CommandSet, Invocation, Param, Reply
from bot.rbac import Actor, Role

COMMANDS = CommandSet("general")

# Help lists commands under the role that unlocks them, in this order.
ROLE_ORDER: tuple[Role | None, ...] = (
    None,
    Role.ANALYST,
    Role.RESPONDER,
    Role.APPROVER,
    Role.COMMANDER,
    Role.ADMIN,
)


@COMMANDS.command(
    "help",
    summary="List the commands you can run, or show one command's usage",
    role=None,
    aliases=("?",),
    params=(Param("command", required=False),),
    examples=("help", "help check-ip"),
)
async def help_command(call: Invocation) -> Reply:
    registry = call.services.registry
    wanted = call.args.get("command")
    visible = registry.visible_to(call.actor)
    if wanted:
        command = registry.resolve(wanted)
        if command is None or command not in visible:
            return Reply(text=f"No command `{wanted[:40]}` you can run. Say `help` for the list.")
        visible = [command]
    return Reply(card=cards.render("help", help_data(visible, call.actor)))


def help_data(commands: list[Command], actor: Actor) -> dict[str, Any]:
    groups = []
    for role in ROLE_ORDER:
        members = [command for command in commands if command.role == role]
        if not members:
            continue
        groups.append(
            {
                "role": str(role) if role else "everyone",
                "commands": [
                    {
                        "name": command.name,
                        "usage": command.usage,
                        "summary": command.summary,
                        "mutating": command.mutating,
                    }
                    for command in sorted(members, key=lambda c: c.name)
                ],
            }
        )
    return {
        "user": actor.name,
        "roles": sorted(str(role) for role in actor.roles),
        "groups": groups,
    }


@COMMANDS.command("ping", summary="Check that Vigil is answering", role=Role.ANALYST)
async def ping(call: Invocation) -> Reply:
    return Reply(text="pong")


@COMMANDS.command("whoami", summary="Show your name, object id and roles", role=None)
async def whoami(call: Invocation) -> Reply:
    actor = call.actor
    return Reply(
        card=cards.render(
            "whoami",
            {
                "name": actor.name,
                "aadObjectId": actor.aad_object_id,
                "tenantId": actor.tenant_id,
                "roles": sorted(str(role) for role in actor.roles),
            },
        )
    )


def welcome_card(member_name: str | None, conversation_kind: str | None) -> dict[str, Any]:
    return cards.render(
        "welcome",
        {"name": member_name or "", "scope": conversation_kind or "personal"},
    )
