"""Baselines for bench/messages.py: a bare botbuilder echo bot, stock or tuned.

Stock in every way that matters to the comparison (ConfigurationBotFrameworkAuthentication, the
stock credential factory with its MSAL client per turn, msrest connector clients), with one
exception: MSAL would first ask login.microsoftonline.com to validate the local authority, which
this machine cannot reach, so 127.0.0.1 is added to MSAL's list of known hosts.

`--tuned` applies the two fixes shared/FACTS.md measured, and nothing else: one MSAL client per
(app id, authority), so its token cache survives turns, and msrest's retry list built from a
frozenset (as bot/teams/adapter.py does), so the two msrest clients of each turn cost ~1k set
lookups instead of ~500k list comparisons. It is the bar Vigil's own turns are measured against.
"""

from __future__ import annotations

import argparse
import os
import threading
from types import SimpleNamespace

import msal
import msal.authority
from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import (
    MicrosoftAppCredentials,
    PasswordServiceClientCredentialFactory,
)
from msrest.universal_http import requests as msrest_requests

msal.authority.WELL_KNOWN_AUTHORITY_HOSTS = msal.authority.WELL_KNOWN_AUTHORITY_HOSTS | {
    "127.0.0.1"
}


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(turn_context.activity.text or "")


class CachedMsalCredentialFactory(PasswordServiceClientCredentialFactory):
    """The stock factory, but every credential it makes shares one MSAL client per
    (app id, authority), so a token fetched on one turn is found in the cache on the next."""

    def __init__(self, app_id: str, password: str) -> None:
        super().__init__(app_id, password)
        self._clients: dict[tuple[str, str], msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()  # msrest signs requests from its worker threads

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ):
        credentials = await super().create_credentials(
            app_id, oauth_scope, login_endpoint, validate_authority
        )
        if isinstance(credentials, MicrosoftAppCredentials) and credentials.microsoft_app_id:
            key = (credentials.microsoft_app_id, credentials.oauth_endpoint)
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = msal.ConfidentialClientApplication(
                        client_id=credentials.microsoft_app_id,
                        client_credential=credentials.microsoft_app_password,
                        authority=credentials.oauth_endpoint,
                    )
            credentials.app = client  # MicrosoftAppCredentials builds its own only when unset
        return credentials


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tuned", action="store_true", help="cached MSAL client, fast msrest")
    args = parser.parse_args()
    config = SimpleNamespace(
        APP_ID=os.environ["VIGIL_APP_ID"],
        APP_PASSWORD=os.environ["VIGIL_APP_PASSWORD"],
        APP_TYPE="MultiTenant",
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=os.environ["VIGIL_OPENID_METADATA_URL"],
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=os.environ["VIGIL_TOKEN_ISSUER"],
        TO_CHANNEL_FROM_BOT_LOGIN_URL=os.environ["VIGIL_LOGIN_URL"],
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE="https://api.botframework.com",
    )
    factory = None
    if args.tuned:
        factory = CachedMsalCredentialFactory(config.APP_ID, config.APP_PASSWORD)
        msrest_requests.ClientRetryPolicy.safe_codes = frozenset(
            msrest_requests.ClientRetryPolicy.safe_codes
        )
    adapter = CloudAdapter(
        ConfigurationBotFrameworkAuthentication(config, credentials_factory=factory)
    )
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
