"""The alerts capability: SIEM/EDR webhooks routed into channels as cards, as Vigil sees it."""

from bot.alerts import cli, commands, delivery, settings
from bot.alerts.ingest import alert_webhook
from bot.alerts.routing import Routes
from bot.kernel.capability import Capability, Route

CAPABILITY = Capability(
    name="alerts",
    commands=(commands.COMMANDS,),
    jobs=(delivery.delivery_job,),
    routes=(Route("POST", "/api/alerts/{source}", alert_webhook),),
    cli=(cli.register,),
    settings=(settings,),
    config_checks=(Routes.load,),
)
