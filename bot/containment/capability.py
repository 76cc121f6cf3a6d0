"""The containment capability: requests behind approvals, connectors and exactly-once
execution, as Vigil sees it."""

from bot.containment import execution_settings, recovery, settings
from bot.containment.approvals import commands as approval_commands
from bot.containment.approvals import expiry
from bot.containment.approvals import settings as approval_settings
from bot.containment.settings import ConnectorSettings
from bot.kernel.capability import Capability, DialogDeclaration

CAPABILITY = Capability(
    name="containment",
    commands=(approval_commands.COMMANDS,),
    dialogs=(DialogDeclaration("contain", "dialogs.contain:ContainDialog"),),
    jobs=(recovery.execution_job, expiry.expiry_job),
    settings=(execution_settings, approval_settings, settings),
    config_checks=(ConnectorSettings.load,),
)
