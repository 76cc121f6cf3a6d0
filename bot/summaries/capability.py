"""The summaries capability: executive summaries and their cadence, as Vigil sees it."""

from bot.incidents.events import IncidentClosed
from bot.kernel.capability import Capability, DialogDeclaration
from bot.kernel.hooks import Subscription
from bot.summaries import cadence_settings, commands, reminder_buttons, reminders, settings
from bot.summaries.commands import DIALOG_ID
from bot.summaries.guard import exec_channel_filter

CAPABILITY = Capability(
    name="summaries",
    commands=(commands.COMMANDS, reminder_buttons.COMMANDS),
    dialogs=(DialogDeclaration(DIALOG_ID, "dialogs.exec_summary:ExecSummaryDialog"),),
    jobs=(reminders.cadence_job,),
    filters=(exec_channel_filter,),
    hooks=(Subscription(IncidentClosed, reminders.on_incident_closed),),
    settings=(cadence_settings, settings),
)
