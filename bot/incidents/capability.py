"""The incidents capability: records, channels, timelines and exports, as Vigil sees it."""

from bot.entra import graph
from bot.incidents import channel, cli, commands, settings
from bot.kernel.capability import Capability, DialogDeclaration

CAPABILITY = Capability(
    name="incidents",
    commands=(commands.COMMANDS,),
    dialogs=(DialogDeclaration("incident", "dialogs.incident:IncidentDialog"),),
    jobs=(channel.channel_job,),
    cli=(cli.register,),
    settings=(settings, graph),
)
