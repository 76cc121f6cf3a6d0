"""The commands every Vigil has: help, ping, whoami."""

from __future__ import annotations

from typing import Any

import cards
from bot.kernel.capability import Capability
from bot.kernel.commands import ActionCall, Command, CommandSet, Invocation, Param, Reply
from bot.kernel.rbac import Actor, Role

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
        members = sorted((c for c in commands if c.role == role), key=lambda c: c.name)
        if members:
            groups.append(
                {
                    "role": str(role).capitalize() if role else "Everyone",
                    "commands": [
                        {"usage": command.usage, "description": _describe(command, len(commands))}
                        for command in members
                    ],
                }
            )
    return {
        "botName": "Vigil",
        "intro": f"Commands you can run, {actor.name}, grouped by the role that allows them. "
        "Mention me in a channel or message me directly.",
        "roles": groups,
        "footer": "Type help <command> for its usage and examples.",
    }


def _describe(command: Command, shown: int) -> str:
    # Asked about one command: say everything about it; in the full list, one line each.
    if shown > 1 or not command.examples:
        return command.summary
    return f"{command.summary}. Examples: " + "; ".join(command.examples)


@COMMANDS.action("help.show", role=None, mutating=False)
async def help_button(call: ActionCall) -> Reply:
    commands = call.services.registry.visible_to(call.actor)
    return Reply(card=cards.render("help", help_data(commands, call.actor)))


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
                "roles": sorted(str(role) for role in actor.roles) or ["none"],
                "note": "Roles come from Vigil's configuration of Entra ID users and groups.",
            },
        )
    )


WELCOME_COMMANDS = (
    ("help", "The commands you can run"),
    ("check <indicator or pasted text>", "Reputation of IPs, domains, URLs and hashes"),
    ("create-incident", "Open an incident and its channel"),
    ("whoami", "Your roles in Vigil"),
)


def welcome_card(member_name: str | None, conversation_kind: str | None) -> dict[str, Any]:
    where = "this team" if conversation_kind == "channel" else "this chat"
    return cards.render(
        "welcome",
        {
            "botName": "Vigil",
            "userName": member_name or "",
            "intro": f"I'm Vigil, the SOC's assistant in {where}. I enrich indicators, open "
            "incidents, route alerts and ask approvers before any containment action. "
            "Everything I do is recorded in a tamper-evident audit log.",
            "commands": [{"usage": u, "description": d} for u, d in WELCOME_COMMANDS],
        },
    )


CAPABILITY = Capability(name="general", commands=(COMMANDS,))
