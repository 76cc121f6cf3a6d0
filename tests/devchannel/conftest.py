"""Fixtures: a started local channel, and the tiny echo bot wired to it with real auth."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from bot.devchannel.channel import LocalChannel
from tests.devchannel.echo_bot import BotConfig, build_app

APP_ID = "3c8f6d1e-0a4b-4f7e-9d2c-5b6a7e8f9a01"
APP_PASSWORD = "local-channel-test-secret"


@pytest.fixture
async def channel():
    local = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
    await local.start()
    yield local
    await local.stop()


@pytest.fixture
async def echo_bot(channel: LocalChannel):
    config = BotConfig(
        APP_ID=APP_ID,
        APP_PASSWORD=APP_PASSWORD,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=channel.openid_metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=channel.token_issuer,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=channel.login_url,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=channel.oauth_scope,
    )
    runner = web.AppRunner(build_app(config, channel.ca_file), access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    channel.bot_endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield channel
    await runner.cleanup()
