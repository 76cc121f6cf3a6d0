"""The audit capability: the hash-chained log's chat commands and CLI, as Vigil sees it."""

from bot import audit_cli, audit_commands
from bot.kernel.capability import Capability

CAPABILITY = Capability(
    name="audit",
    commands=(audit_commands.COMMANDS,),
    cli=(audit_cli.register,),
)
