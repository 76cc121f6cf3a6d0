"""The Teams side of a running Vigil: the adapter, the activity handler and the dialogs, built
over the kernel's ports, and the one call `/api/messages` makes for each activity."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from botbuilder.core import PrivateConversationState
from botbuilder.dialogs import Dialog, DialogSet
from botbuilder.schema import Activity

from bot.entra.tokens import BotTokenProvider
from bot.kernel import core_commands
from bot.kernel.capability import Capability
from bot.kernel.pipeline import Pipeline
from bot.kernel.services import Services
from bot.kernel.settings import ServiceSettings
from bot.kernel.storable import Unstorable, storable_data
from bot.teams.activity_check import activity_problem, unhandled_invoke
from bot.teams.adapter import AuthenticationFailed, VigilAdapter
from bot.teams.connector import BotConnector
from bot.teams.dialog_state import StoreStorage
from bot.teams.handler import VigilTeamsHandler, on_turn_error
from bot.teams.messenger import TeamsMessenger

__all__ = ["AuthenticationFailed", "BadActivity", "TeamsEndpoint", "build_teams_endpoint"]

log = logging.getLogger(__name__)
# What a 501 logs of the invoke's name: enough to recognise it, never a flood of untrusted text.
NAME_IN_LOG = 80


class BadActivity(ValueError):
    """The body is not a Bot Framework activity; answered with 400."""


# Identifiers Vigil stores or keys by: refused rather than changed (bot/kernel/storable.py).
ACTIVITY_IDS = (
    "id",
    "replyToId",
    "channelId",
    "serviceUrl",
    "from.id",
    "from.aadObjectId",
    "recipient.id",
    "conversation.id",
    "conversation.tenantId",
    "channelData.tenant.id",
    "channelData.team.id",
    "channelData.team.aadGroupId",
    "channelData.channel.id",
)


@dataclass
class TeamsEndpoint:
    adapter: VigilAdapter
    handler: VigilTeamsHandler

    async def authenticate(self, body: dict[str, Any], auth_header: str) -> tuple[Any, Activity]:
        """The validated token and the activity; BadActivity or AuthenticationFailed if not.

        The token covers only the channel and the service URL, so it is checked first, and the
        shape Vigil needs after it: an unauthenticated sender learns nothing but 401."""
        if not isinstance(body.get("type"), str):
            raise BadActivity("body is not a Bot Framework activity")
        addressed = Activity(
            channel_id=_string_or_none(body.get("channelId")),
            service_url=_string_or_none(body.get("serviceUrl")),
        )
        auth = await self.adapter.authenticate(addressed, auth_header)
        problem = activity_problem(body)
        if problem:
            raise BadActivity(problem)
        try:
            # Text made storable here, once, before anything of the activity is stored.
            body = storable_data(body, ACTIVITY_IDS)
        except Unstorable as exc:
            raise BadActivity(str(exc)) from None
        try:
            activity = Activity().deserialize(body)
        except Exception:
            raise BadActivity(f"{_unreadable_field(body)} has the wrong shape") from None
        return auth, activity

    async def process(self, auth: Any, activity: Activity) -> tuple[int, Any] | None:
        """Run one turn; the invoke response's status and body, or None for a plain 200."""
        if unhandled_invoke(activity.type, activity.name):
            # The SDK's own dispatch would deserialize `value` for some names and raise on a
            # malformed one; Vigil implements none of them, so answer as the protocol says.
            log.info("invoke %r not implemented (501)", (activity.name or "")[:NAME_IN_LOG])
            return 501, None
        invoke = await self.adapter.process_activity(auth, activity, self.handler.on_turn)
        return None if invoke is None else (invoke.status, invoke.body)


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _unreadable_field(body: dict[str, Any]) -> str:
    """The first field msrest cannot read on its own (a date that is no date, a list of
    numbers for `entities`...), to name it in the 400; only called when reading failed."""
    for description in Activity._attribute_map.values():
        key = description["key"]
        if key in body:
            try:
                Activity().deserialize({"type": body["type"], key: body[key]})
            except Exception:
                return key
    return "the body"


def build_teams_endpoint(
    settings: ServiceSettings,
    services: Services,
    tokens: BotTokenProvider,
    capabilities: tuple[Capability, ...],
) -> TeamsEndpoint:
    """The adapter and handler over built ports, with every declared dialog; sets the
    Messenger (the one way out) on the services."""
    messenger = TeamsMessenger(
        BotConnector(services.http, tokens), services.store, services.redactor
    )
    services.messenger = messenger
    adapter = VigilAdapter(settings, tokens, messenger)
    adapter.on_turn_error = on_turn_error
    dialog_state = PrivateConversationState(StoreStorage(services.store))
    dialogs = DialogSet(dialog_state.create_property("dialogs"))
    for dialog in declared_dialogs(services, capabilities):
        dialogs.add(dialog)
    filters = [check for capability in capabilities for check in capability.filters]
    handler = VigilTeamsHandler(
        services,
        Pipeline(services, filters),
        dialog_state,
        dialogs,
        core_commands.welcome_card,
        messenger,
    )
    return TeamsEndpoint(adapter, handler)


def declared_dialogs(services: Services, capabilities: tuple[Capability, ...]) -> list[Dialog]:
    """Each declared dialog, built from its import path (capabilities never import dialogs/)."""
    built = []
    for capability in capabilities:
        for declared in capability.dialogs:
            module, _, name = declared.factory.partition(":")
            built.append(getattr(importlib.import_module(module), name)(services))
    return built
