"""Every capability of this Vigil, in the order help lists them: the one list app.py, the CLI and
`vigil config check` read. A new capability is added here and nowhere else."""

from bot.alerts import capability as alerts
from bot.audit import capability as audit_capability
from bot.containment import capability as containment
from bot.incidents import capability as incidents
from bot.intel import capability as intel
from bot.kernel import core_commands
from bot.kernel.capability import Capability
from bot.playbooks import capability as playbooks
from bot.summaries import capability as summaries

CAPABILITIES: tuple[Capability, ...] = (
    core_commands.CAPABILITY,
    audit_capability.CAPABILITY,
    intel.CAPABILITY,
    incidents.CAPABILITY,
    alerts.CAPABILITY,
    containment.CAPABILITY,
    summaries.CAPABILITY,
    playbooks.CAPABILITY,
)
