"""Baseline for bench/messages.py: a bare echo bot with the stock botbuilder CloudAdapter set-up.

Stock in every way that matters to the comparison (ConfigurationBotFrameworkAuthentication, the
stock credential factory with its MSAL client per turn, msrest connector clients), with one
exception: MSAL would first ask login.microsoftonline.com to validate the local authority, which
this machine cannot reach, so 127.0.0.1 is added to MSAL's list of known hosts.
"""

from __future__ import annotations

import argparse
import os
from types import SimpleNamespace

import msal.authority
from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

msal.authority.WELL_KNOWN_AUTHORITY_HOSTS = msal.authority.WELL_KNOWN_AUTHORITY_HOSTS | {
    "127.0.0.1"
}


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(turn_context.activity.text or "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
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
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
