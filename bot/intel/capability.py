"""The intel capability: indicator enrichment from threat-intel sources, as Vigil sees it."""

from bot.intel import cli, commands, settings
from bot.kernel.capability import Capability, DialogDeclaration

CAPABILITY = Capability(
    name="intel",
    commands=(commands.COMMANDS,),
    dialogs=(DialogDeclaration("enrich", "dialogs.enrich:EnrichDialog"),),
    cli=(cli.register,),
    settings=(settings,),
)
