"""The summaries capability: executive summaries and their cadence, as Vigil sees it."""

from bot.kernel.capability import Capability, DialogDeclaration
from bot.rbac import Role
from bot.summaries import cadence_settings, commands, reminder_buttons, reminders, settings
from bot.summaries.commands import DIALOG_ID

CAPABILITY = Capability(
    name="summaries",
    commands=(commands.COMMANDS, reminder_buttons.COMMANDS),
    dialogs=(DialogDeclaration(DIALOG_ID, "dialogs.exec_summary:ExecSummaryDialog", Role.ANALYST),),
    jobs=(reminders.cadence_job,),
    settings=(cadence_settings, settings),
)
