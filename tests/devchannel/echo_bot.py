"""A tiny botbuilder bot for the channel tests: stock CloudAdapter with real auth, pointed at
the local channel through ConfigurationBotFrameworkAuthentication.

It also shows what outbound calls need (see the report): MSAL with instance discovery off and a
requests session that trusts the channel's CA.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import msal
import requests
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    Attachment,
)
from botframework.connector.auth import AppCredentials, ServiceClientCredentialsFactory

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


class _MsalCredentials(AppCredentials):
    """Bearer credentials backed by one shared MSAL client (its token cache survives turns)."""

    def __init__(self, app: msal.ConfidentialClientApplication, app_id: str, scope: str) -> None:
        super().__init__(app_id=app_id, oauth_scope=scope)
        self._app = app

    def get_access_token(self, force_refresh: bool = False) -> str:
        scope = (
            self.oauth_scope
            if self.oauth_scope.endswith("/.default")
            else self.oauth_scope + "/.default"
        )
        result = self._app.acquire_token_for_client(scopes=[scope])
        if "access_token" not in result:
            raise PermissionError(f"token request failed: {result.get('error')}")
        return result["access_token"]


class LocalCredentialFactory(ServiceClientCredentialsFactory):
    """Password credentials against a private authority: no instance discovery, own CA."""

    def __init__(self, app_id: str, password: str, ca_file: str) -> None:
        self._app_id = app_id
        self._password = password
        self._ca_file = ca_file
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self._app_id

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        if app_id != self._app_id:
            raise PermissionError("invalid app id")
        with self._lock:
            app = self._apps.get(login_endpoint)
            if app is None:
                session = requests.Session()
                # trust_env off: REQUESTS_CA_BUNDLE would otherwise override `verify`.
                session.trust_env = False
                session.verify = self._ca_file
                app = msal.ConfidentialClientApplication(
                    self._app_id,
                    client_credential=self._password,
                    authority=login_endpoint,
                    validate_authority=False,
                    instance_discovery=False,
                    http_client=session,
                )
                self._apps[login_endpoint] = app
        return _MsalCredentials(app, app_id, oauth_scope)


@dataclass
class BotConfig:
    """The configuration attributes ConfigurationBotFrameworkAuthentication reads."""

    APP_ID: str
    APP_PASSWORD: str
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str = "https://api.botframework.com"
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


def card(title: str, *, state: str = "open") -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder"},
            {"type": "FactSet", "facts": [{"title": "State", "value": state}]},
            {"type": "Input.Text", "id": "reason", "label": "Reason"},
        ],
        "actions": [
            {"type": "Action.Execute", "title": "Approve", "verb": "approve", "data": {"n": 1}},
            {"type": "Action.Submit", "title": "Note", "data": {"note": True}},
            {"type": "Action.OpenUrl", "title": "Docs", "url": "https://example.invalid/docs"},
        ],
    }


class EchoBot(ActivityHandler):
    """Echoes text; `card` sends a card; Approve updates it; a submit is echoed as JSON."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.value is not None:
            await turn_context.send_activity(
                f"submitted {json.dumps(activity.value, sort_keys=True)}"
            )
            return
        text = (TurnContext.remove_recipient_mention(activity) or "").strip()
        if text == "card":
            attachment = Attachment(content_type=CARD_TYPE, content=card("Request 1"))
            await turn_context.send_activity(MessageFactory.attachment(attachment))
        elif text == "members":
            members = await TeamsInfo.get_members(turn_context)
            await turn_context.send_activity("members " + ", ".join(m.name for m in members))
        elif text == "refresh":
            stale = dict(
                card("stale"), refresh={"action": {"type": "Action.Execute", "verb": "refresh"}}
            )
            attachment = Attachment(content_type=CARD_TYPE, content=stale)
            await turn_context.send_activity(MessageFactory.attachment(attachment))
        elif text == "delete":
            sent = await turn_context.send_activity("short-lived")
            await turn_context.delete_activity(sent.id)
        else:
            await turn_context.send_activity(f"echo: {text}")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        # botbuilder 4.17.1: ActivityHandler serializes the adaptive card invoke response to a
        # dict and CloudAdapter serializes it again, which raises; return the model unserialized.
        if turn_context.activity.name == "adaptiveCard/action":
            value = AdaptiveCardInvokeValue().deserialize(turn_context.activity.value)
            response = await self.on_adaptive_card_invoke(turn_context, value)
            return InvokeResponse(status=200, body=response)
        return await super().on_invoke_activity(turn_context)

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        name = turn_context.activity.from_property.name
        action = turn_context.activity.value["action"]
        if action["verb"] == "refresh":
            fresh = card(f"fresh for {name}")
            return AdaptiveCardInvokeResponse(status_code=200, type=CARD_TYPE, value=fresh)
        reason = (action.get("data") or {}).get("reason", "")
        updated = card("Request 1", state=f"approved by {name} ({reason})")
        await turn_context.update_activity(
            Activity(
                id=turn_context.activity.reply_to_id,
                type=ActivityTypes.message,
                attachments=[Attachment(content_type=CARD_TYPE, content=updated)],
            )
        )
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD_TYPE, value=updated)

    async def on_members_added_activity(self, members_added, turn_context: TurnContext) -> None:
        await turn_context.send_activity("welcome")


def build_app(config: BotConfig, ca_file: str) -> web.Application:
    auth = ConfigurationBotFrameworkAuthentication(
        config,
        credentials_factory=LocalCredentialFactory(config.APP_ID, config.APP_PASSWORD, ca_file),
    )
    adapter = CloudAdapter(auth)
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app
