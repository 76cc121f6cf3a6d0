"""The audit capability: the hash-chained log's chat commands and CLI, as Vigil sees it."""

from bot.audit import anchor_job, anchor_settings
from bot.audit import cli as audit_cli
from bot.audit import commands as audit_commands
from bot.kernel.capability import Capability

CAPABILITY = Capability(
    name="audit",
    commands=(audit_commands.COMMANDS,),
    jobs=(anchor_job.anchor_job,),
    cli=(audit_cli.register,),
    settings=(anchor_settings,),
)
