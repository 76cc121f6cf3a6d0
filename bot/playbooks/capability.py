"""The playbooks capability: SOAR runs started from chat and followed step by step."""

from bot.kernel.capability import Capability, Route
from bot.playbooks import commands, settings
from bot.playbooks.config import Playbooks
from bot.playbooks.ingest import events_webhook
from bot.playbooks.settings import EVENTS_PATH

CAPABILITY = Capability(
    name="playbooks",
    commands=(commands.COMMANDS,),
    routes=(Route("POST", EVENTS_PATH, events_webhook),),
    settings=(settings,),
    config_checks=(Playbooks.load,),
)
